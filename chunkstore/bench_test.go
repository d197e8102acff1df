package chunkstore

import (
	"fmt"
	"io"
	"math/rand/v2"
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
		if _, err := ReadPartAt(oek, 1, d.Reader(1), int64(len(sealed)), p, 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRandomRead4K is fio's 4 KiB random read minus FUSE: 48 MiB of
// warm 4 MiB parts read through the mapping cache (Dir.Reader) and through
// pread (any other io.ReaderAt), so the two paths can be compared on the
// hardware at hand.
func BenchmarkRandomRead4K(b *testing.B) {
	const parts, size = 12, 4 << 20
	d := openTestDir(b)
	oek := randBytes(b, 32)
	for i := range parts {
		sealed, err := SealPart(dare.DefaultCipher(), oek, PartID(i), randBytes(b, size))
		if err != nil {
			b.Fatal(err)
		}
		if err := d.Write(PartID(i), sealed); err != nil {
			b.Fatal(err)
		}
		if _, err := d.ReadAt(PartID(i), sealed, 0); err != nil { // into the page cache
			b.Fatal(err)
		}
	}
	enc := dare.EncryptedSize(size)
	for _, path := range []string{"mapped", "pread"} {
		b.Run(path, func(b *testing.B) {
			p := make([]byte, 4096)
			for b.Loop() {
				id := PartID(rand.IntN(parts))
				var r io.ReaderAt = d.Reader(id)
				if path == "pread" {
					r = preadOnly{r}
				}
				if _, err := ReadPartAt(oek, id, r, enc, p, int64(rand.IntN(size/4096))*4096); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
