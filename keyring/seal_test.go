package keyring

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealUnseal(t *testing.T) {
	mk := testMK(1)
	b, dir := newTestKMS(t, mk)
	if err := b.CreateKey("k2"); err != nil {
		t.Fatal(err)
	}
	ctx := []byte("ctx")
	d, err := b.GenerateKey(DefaultKeyName, ctx)
	if err != nil {
		t.Fatal(err)
	}
	held := []*ekey{liveKey(t, b, DefaultKeyName), liveKey(t, b, "k2")}
	before := hashDir(t, dir)
	if err := b.Seal(); err != nil {
		t.Fatal(err)
	}
	if err := b.Seal(); err != nil {
		t.Fatalf("second seal: %v", err)
	}
	for _, k := range held {
		if k.material != [32]byte{} || k.aead != nil {
			t.Fatalf("key %q not zeroised by Seal", k.name)
		}
	}
	ops := map[string]func() error{
		"GenerateKey":     func() error { _, err := b.GenerateKey(DefaultKeyName, ctx); return err },
		"Decrypt":         func() error { _, err := b.Decrypt(DefaultKeyName, d.Ciphertext, ctx); return err },
		"CreateKey":       func() error { return b.CreateKey("new") },
		"DeleteKey":       func() error { return b.DeleteKey("k2") },
		"ListKeys":        func() error { _, err := b.ListKeys(); return err },
		"SealKey":         func() error { return b.SealKey("k2") },
		"UnsealKey":       func() error { return b.UnsealKey("k2") },
		"ChangeMasterKey": func() error { return b.ChangeMasterKey(testMK(9)) },
	}
	for name, op := range ops {
		if err := op(); !errors.Is(err, ErrSealed) {
			t.Errorf("%s while sealed: %v, want ErrSealed", name, err)
		}
	}
	if st := b.Status(); !st.Sealed || st.Keys != 2 || st.Backend != "builtin" {
		t.Fatalf("sealed status %+v", st)
	}
	if err := b.Unseal(testMK(2)); !errors.Is(err, ErrWrongMasterKey) {
		t.Fatalf("unseal with wrong key: %v", err)
	}
	if !b.Status().Sealed {
		t.Fatal("wrong key unsealed the KMS")
	}
	if hashDir(t, dir) != before {
		t.Fatal("seal or failed unseal modified the keyring")
	}
	if err := b.Unseal(mk); err != nil {
		t.Fatal(err)
	}
	pt, err := b.Decrypt(DefaultKeyName, d.Ciphertext, ctx)
	if err != nil || !bytes.Equal(pt, d.Plaintext) {
		t.Fatalf("decrypt after unseal: %v", err)
	}
	// Unseal of an unsealed KMS: right key is harmless, wrong key changes nothing.
	if err := b.Unseal(mk); err != nil {
		t.Fatal(err)
	}
	if err := b.Unseal(testMK(2)); !errors.Is(err, ErrWrongMasterKey) {
		t.Fatalf("wrong key on unsealed KMS: %v", err)
	}
	if _, err := b.GenerateKey(DefaultKeyName, ctx); err != nil {
		t.Fatalf("KMS broken by a wrong-key Unseal: %v", err)
	}
	b.Close()
	if err := b.Unseal(mk); !errors.Is(err, ErrClosed) {
		t.Fatalf("unseal after close: %v", err)
	}
	if _, err := b.GenerateKey(DefaultKeyName, ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("generate after close: %v", err)
	}
}

func TestSealKey(t *testing.T) {
	mk := testMK(1)
	b, dir := newTestKMS(t, mk)
	if err := b.CreateKey("locked"); err != nil {
		t.Fatal(err)
	}
	ctx := []byte("c")
	d, _ := b.GenerateKey("locked", ctx)
	other, _ := b.GenerateKey(DefaultKeyName, ctx)
	k := liveKey(t, b, "locked")
	if err := b.SealKey("locked"); err != nil {
		t.Fatal(err)
	}
	if err := b.SealKey("locked"); err != nil {
		t.Fatalf("sealing a sealed key: %v", err)
	}
	if k.material != [32]byte{} || k.aead != nil {
		t.Fatal("SealKey did not zeroise the key")
	}
	if err := b.SealKey("absent"); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("seal absent key: %v", err)
	}
	sealedChecks := func(b *Builtin) {
		t.Helper()
		if _, err := b.GenerateKey("locked", ctx); !errors.Is(err, ErrKeySealed) {
			t.Fatalf("generate with sealed key: %v", err)
		}
		if _, err := b.Decrypt("locked", d.Ciphertext, ctx); !errors.Is(err, ErrKeySealed) {
			t.Fatalf("decrypt with sealed key: %v", err)
		}
		if _, err := b.Decrypt(DefaultKeyName, other.Ciphertext, ctx); err != nil {
			t.Fatalf("other key affected: %v", err)
		}
		if st := b.Status(); st.Keys != 2 || st.SealedKeys != 1 || st.Sealed {
			t.Fatalf("status %+v", st)
		}
		keys, _ := b.ListKeys()
		if keys[0].Name != "locked" || !keys[0].Sealed || keys[1].Sealed {
			t.Fatalf("list %+v", keys)
		}
	}
	sealedChecks(b)
	b.Close()
	b2 := mustOpen(t, dir, mk)
	sealedChecks(b2) // persisted across reopen
	if k := liveKey(t, b2, "locked"); k.material != [32]byte{} || k.aead != nil {
		t.Fatal("sealed key loaded into memory at open")
	}
	if err := b2.UnsealKey("locked"); err != nil {
		t.Fatal(err)
	}
	if err := b2.UnsealKey("locked"); err != nil {
		t.Fatalf("unsealing an unsealed key: %v", err)
	}
	unsealedCheck := func(b *Builtin) {
		t.Helper()
		pt, err := b.Decrypt("locked", d.Ciphertext, ctx)
		if err != nil || !bytes.Equal(pt, d.Plaintext) {
			t.Fatalf("decrypt after UnsealKey: %v", err)
		}
		if st := b.Status(); st.SealedKeys != 0 {
			t.Fatalf("status %+v", st)
		}
	}
	unsealedCheck(b2)
	b2.Close()
	b3 := mustOpen(t, dir, mk)
	unsealedCheck(b3)
	// A sealed key can still be crypto-erased.
	if err := b3.SealKey("locked"); err != nil {
		t.Fatal(err)
	}
	if err := b3.DeleteKey("locked"); err != nil {
		t.Fatal(err)
	}
	if _, err := b3.Decrypt("locked", d.Ciphertext, ctx); !errors.Is(err, ErrKeyDeleted) {
		t.Fatalf("decrypt after delete of sealed key: %v", err)
	}
}
