package keyring

import (
	"bytes"
	"errors"
	"testing"
)

func TestGenerateDecrypt(t *testing.T) {
	b, _ := newTestKMS(t, testMK(1))
	if err := b.CreateKey("other"); err != nil {
		t.Fatal(err)
	}
	ctx := DEKContext([]byte("store-A"), 7)
	d, err := b.GenerateKey(DefaultKeyName, ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Plaintext) != 32 || len(d.Ciphertext) != dekCiphertextLen || d.KeyName != DefaultKeyName {
		t.Fatalf("DEK shape: %d/%d/%q", len(d.Plaintext), len(d.Ciphertext), d.KeyName)
	}
	d2, _ := b.GenerateKey(DefaultKeyName, ctx)
	if bytes.Equal(d.Plaintext, d2.Plaintext) || bytes.Equal(d.Ciphertext[17:29], d2.Ciphertext[17:29]) {
		t.Fatal("two DEKs share plaintext or nonce")
	}
	pt, err := b.Decrypt(DefaultKeyName, d.Ciphertext, ctx)
	if err != nil || !bytes.Equal(pt, d.Plaintext) {
		t.Fatalf("round trip: %v", err)
	}
	// Zeroising the returned plaintext must not damage the ciphertext (no shared buffer).
	ct := bytes.Clone(d.Ciphertext)
	clear(d.Plaintext)
	if !bytes.Equal(ct, d.Ciphertext) {
		t.Fatal("plaintext and ciphertext share memory")
	}

	mod := func(off int) []byte { c := bytes.Clone(ct); c[off] ^= 1; return c }
	tests := []struct {
		name string
		key  string
		ct   []byte
		ctx  []byte
		want error
	}{
		{"other object id", DefaultKeyName, ct, DEKContext([]byte("store-A"), 8), ErrDecrypt},
		{"other store id", DefaultKeyName, ct, DEKContext([]byte("store-B"), 7), ErrDecrypt},
		{"nil context", DefaultKeyName, ct, nil, ErrDecrypt},
		{"context with extra byte", DefaultKeyName, ct, append(bytes.Clone(ctx), 0), ErrDecrypt},
		{"other key name", "other", ct, ctx, ErrDecrypt},
		{"unknown key name", "nope", ct, ctx, ErrKeyNotFound},
		{"version byte", DefaultKeyName, mod(0), ctx, ErrDecrypt},
		{"key id byte", DefaultKeyName, mod(5), ctx, ErrDecrypt},
		{"nonce byte", DefaultKeyName, mod(20), ctx, ErrDecrypt},
		{"sealed byte", DefaultKeyName, mod(40), ctx, ErrDecrypt},
		{"tag byte", DefaultKeyName, mod(dekCiphertextLen - 1), ctx, ErrDecrypt},
		{"truncated", DefaultKeyName, ct[:dekCiphertextLen-1], ctx, ErrDecrypt},
		{"extended", DefaultKeyName, append(bytes.Clone(ct), 0), ctx, ErrDecrypt},
		{"empty", DefaultKeyName, nil, ctx, ErrDecrypt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pt, err := b.Decrypt(tc.key, tc.ct, tc.ctx)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if pt != nil {
				t.Fatal("plaintext returned with an error")
			}
		})
	}
}

// The DEK ciphertext of one KMS must not open in another, even under the same key name.
func TestDecryptForeignKMS(t *testing.T) {
	a, _ := newTestKMS(t, testMK(1))
	b, _ := newTestKMS(t, testMK(1))
	d, err := a.GenerateKey(DefaultKeyName, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Decrypt(DefaultKeyName, d.Ciphertext, nil); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("err = %v", err)
	}
}

func TestDEKContext(t *testing.T) {
	got := DEKContext([]byte{0xaa, 0xbb}, 0x0102030405060708)
	want := append([]byte("ssefs-dek-v1"), 0, 2, 0xaa, 0xbb, 1, 2, 3, 4, 5, 6, 7, 8)
	if !bytes.Equal(got, want) {
		t.Fatalf("DEKContext = %x, want %x", got, want)
	}
	if !bytes.Equal(AppendDEKContext([]byte("x"), []byte{0xaa, 0xbb}, 0x0102030405060708), append([]byte("x"), want...)) {
		t.Fatal("AppendDEKContext differs")
	}
	// The length prefix keeps (store "ab", id) and (store "a", id') apart.
	if bytes.Equal(DEKContext([]byte("ab"), 0), DEKContext([]byte("a"), 0x62<<56)) {
		t.Fatal("ambiguous context")
	}
}
