package store

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssefs/ssefs/dare"
	"github.com/ssefs/ssefs/keyring"
)

// TestLoadConfigBounds: every parameter read from store.json is bounded;
// an out-of-range one is refused with ErrConfig before anything uses it
// (an argon2id time of 2^32-1 used to hang the mount).
func TestLoadConfigBounds(t *testing.T) {
	var mk keyring.MasterKey
	rand.Read(mk[:])
	kdf, err := keyring.NewPassphraseKDF()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "s")
	if err := Init(dir, mk, InitOptions{Cipher: dare.AES256GCM, KDF: kdf}); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, ConfigFile)
	orig, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	salt := func(n int) []byte { return make([]byte, n) }
	for _, tc := range []struct {
		name string
		edit func(c map[string]any, k *keyring.KDF)
		want string // "" = accepted
	}{
		{"as created", func(map[string]any, *keyring.KDF) {}, ""},
		{"time 16", func(_ map[string]any, k *keyring.KDF) { k.Time = 16 }, ""},
		{"memory 1 GiB", func(_ map[string]any, k *keyring.KDF) { k.MemoryKiB = 1 << 20 }, ""},
		{"time 0", func(_ map[string]any, k *keyring.KDF) { k.Time = 0 }, "time"},
		{"time 17", func(_ map[string]any, k *keyring.KDF) { k.Time = 17 }, "time"},
		{"time 2^32-1", func(_ map[string]any, k *keyring.KDF) { k.Time = 1<<32 - 1 }, "time"},
		{"memory 2^32-1 KiB", func(_ map[string]any, k *keyring.KDF) { k.MemoryKiB = 1<<32 - 1 }, "memory"},
		{"memory 4 GiB", func(_ map[string]any, k *keyring.KDF) { k.MemoryKiB = 4 << 20 }, "memory"},
		{"memory below 8 KiB per lane", func(_ map[string]any, k *keyring.KDF) { k.MemoryKiB = 15 }, "memory"},
		{"threads 0", func(_ map[string]any, k *keyring.KDF) { k.Threads = 0 }, "threads"},
		{"threads 255", func(_ map[string]any, k *keyring.KDF) { k.Threads = 255 }, "threads"},
		{"salt 7 bytes", func(_ map[string]any, k *keyring.KDF) { k.Salt = salt(7) }, "salt"},
		{"salt 65 bytes", func(_ map[string]any, k *keyring.KDF) { k.Salt = salt(65) }, "salt"},
		{"unknown KDF", func(_ map[string]any, k *keyring.KDF) { k.Algorithm = "scrypt" }, "KDF"},
		{"key file with argon2 cost", func(_ map[string]any, k *keyring.KDF) { k.Algorithm = keyring.KDFKeyFile }, "key-file"},
		{"relative seal hook", func(c map[string]any, _ *keyring.KDF) { c["seal_hook"] = "hook.sh" }, "seal hook"},
		{"absolute seal hook", func(c map[string]any, _ *keyring.KDF) { c["seal_hook"] = "/usr/local/bin/hook" }, ""},
		{"huge file", func(c map[string]any, _ *keyring.KDF) { c["pad"] = strings.Repeat(" ", maxConfigSize) }, "larger"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c map[string]any
			if err := json.Unmarshal(orig, &c); err != nil {
				t.Fatal(err)
			}
			k := kdf
			tc.edit(c, &k)
			c["kdf"] = k
			b, _ := json.Marshal(c)
			if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadConfig(dir)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("LoadConfig = %v, want it accepted", err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadConfig = %v, want ErrConfig naming %q", err, tc.want)
			}
		})
	}
}
