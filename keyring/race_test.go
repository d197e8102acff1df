package keyring

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/ssefs/ssefs/dare"
)

// Readers generate and decrypt while an admin goroutine seals, unseals and seals single
// keys. Every outcome must be either a correct result or a sealed error; run with -race.
func TestConcurrentUseAndSeal(t *testing.T) {
	mk := testMK(1)
	b, _ := newTestKMS(t, mk)
	if err := b.CreateKey("k"); err != nil {
		t.Fatal(err)
	}
	ctx := DEKContext([]byte("s"), 1)
	base, err := b.GenerateKey("k", ctx)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	errc := make(chan error, 16)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			name := []string{"k", DefaultKeyName}[g%2]
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				c := DEKContext([]byte("s"), uint64(g*1000000+i))
				d, err := b.GenerateKey(name, c)
				if err != nil {
					if errors.Is(err, ErrSealed) || errors.Is(err, ErrKeySealed) {
						continue
					}
					errc <- err
					return
				}
				pt, err := b.Decrypt(name, d.Ciphertext, c)
				if err != nil && !errors.Is(err, ErrSealed) && !errors.Is(err, ErrKeySealed) {
					errc <- err
					return
				}
				if err == nil && !bytes.Equal(pt, d.Plaintext) {
					errc <- fmt.Errorf("wrong plaintext")
					return
				}
				if pt, err := b.Decrypt("k", base.Ciphertext, ctx); err == nil && !bytes.Equal(pt, base.Plaintext) {
					errc <- fmt.Errorf("wrong base plaintext")
					return
				}
				b.Status()
			}
		}(g)
	}
	for i := 0; i < 200; i++ {
		var err error
		switch i % 4 {
		case 0:
			err = b.Seal()
		case 1:
			err = b.Unseal(mk)
		case 2:
			err = b.SealKey("k")
		case 3:
			err = b.UnsealKey("k")
		}
		if err != nil {
			t.Fatalf("admin op %d: %v", i, err)
		}
	}
	close(stop)
	wg.Wait()
	select {
	case err := <-errc:
		t.Fatal(err)
	default:
	}
}

// benchKMS is a KMS with the DEK context and the sealed records a create/open needs.
func benchKMS(b *testing.B) (*Builtin, []byte) {
	dir := b.TempDir()
	k, err := CreateBuiltin(dir+"/k", testMK(1))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { k.Close() })
	return k, []byte("0123456789abcdef")
}

// The work of creating a file: a fresh DEK and OEK, the OEK sealed under the DEK.
func BenchmarkGenerateKeySealObjectKey(b *testing.B) {
	k, store := benchKMS(b)
	oek, _ := NewObjectKey()
	ctx := make([]byte, 0, 64)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ctx = AppendDEKContext(ctx[:0], store, uint64(i))
		dek, err := k.GenerateKey(DefaultKeyName, ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := SealObjectKey(dare.AES256GCM, dek.Plaintext, DomainSSES3, store, uint64(i), oek); err != nil {
			b.Fatal(err)
		}
		clear(dek.Plaintext)
	}
}

// The work of opening a file: decrypt the DEK, unseal the OEK.
func BenchmarkDecryptUnseal(b *testing.B) {
	k, store := benchKMS(b)
	oek, _ := NewObjectKey()
	ctx := DEKContext(store, 9)
	dek, _ := k.GenerateKey(DefaultKeyName, ctx)
	sealed, _ := SealObjectKey(dare.AES256GCM, dek.Plaintext, DomainSSES3, store, 9, oek)
	b.ReportAllocs()
	for b.Loop() {
		pt, err := k.Decrypt(DefaultKeyName, dek.Ciphertext, ctx)
		if err != nil {
			b.Fatal(err)
		}
		got, err := sealed.Unseal(pt, DomainSSES3, store, 9)
		if err != nil || got != oek {
			b.Fatal(err)
		}
		clear(pt)
	}
}

func BenchmarkGenerateKey(b *testing.B) {
	k, store := benchKMS(b)
	ctx := DEKContext(store, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.GenerateKey(DefaultKeyName, ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	k, store := benchKMS(b)
	ctx := DEKContext(store, 1)
	dek, _ := k.GenerateKey(DefaultKeyName, ctx)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Decrypt(DefaultKeyName, dek.Ciphertext, ctx); err != nil {
			b.Fatal(err)
		}
	}
}
