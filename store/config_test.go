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
	// Seal hooks: a good one, one inside the store (and a symlink to it),
	// one others may write, one owned by another user.
	base := filepath.Dir(dir)
	hook := func(path string, mode os.FileMode, uid int) string {
		t.Helper()
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if uid >= 0 {
			if err := os.Chown(path, uid, -1); err != nil {
				t.Fatal(err)
			}
		}
		return path
	}
	goodHook := hook(filepath.Join(base, "good"), 0o755, -1)
	inStore := hook(filepath.Join(dir, "hook"), 0o755, -1)
	linkToStore := filepath.Join(base, "link")
	if err := os.Symlink(inStore, linkToStore); err != nil {
		t.Fatal(err)
	}
	writable := hook(filepath.Join(base, "writable"), 0o777, -1)
	othersHook := ""
	if os.Geteuid() == 0 {
		othersHook = hook(filepath.Join(base, "others"), 0o755, 65534)
	}
	setHook := func(p string) func(map[string]any, *keyring.KDF) {
		return func(c map[string]any, _ *keyring.KDF) { c["seal_hook"] = p }
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
		{"relative seal hook", setHook("hook.sh"), "not an absolute path"},
		{"missing seal hook", setHook("/nonexistent/ssefs-hook"), ""},
		{"seal hook", setHook(goodHook), ""},
		{"seal hook in the store", setHook(inStore), "inside the store"},
		{"seal hook linked into the store", setHook(linkToStore), "inside the store"},
		{"seal hook the store itself", setHook(dir), "inside the store"},
		{"seal hook others may write", setHook(writable), "others may write"},
		{"seal hook owned by another user", setHook(othersHook), "owned by uid 65534"},
		{"huge file", func(c map[string]any, _ *keyring.KDF) { c["pad"] = strings.Repeat(" ", maxConfigSize) }, "larger"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "seal hook owned by another user" && othersHook == "" {
				t.Skip("needs root to chown")
			}
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
