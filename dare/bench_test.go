package dare

import (
	"bytes"
	"fmt"
	"testing"
)

var benchSizes = []int{64 << 10, 4 << 20}

func BenchmarkEncrypt(b *testing.B) {
	for _, c := range ciphers {
		for _, size := range benchSizes {
			b.Run(fmt.Sprintf("%v/%dKiB", c, size>>10), func(b *testing.B) {
				key, pt := randBytes(b, 32), randBytes(b, size)
				b.SetBytes(int64(size))
				for b.Loop() {
					if _, err := Encrypt(c, key, pt); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	for _, c := range ciphers {
		for _, size := range benchSizes {
			b.Run(fmt.Sprintf("%v/%dKiB", c, size>>10), func(b *testing.B) {
				key := randBytes(b, 32)
				ct, err := Encrypt(c, key, randBytes(b, size))
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(size))
				for b.Loop() {
					if _, err := Decrypt(key, ct); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkDecryptAt128K is a FUSE-sized read starting mid-package.
func BenchmarkDecryptAt128K(b *testing.B) {
	for _, c := range ciphers {
		b.Run(c.String(), func(b *testing.B) {
			key := randBytes(b, 32)
			ct, err := Encrypt(c, key, randBytes(b, 4<<20))
			if err != nil {
				b.Fatal(err)
			}
			r, p := bytes.NewReader(ct), make([]byte, 128<<10)
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				if _, err := DecryptAt(key, r, int64(len(ct)), p, 1<<20+100); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRawSeal is one bare AEAD Seal of 64 KiB: the ceiling the DARE
// paths are measured against.
func BenchmarkRawSeal(b *testing.B) {
	for _, c := range ciphers {
		b.Run(fmt.Sprintf("%v/64KiB", c), func(b *testing.B) {
			aead, err := newAEAD(c, randBytes(b, 32))
			if err != nil {
				b.Fatal(err)
			}
			pt, nonce := randBytes(b, PackageSize), make([]byte, 12)
			dst := make([]byte, 0, PackageSize+TagSize)
			b.SetBytes(PackageSize)
			for b.Loop() {
				dst = aead.Seal(dst[:0], nonce, pt, nil)
			}
		})
	}
}
