package store

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssefs/ssefs/dare"
	"github.com/ssefs/ssefs/keyring"
)

// TestFormatVersions: a store of a format this code does not know is
// refused and left untouched; an older known one is upgraded on open.
func TestFormatVersions(t *testing.T) {
	var mk keyring.MasterKey
	rand.Read(mk[:])
	dir := filepath.Join(t.TempDir(), "s")
	if err := Init(dir, mk, InitOptions{Cipher: dare.AES256GCM, KDF: keyring.KeyFileKDF()}); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, ConfigFile)
	orig, _ := os.ReadFile(cfgPath)
	setFormat := func(n string) {
		b := strings.Replace(string(orig), fmt.Sprintf(`"format": %d`, FormatVersion), `"format": `+n, 1)
		if b == string(orig) {
			t.Fatalf("store.json has no format %d: %s", FormatVersion, orig)
		}
		if err := os.WriteFile(cfgPath, []byte(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []string{"0", "4", "99"} {
		setFormat(bad)
		before, _ := os.ReadFile(cfgPath)
		if _, err := Open(dir, mk); !errors.Is(err, ErrFormat) {
			t.Fatalf("format %s: Open = %v, want ErrFormat", bad, err)
		}
		if after, _ := os.ReadFile(cfgPath); string(after) != string(before) {
			t.Fatalf("format %s: refusing the store changed store.json", bad)
		}
	}
	for _, old := range []string{"1", "2"} {
		setFormat(old)
		s, err := Open(dir, mk)
		if err != nil {
			t.Fatalf("format %s: %v", old, err)
		}
		s.Close()
		if c, err := LoadConfig(dir); err != nil || c.Format != FormatVersion {
			t.Fatalf("after opening a format-%s store: %+v, %v", old, c, err)
		}
	}
}
