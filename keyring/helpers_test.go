package keyring

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// testMK returns a distinct, recognisable master key per seed.
func testMK(seed byte) MasterKey {
	var k MasterKey
	for i := range k {
		k[i] = seed ^ byte(i*31+7)
	}
	return k
}

// newTestKMS creates a keyring in a fresh directory.
func newTestKMS(t *testing.T, mk MasterKey) (*Builtin, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keyring")
	b, err := CreateBuiltin(dir, mk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, dir
}

func mustOpen(t *testing.T, dir string, mk MasterKey) *Builtin {
	t.Helper()
	b, err := OpenBuiltin(dir, mk)
	if err != nil {
		t.Fatalf("OpenBuiltin: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// hashDir fingerprints every name, mode and byte under dir, to prove an operation
// changed nothing.
func hashDir(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		line := fmt.Sprintf("%s %v %d", rel, fi.Mode(), fi.Size())
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" %x", sha256.Sum256(data))
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// dirNames lists the file names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// liveKey returns the in-memory EK of name (white box), failing if it is absent.
func liveKey(t *testing.T, b *Builtin, name string) *ekey {
	t.Helper()
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.st == nil {
		t.Fatal("KMS sealed")
	}
	k, ok := b.st.keys[name]
	if !ok {
		t.Fatalf("no key %q", name)
	}
	return k
}

func keyIDOf(t *testing.T, b *Builtin, name string) string {
	t.Helper()
	keys, err := b.ListKeys()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Name == name {
			return k.ID
		}
	}
	t.Fatalf("no key %q in list", name)
	return ""
}

// hmacWrap recomputes the wrap key independently of newWrapper.
func hmacWrap(mk MasterKey) []byte {
	m := hmac.New(sha256.New, mk[:])
	m.Write([]byte("ssefs keyring v1"))
	return m.Sum(nil)
}
