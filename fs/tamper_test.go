package fs

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/ssefs/ssefs/store"
)

// storedPart is one sealed part in the store: a file under parts/, or an
// inline part in the metadata database (key 'p' ‖ id).
type storedPart struct {
	id     uint64
	inline bool
	path   string // part files only
}

func (p storedPart) String() string {
	if p.inline {
		return fmt.Sprintf("inline part %d", p.id)
	}
	return fmt.Sprintf("part %d", p.id)
}

// storedParts lists every part of the store; the mount must be down.
func (m *testMount) storedParts() []storedPart {
	m.t.Helper()
	var out []storedPart
	err := filepath.WalkDir(filepath.Join(m.dir, store.PartsDir), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		var id uint64
		if _, err := fmt.Sscanf(d.Name(), "%x", &id); err != nil {
			return fmt.Errorf("part file %s: %w", p, err)
		}
		out = append(out, storedPart{id: id, path: p})
		return nil
	})
	if err != nil {
		m.t.Fatal(err)
	}
	m.withDB(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{'p'}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			out = append(out, storedPart{id: binary.BigEndian.Uint64(it.Item().Key()[1:]), inline: true})
		}
		return nil
	})
	slices.SortFunc(out, func(a, b storedPart) int { return int(a.id - b.id) })
	return out
}

// withDB runs fn in a read-write transaction of the store's metadata
// database, opened directly (as an attacker with the key could) while the
// mount is down.
func (m *testMount) withDB(fn func(txn *badger.Txn) error) {
	m.t.Helper()
	if m.alive {
		m.t.Fatal("withDB needs the mount down")
	}
	st, err := store.Open(m.dir, m.mk)
	if err != nil {
		m.t.Fatal(err)
	}
	defer st.Close()
	if err := st.DB.Update(fn); err != nil {
		m.t.Fatal(err)
	}
}

// partBytes returns a part's sealed bytes.
func (m *testMount) partBytes(p storedPart) []byte {
	m.t.Helper()
	if !p.inline {
		b, err := os.ReadFile(p.path)
		if err != nil {
			m.t.Fatal(err)
		}
		return b
	}
	var b []byte
	m.withDB(func(txn *badger.Txn) error {
		item, err := txn.Get(append([]byte{'p'}, binary.BigEndian.AppendUint64(nil, p.id)...))
		if err != nil {
			return err
		}
		b, err = item.ValueCopy(nil)
		return err
	})
	return b
}

// setPart replaces a part's sealed bytes; nil removes the part.
func (m *testMount) setPart(p storedPart, b []byte) {
	m.t.Helper()
	if !p.inline {
		var err error
		if b == nil {
			err = os.Remove(p.path)
		} else {
			err = os.WriteFile(p.path, b, 0o600)
		}
		if err != nil {
			m.t.Fatal(err)
		}
		return
	}
	key := append([]byte{'p'}, binary.BigEndian.AppendUint64(nil, p.id)...)
	m.withDB(func(txn *badger.Txn) error {
		if b == nil {
			return txn.Delete(key)
		}
		return txn.Set(key, b)
	})
}

// TestTamperedPartsThroughMount changes the sealed parts of a file while
// the store is not mounted (flip a byte, cut one off, append one, put
// another file's part in its place, remove it), mounts the store again so
// no cache can hide the change, and reads the file with cat and dd: each
// must fail with EIO, and the mount's log must name the object and say
// what failed. Big files keep their parts in parts/, small ones inline in
// the metadata database; both are covered.
func TestTamperedPartsThroughMount(t *testing.T) {
	tampers := []struct {
		name string
		do   func(victim, other []byte) []byte
	}{
		{"flip", func(v, _ []byte) []byte { v = bytes.Clone(v); v[100] ^= 0x01; return v }},
		{"truncate", func(v, _ []byte) []byte { return bytes.Clone(v[:len(v)-1]) }},
		{"append", func(v, _ []byte) []byte { return append(bytes.Clone(v), 0) }},
		{"swap", func(_, o []byte) []byte { return bytes.Clone(o) }},
		{"remove", func(_, _ []byte) []byte { return nil }},
	}
	for _, kind := range []struct {
		name   string
		size   int
		inline bool
	}{{"big", 5<<20 + 12345, false}, {"small", 3000, true}} {
		for _, tc := range tampers {
			t.Run(kind.name+"/"+tc.name, func(t *testing.T) {
				m := newTestMount(t)
				logged := captureLog(t)
				other, victim := make([]byte, kind.size), make([]byte, kind.size)
				rand.Read(other)
				rand.Read(victim)

				if err := os.WriteFile(m.path("other"), other, 0o644); err != nil {
					t.Fatal(err)
				}
				m.unmount()
				before := m.storedParts()
				m.mount()
				if err := os.WriteFile(m.path("victim"), victim, 0o644); err != nil {
					t.Fatal(err)
				}
				var st syscall.Stat_t
				if err := syscall.Stat(m.path("victim"), &st); err != nil {
					t.Fatal(err)
				}
				m.unmount()
				var mine []storedPart
				for _, p := range m.storedParts() {
					if !slices.Contains(before, p) {
						mine = append(mine, p)
					}
				}
				if len(mine) == 0 || len(before) == 0 || mine[0].inline != kind.inline || before[0].inline != kind.inline {
					t.Fatalf("parts of the victim %v, of the other file %v: want inline=%v", mine, before, kind.inline)
				}
				m.setPart(mine[0], tc.do(m.partBytes(mine[0]), m.partBytes(before[0])))

				m.mount()
				logged.Reset()
				out, err := exec.Command("cat", m.path("victim")).CombinedOutput()
				if err == nil || !strings.Contains(string(out), "Input/output error") {
					t.Errorf("cat of the tampered file: %v, %d bytes of output (%.60q…); want EIO", err, len(out), out)
				}
				out, err = exec.Command("dd", "if="+m.path("victim"), "of=/dev/null", "bs=4096", "count=1").CombinedOutput()
				if err == nil || !strings.Contains(string(out), "Input/output error") {
					t.Errorf("dd of the first block: %v: %s; want EIO", err, out)
				}
				b, err := os.ReadFile(m.path("victim"))
				if !errors.Is(err, syscall.EIO) {
					t.Errorf("read of the tampered file = %d bytes, %v; want EIO", len(b), err)
				}
				log := logged.String()
				if !strings.Contains(log, "INTEGRITY") || !strings.Contains(log, fmt.Sprintf("object %d ", st.Ino)) || !strings.Contains(log, fmt.Sprintf("part %d", mine[0].id)) {
					t.Errorf("the log does not name object %d and %v as an integrity failure:\n%s", st.Ino, mine[0], log)
				}
				if b, err := os.ReadFile(m.path("other")); err != nil || !bytes.Equal(b, other) {
					t.Errorf("the other file (untouched) = %d bytes, %v", len(b), err)
				}
			})
		}
	}
}

// TestTamperedVersionRecordThroughMount changes the current version record
// of a file while the store is not mounted: reading it through the mount
// is EIO with a log line, never another version's bytes and never ENOENT.
func TestTamperedVersionRecordThroughMount(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(cur, old []byte) []byte // nil removes the record
	}{
		{"flip MAC", func(cur, _ []byte) []byte { cur = bytes.Clone(cur); cur[len(cur)-1] ^= 1; return cur }},
		{"older record replayed", func(_, old []byte) []byte { return bytes.Clone(old) }},
		{"removed", func(_, _ []byte) []byte { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestMount(t)
			logged := captureLog(t)
			for _, s := range []string{"old content", "new content"} {
				if err := os.WriteFile(m.path("f"), []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var st syscall.Stat_t
			if err := syscall.Stat(m.path("f"), &st); err != nil {
				t.Fatal(err)
			}
			m.unmount()
			m.withDB(func(txn *badger.Txn) error {
				prefix := binary.BigEndian.AppendUint64([]byte{'v'}, st.Ino)
				var keys, vals [][]byte
				it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
				for it.Rewind(); it.Valid(); it.Next() {
					v, err := it.Item().ValueCopy(nil)
					if err != nil {
						it.Close()
						return err
					}
					keys, vals = append(keys, it.Item().KeyCopy(nil)), append(vals, v)
				}
				it.Close()
				if len(keys) < 2 {
					return fmt.Errorf("%d version records, want at least 2", len(keys))
				}
				cur := len(keys) - 1
				if b := tc.do(vals[cur], vals[cur-1]); b != nil {
					return txn.Set(keys[cur], b)
				}
				return txn.Delete(keys[cur])
			})
			m.mount()
			logged.Reset()
			b, err := os.ReadFile(m.path("f"))
			if !errors.Is(err, syscall.EIO) {
				t.Errorf("read = %q, %v; want EIO", b, err)
			}
			if log := logged.String(); !strings.Contains(log, "INTEGRITY") || !strings.Contains(log, fmt.Sprintf("object %d ", st.Ino)) {
				t.Errorf("the log does not name object %d as an integrity failure:\n%s", st.Ino, log)
			}
		})
	}
}
