package keyring

import (
	"bytes"
	"errors"
	"testing"
)

func TestRotateKeyVersions(t *testing.T) {
	mk := testMK(3)
	b, dir := newTestKMS(t, mk)
	if err := b.CreateKey("k"); err != nil {
		t.Fatal(err)
	}
	ctx := DEKContext([]byte("store"), 7)
	old, err := b.GenerateKey("k", ctx)
	if err != nil {
		t.Fatal(err)
	}
	oldID, _ := DEKKeyID(old.Ciphertext)
	newID, err := b.RotateKey("k")
	if err != nil || newID == oldID {
		t.Fatalf("rotate: %s %v", newID, err)
	}
	cur, err := b.GenerateKey("k", ctx)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := DEKKeyID(cur.Ciphertext); id != newID {
		t.Fatalf("GenerateKey used version %s, want the newest %s", id, newID)
	}
	check := func(b *Builtin, d DEK, wantErr error) {
		t.Helper()
		pt, err := b.Decrypt("k", d.Ciphertext, ctx)
		if !errors.Is(err, wantErr) || (wantErr == nil && !bytes.Equal(pt, d.Plaintext)) {
			t.Fatalf("decrypt: %v, want %v", err, wantErr)
		}
	}
	check(b, old, nil)
	check(b, cur, nil)
	keys, _ := b.ListKeys()
	if keys[0].Name != "k" || keys[0].Versions != 2 || keys[0].ID != newID {
		t.Fatalf("list %+v", keys)
	}
	// Both versions survive a reopen, and the newest stays current.
	b.Close()
	b = mustOpen(t, dir, mk)
	check(b, old, nil)
	if ids, _ := b.KeyVersionIDs("k"); len(ids) != 2 || ids[1] != newID {
		t.Fatalf("versions after reopen %v", ids)
	}
	// Sealing seals every version.
	if err := b.SealKey("k"); err != nil {
		t.Fatal(err)
	}
	check(b, old, ErrKeySealed)
	check(b, cur, ErrKeySealed)
	if _, err := b.RotateKey("k"); !errors.Is(err, ErrKeySealed) {
		t.Fatalf("rotate a sealed key: %v", err)
	}
	if err := b.UnsealKey("k"); err != nil {
		t.Fatal(err)
	}
	n, err := b.RetireOldVersions("k")
	if err != nil || n != 1 {
		t.Fatalf("retire: %d %v", n, err)
	}
	check(b, old, ErrKeyDeleted)
	check(b, cur, nil)
	if dead, _ := b.Erased(old.Ciphertext); !dead {
		t.Fatal("Erased(old) = false")
	}
	if dead, _ := b.Erased(cur.Ciphertext); dead {
		t.Fatal("Erased(current) = true")
	}
	if n, err := b.RetireOldVersions("k"); err != nil || n != 0 {
		t.Fatalf("second retire: %d %v", n, err)
	}
	// A master key change carries every version and the metadata key over.
	meta, _ := b.MetadataKey()
	if err := b.ChangeMasterKey(testMK(4)); err != nil {
		t.Fatal(err)
	}
	b.Close()
	b = mustOpen(t, dir, testMK(4))
	check(b, cur, nil)
	if m2, err := b.MetadataKey(); err != nil || !bytes.Equal(m2, meta) {
		t.Fatalf("metadata key changed across a master key change: %v", err)
	}
	if err := b.CheckMasterKey(testMK(3)); !errors.Is(err, ErrWrongMasterKey) {
		t.Fatalf("old master key: %v", err)
	}
	if err := b.CheckMasterKey(testMK(4)); err != nil {
		t.Fatal(err)
	}
	// Deleting the key erases every version.
	if _, err := b.RotateKey("k"); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteKey("k"); err != nil {
		t.Fatal(err)
	}
	check(b, cur, ErrKeyDeleted)
	if got := len(dirNames(t, dir)); got != 4 { // sse-s3 key, metakey, tombstones, verifier
		t.Fatalf("%d files left after delete: %v", got, dirNames(t, dir))
	}
}

func TestMetadataKey(t *testing.T) {
	mk := testMK(8)
	b, _ := newTestKMS(t, mk)
	m, err := b.MetadataKey()
	if err != nil || len(m) != 32 || bytes.Equal(m, make([]byte, 32)) || bytes.Equal(m, mk[:]) {
		t.Fatalf("metadata key %x %v", m, err)
	}
	b.Seal()
	if _, err := b.MetadataKey(); !errors.Is(err, ErrSealed) {
		t.Fatalf("sealed: %v", err)
	}
	// The golden keyring predates the metadata key.
	g := mustOpen(t, writeGoldenKeyring(t), goldenMK)
	if _, err := g.MetadataKey(); !errors.Is(err, ErrNoMetaKey) {
		t.Fatalf("golden: %v", err)
	}
}
