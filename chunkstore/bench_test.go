package chunkstore

import (
	"fmt"
	"testing"

	"github.com/ssefs/ssefs/dare"
)

var benchSizes = []int{64 << 10, 4 << 20}

func BenchmarkSealPart(b *testing.B) {
	for _, c := range ciphers {
		for _, size := range benchSizes {
			b.Run(fmt.Sprintf("%v/%dKiB", c, size>>10), func(b *testing.B) {
				oek, pt := randBytes(b, 32), randBytes(b, size)
				b.SetBytes(int64(size))
				id := PartID(0)
				for b.Loop() {
					id++
					if _, err := SealPart(c, oek, id, pt); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkOpenPart(b *testing.B) {
	for _, c := range ciphers {
		for _, size := range benchSizes {
			b.Run(fmt.Sprintf("%v/%dKiB", c, size>>10), func(b *testing.B) {
				oek := randBytes(b, 32)
				sealed, err := SealPart(c, oek, 1, randBytes(b, size))
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(size))
				for b.Loop() {
					if _, err := OpenPart(oek, 1, sealed); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkDirReadPartAt is a 128 KiB read from a stored 4 MiB part through
// the fd cache: the FUSE read path minus the kernel.
func BenchmarkDirReadPartAt(b *testing.B) {
	d := openTestDir(b)
	oek, c := randBytes(b, 32), dare.DefaultCipher()
	sealed, err := SealPart(c, oek, 1, randBytes(b, 4<<20))
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Write(1, sealed); err != nil {
		b.Fatal(err)
	}
	p := make([]byte, 128<<10)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, err := ReadPartAt(oek, 1, d.Reader(1, int64(len(sealed))), int64(len(sealed)), p, 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}
