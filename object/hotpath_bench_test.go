package object

import (
	"fmt"
	"math/rand"
	"syscall"
	"testing"
)

// BenchmarkCreateSmallFile is one tar-extract step: create, write 4 KiB,
// commit, release.
func BenchmarkCreateSmallFile(b *testing.B) {
	l := newTestLayer(b)
	data := make([]byte, 4096)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n, err := l.Create(RootIno, fmt.Sprint(i), CreateArgs{Mode: syscall.S_IFREG | 0o644})
		if err != nil {
			b.Fatal(err)
		}
		f, err := l.OpenFile(n.Ino)
		if err != nil {
			b.Fatal(err)
		}
		f.WriteAt(data, 0)
		if err := f.Commit(); err != nil {
			b.Fatal(err)
		}
		f.Release()
	}
}

// BenchmarkRandomWrite4K writes 4 KiB at random offsets of a 256 MiB file.
func BenchmarkRandomWrite4K(b *testing.B) {
	f := committedFile(b, randSize)
	defer f.Release()
	random4K(b, f.WriteAt)
	if err := f.Commit(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRandomRead4K reads 4 KiB at random offsets of a 256 MiB file.
func BenchmarkRandomRead4K(b *testing.B) {
	f := committedFile(b, randSize)
	defer f.Release()
	random4K(b, f.ReadAt)
}

// random4K times op on 4 KiB at random aligned offsets of a randSize file.
func random4K(b *testing.B, op func(p []byte, off int64) (int, error)) {
	rng := rand.New(rand.NewSource(1))
	p := make([]byte, 4096)
	b.SetBytes(4096)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := op(p, rng.Int63n(randSize/4096)*4096); err != nil {
			b.Fatal(err)
		}
	}
}

const randSize = 256 << 20

// committedFile returns an open file of size zero bytes, committed.
func committedFile(b *testing.B, size int64) *File {
	l := newTestLayer(b)
	n := createFile(b, l, RootIno, "rand")
	f, err := l.OpenFile(n.Ino)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(buf)) {
		f.WriteAt(buf, off)
	}
	if err := f.Commit(); err != nil {
		b.Fatal(err)
	}
	return f
}

// BenchmarkSeqWrite1M writes a 256 MiB file in 1 MiB blocks and commits
// it, as `dd bs=1M conv=fsync` does through the mount: the spill pipeline's
// encryption and part writes. Set TMPDIR to a disk to time O_DIRECT parts.
func BenchmarkSeqWrite1M(b *testing.B) {
	l := newTestLayer(b)
	buf := make([]byte, 1<<20)
	rand.New(rand.NewSource(1)).Read(buf)
	b.SetBytes(randSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := createFile(b, l, RootIno, fmt.Sprint("seq", i))
		f, err := l.OpenFile(n.Ino)
		if err != nil {
			b.Fatal(err)
		}
		for off := int64(0); off < randSize; off += int64(len(buf)) {
			if _, err := f.WriteAt(buf, off); err != nil {
				b.Fatal(err)
			}
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		f.Release()
	}
}
