package keyring

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCreateOpen(t *testing.T) {
	mk := testMK(1)
	b, dir := newTestKMS(t, mk)
	keys, err := b.ListKeys()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].Name != DefaultKeyName || keys[0].Sealed || keys[0].Version != 1 || len(keys[0].ID) != 32 {
		t.Fatalf("new keyring keys = %+v", keys)
	}
	if d := time.Since(keys[0].Created); d < 0 || d > time.Minute {
		t.Fatalf("created = %v", keys[0].Created)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v, %v", fi.Mode(), err)
	}
	for _, n := range dirNames(t, dir) {
		fi, _ := os.Stat(filepath.Join(dir, n))
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", n, fi.Mode())
		}
	}
	want := []string{keyFileName(liveKey(t, b, DefaultKeyName).id), metaKeyFile, tombstonesFile, verifierFile}
	if got := dirNames(t, dir); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("files %v, want %v", got, want)
	}
	ctx := DEKContext([]byte("store"), 1)
	dek, err := b.GenerateKey(DefaultKeyName, ctx)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()

	b2 := mustOpen(t, dir, mk)
	if got := keyIDOf(t, b2, DefaultKeyName); got != keys[0].ID {
		t.Fatalf("id changed across reopen: %s vs %s", got, keys[0].ID)
	}
	pt, err := b2.Decrypt(DefaultKeyName, dek.Ciphertext, ctx)
	if err != nil || !bytes.Equal(pt, dek.Plaintext) {
		t.Fatalf("decrypt after reopen: %v", err)
	}
	keys2, _ := b2.ListKeys()
	if !keys2[0].Created.Equal(keys[0].Created) {
		t.Fatalf("created %v != %v", keys2[0].Created, keys[0].Created)
	}
}

func TestCreateRefusesNonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	before := hashDir(t, dir)
	if _, err := CreateBuiltin(dir, testMK(1)); err == nil {
		t.Fatal("created a keyring in a non-empty dir")
	}
	if hashDir(t, dir) != before {
		t.Fatal("refused create modified the dir")
	}
	empty := t.TempDir()
	b, err := CreateBuiltin(empty, testMK(1))
	if err != nil {
		t.Fatalf("existing empty dir: %v", err)
	}
	b.Close()
	if _, err := CreateBuiltin(empty, testMK(1)); err == nil {
		t.Fatal("created a keyring over an existing one")
	}
}

func TestOpenWrongMasterKeyModifiesNothing(t *testing.T) {
	mk := testMK(1)
	b, dir := newTestKMS(t, mk)
	for _, n := range []string{"a", "b"} {
		if err := b.CreateKey(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.SealKey("b"); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteKey("a"); err != nil {
		t.Fatal(err)
	}
	b.Close()
	// Leftovers that a right-key open would clean up must survive a wrong-key open.
	for _, n := range []string{"verifier.new", "tombstones.tmp", keyFileName(keyID{1}) + newSuffix} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("junk"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	before := hashDir(t, dir)
	for _, wrong := range []MasterKey{testMK(2), {}, func() MasterKey { k := mk; k[31] ^= 1; return k }()} {
		if _, err := OpenBuiltin(dir, wrong); !errors.Is(err, ErrWrongMasterKey) {
			t.Fatalf("wrong key: err = %v", err)
		}
		if hashDir(t, dir) != before {
			t.Fatal("wrong-key open modified the keyring")
		}
	}
	b2 := mustOpen(t, dir, mk)
	for _, n := range dirNames(t, dir) {
		if strings.HasSuffix(n, newSuffix) || strings.HasSuffix(n, tmpSuffix) {
			t.Errorf("leftover %s not cleaned by a right-key open", n)
		}
	}
	if st := b2.Status(); st.Keys != 2 || st.SealedKeys != 1 {
		t.Fatalf("status %+v", st)
	}
}

func TestOpenNotAKeyring(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenBuiltin(dir, testMK(1)); err == nil || errors.Is(err, ErrWrongMasterKey) {
		t.Fatalf("err = %v", err)
	}
	if _, err := OpenBuiltin(filepath.Join(dir, "absent"), testMK(1)); err == nil {
		t.Fatal("opened a missing dir")
	}
}

func TestKeyNames(t *testing.T) {
	b, _ := newTestKMS(t, testMK(1))
	tests := []struct {
		name string
		ok   bool
	}{
		{"a", true}, {"A-z_0.9", true}, {strings.Repeat("k", 64), true}, {"..", true},
		{"", false}, {strings.Repeat("k", 65), false}, {"a/b", false}, {"a b", false},
		{"é", false}, {"a\x00", false}, {"a\n", false},
	}
	for _, tc := range tests {
		err := b.CreateKey(tc.name)
		if tc.ok != (err == nil) {
			t.Errorf("CreateKey(%q) = %v", tc.name, err)
		}
		if !tc.ok {
			if !errors.Is(err, ErrInvalidKeyName) {
				t.Errorf("CreateKey(%q) = %v, want ErrInvalidKeyName", tc.name, err)
			}
			for op, f := range map[string]func(string) error{
				"DeleteKey": b.DeleteKey, "SealKey": b.SealKey, "UnsealKey": b.UnsealKey,
				"GenerateKey": func(n string) error { _, err := b.GenerateKey(n, nil); return err },
			} {
				if err := f(tc.name); !errors.Is(err, ErrInvalidKeyName) {
					t.Errorf("%s(%q) = %v, want ErrInvalidKeyName", op, tc.name, err)
				}
			}
		}
	}
	// The longest name survives a reopen (fixed-size name field).
	keys, _ := b.ListKeys()
	found := false
	for _, k := range keys {
		found = found || k.Name == strings.Repeat("k", 64)
	}
	if !found {
		t.Fatal("64-byte name lost")
	}
}

func TestDeleteRecreate(t *testing.T) {
	mk := testMK(1)
	b, dir := newTestKMS(t, mk)
	ctx := DEKContext([]byte("store-1"), 42)
	if err := b.CreateKey("tenant"); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateKey("tenant"); !errors.Is(err, ErrKeyExists) {
		t.Fatalf("duplicate create: %v", err)
	}
	oldID := keyIDOf(t, b, "tenant")
	old, err := b.GenerateKey("tenant", ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteKey("tenant"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, oldID+keyFileSuffix)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("key file survived delete: %v", err)
	}
	if err := b.DeleteKey("tenant"); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := b.Decrypt("tenant", old.Ciphertext, ctx); !errors.Is(err, ErrKeyDeleted) {
		t.Fatalf("decrypt after delete: %v", err)
	}
	if _, err := b.GenerateKey("tenant", ctx); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("generate after delete: %v", err)
	}
	if err := b.CreateKey("tenant"); err != nil {
		t.Fatal(err)
	}
	if keyIDOf(t, b, "tenant") == oldID {
		t.Fatal("re-created key reused the old id")
	}
	fresh, err := b.GenerateKey("tenant", ctx)
	if err != nil {
		t.Fatal(err)
	}
	check := func(b *Builtin) {
		t.Helper()
		if _, err := b.Decrypt("tenant", old.Ciphertext, ctx); !errors.Is(err, ErrKeyDeleted) || errors.Is(err, ErrDecrypt) {
			t.Fatalf("old DEK under re-created key: %v, want ErrKeyDeleted only", err)
		}
		pt, err := b.Decrypt("tenant", fresh.Ciphertext, ctx)
		if err != nil || !bytes.Equal(pt, fresh.Plaintext) {
			t.Fatalf("new DEK: %v", err)
		}
	}
	check(b)
	b.Close()
	check(mustOpen(t, dir, mk))
}

// A crash between the tombstone write and the erase leaves the key file behind; the
// next open must finish the erase and still report the key as deleted.
func TestInterruptedDeleteIsFinishedAtOpen(t *testing.T) {
	mk := testMK(1)
	b, dir := newTestKMS(t, mk)
	if err := b.CreateKey("x"); err != nil {
		t.Fatal(err)
	}
	ctx := []byte("ctx")
	dek, _ := b.GenerateKey("x", ctx)
	file := filepath.Join(dir, keyIDOf(t, b, "x")+keyFileSuffix)
	saved, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteKey("x"); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if err := os.WriteFile(file, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	b2 := mustOpen(t, dir, mk)
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("tombstoned key file not erased at open: %v", err)
	}
	if _, err := b2.Decrypt("x", dek.Ciphertext, ctx); !errors.Is(err, ErrKeyDeleted) {
		t.Fatalf("decrypt: %v", err)
	}
	if st := b2.Status(); st.Keys != 1 {
		t.Fatalf("status %+v", st)
	}
}

func TestCorruptFiles(t *testing.T) {
	tests := []struct {
		name   string
		mangle func(t *testing.T, dir string, keyFile string)
	}{
		{"flipped byte in key file", func(t *testing.T, dir, kf string) { flipByte(t, filepath.Join(dir, kf), 40) }},
		{"truncated key file", func(t *testing.T, dir, kf string) { os.Truncate(filepath.Join(dir, kf), 20) }},
		{"key file renamed to another id", func(t *testing.T, dir, kf string) {
			os.Rename(filepath.Join(dir, kf), filepath.Join(dir, keyFileName(keyID{9})))
		}},
		{"tombstones flipped", func(t *testing.T, dir, kf string) { flipByte(t, filepath.Join(dir, tombstonesFile), 30) }},
		{"tombstones replaced by a key record", func(t *testing.T, dir, kf string) {
			data, _ := os.ReadFile(filepath.Join(dir, kf))
			os.WriteFile(filepath.Join(dir, tombstonesFile), data, 0o600)
		}},
		{"tombstones missing", func(t *testing.T, dir, kf string) { os.Remove(filepath.Join(dir, tombstonesFile)) }},
		{"verifier missing", func(t *testing.T, dir, kf string) { os.Remove(filepath.Join(dir, verifierFile)) }},
		{"verifier wrong magic", func(t *testing.T, dir, kf string) { flipByte(t, filepath.Join(dir, verifierFile), 0) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mk := testMK(1)
			b, dir := newTestKMS(t, mk)
			kf := keyIDOf(t, b, DefaultKeyName) + keyFileSuffix
			b.Close()
			tc.mangle(t, dir, kf)
			_, err := OpenBuiltin(dir, mk)
			if err == nil {
				t.Fatal("opened a corrupt keyring")
			}
			if errors.Is(err, ErrWrongMasterKey) {
				t.Fatalf("corruption reported as a wrong master key: %v", err)
			}
		})
	}
}

func flipByte(t *testing.T, path string, off int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[off] ^= 0x80
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Every file under the keyring is scanned for every secret: master key, wrap key, each
// EK and each DEK handed out. Key names must not appear either.
func TestNoKeyMaterialOnDisk(t *testing.T) {
	mk := testMK(5)
	b, dir := newTestKMS(t, mk)
	names := []string{"secret-project-alpha", "secret-project-beta"}
	var secrets [][]byte
	for _, n := range names {
		if err := b.CreateKey(n); err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, bytes.Clone(liveKey(t, b, n).material[:]))
	}
	secrets = append(secrets, bytes.Clone(liveKey(t, b, DefaultKeyName).material[:]))
	meta, err := b.MetadataKey()
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, meta)
	for i := 0; i < 20; i++ {
		d, err := b.GenerateKey(names[i%2], DEKContext([]byte("s"), uint64(i)))
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, d.Plaintext)
	}
	if err := b.SealKey(names[1]); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteKey(names[0]); err != nil {
		t.Fatal(err)
	}
	newMK := testMK(6)
	if err := b.ChangeMasterKey(newMK); err != nil {
		t.Fatal(err)
	}
	for _, m := range []MasterKey{mk, newMK} {
		secrets = append(secrets, bytes.Clone(m[:]))
		w := hmacWrap(m)
		secrets = append(secrets, w[:])
	}
	for _, n := range dirNames(t, dir) {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range secrets {
			// Any 8-byte window of a secret is enough to call it leaked.
			for off := 0; off+8 <= len(s); off++ {
				if bytes.Contains(data, s[off:off+8]) {
					t.Fatalf("file %s holds bytes of secret %d", n, i)
				}
			}
		}
		for _, name := range append(names, "secret", DefaultKeyName) {
			if bytes.Contains(data, []byte(name)) || strings.Contains(n, name) {
				t.Fatalf("file %s reveals key name %q", n, name)
			}
		}
	}
}
