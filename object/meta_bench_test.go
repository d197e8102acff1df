package object

import (
	"fmt"
	"syscall"
	"testing"
)

// The metadata operations of `ssefs bench`'s create workload, without FUSE.

func BenchmarkMetaCreate(b *testing.B) {
	l := newTestLayer(b)
	d, err := l.Create(RootIno, "d", CreateArgs{Mode: syscall.S_IFDIR | 0o755})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprint("f", i)
		if _, err := l.Lookup(d.Ino, name); err == nil {
			b.Fatal("exists")
		}
		n, err := l.Create(d.Ino, name, CreateArgs{Mode: syscall.S_IFREG | 0o644})
		if err != nil {
			b.Fatal(err)
		}
		f, err := l.OpenFile(n.Ino)
		if err != nil {
			b.Fatal(err)
		}
		if err := f.Commit(); err != nil {
			b.Fatal(err)
		}
		if err := f.Release(); err != nil {
			b.Fatal(err)
		}
		if _, err := l.Attr(d.Ino); err != nil {
			b.Fatal(err)
		}
	}
}

func benchFiles(b *testing.B, l *Layer, n int) Ino {
	d, err := l.Create(RootIno, "d", CreateArgs{Mode: syscall.S_IFDIR | 0o755})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := l.Create(d.Ino, fmt.Sprint("f", i), CreateArgs{Mode: syscall.S_IFREG | 0o644}); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.FlushMeta(); err != nil {
		b.Fatal(err)
	}
	return d.Ino
}

func BenchmarkMetaLookup(b *testing.B) {
	l := newTestLayer(b)
	d := benchFiles(b, l, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := l.Lookup(d, fmt.Sprint("f", i%1000)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMetaUnlink(b *testing.B) {
	l := newTestLayer(b)
	d := benchFiles(b, l, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n, err := l.Lookup(d, fmt.Sprint("f", i))
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Unlink(d, fmt.Sprint("f", i)); err != nil {
			b.Fatal(err)
		}
		if _, err := l.Attr(d); err != nil {
			b.Fatal(err)
		}
		l.Forget(n.Ino)
	}
	l.flushForgotten()
}
