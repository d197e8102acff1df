package object

import (
	"crypto/rand"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ssefs/ssefs/dare"
	"github.com/ssefs/ssefs/keyring"
	"github.com/ssefs/ssefs/store"
)

// newTestLayer opens the object layer of a fresh store, without a mount.
func newTestLayer(tb testing.TB) *Layer {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "store")
	var mk keyring.MasterKey
	rand.Read(mk[:])
	if err := store.Init(dir, mk, store.InitOptions{Cipher: dare.DefaultCipher(), KDF: keyring.KeyFileKDF()}); err != nil {
		tb.Fatal(err)
	}
	st, err := store.Open(dir, mk)
	if err != nil {
		tb.Fatal(err)
	}
	l, err := Open(st)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close(); st.Close() })
	return l
}

func createFile(tb testing.TB, l *Layer, parent Ino, name string) *Inode {
	tb.Helper()
	n, err := l.Create(parent, name, CreateArgs{Mode: syscall.S_IFREG | 0o644})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func commitVersions(tb testing.TB, l *Layer, ino Ino, count int) {
	tb.Helper()
	f, err := l.OpenFile(ino)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Release()
	for i := 0; i < count; i++ {
		if _, err := f.WriteAt([]byte(fmt.Sprint(i)), 0); err != nil {
			tb.Fatal(err)
		}
		if err := f.Commit(); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkListVersions10k lists a file with 10,000 versions.
func BenchmarkListVersions10k(b *testing.B) {
	l := newTestLayer(b)
	n := createFile(b, l, RootIno, "many")
	commitVersions(b, l, n.Ino, 10_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		vs, err := l.Versions(n.Ino)
		if err != nil || len(vs) != 10_000 {
			b.Fatalf("%d versions, %v", len(vs), err)
		}
	}
}

// BenchmarkReadDir100kFiles3Versions lists a directory of 100,000 files
// with 3 versions each: versions must not slow down readdir.
func BenchmarkReadDir100kFiles3Versions(b *testing.B) {
	l := newTestLayer(b)
	d, err := l.Create(RootIno, "d", CreateArgs{Mode: syscall.S_IFDIR | 0o755})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 100_000; i++ {
		n := createFile(b, l, d.Ino, fmt.Sprintf("file-%06d", i))
		commitVersions(b, l, n.Ino, 3)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ents, err := l.ReadDir(d.Ino)
		if err != nil || len(ents) != 100_000 {
			b.Fatalf("%d entries, %v", len(ents), err)
		}
	}
}

// TestManyVersions checks that listing and reading stay correct with many
// versions (the speed is in BenchmarkListVersions10k).
func TestManyVersions(t *testing.T) {
	l := newTestLayer(t)
	n := createFile(t, l, RootIno, "many")
	commitVersions(t, l, n.Ino, 1000)
	vs, err := l.Versions(n.Ino)
	if err != nil || len(vs) != 1000 || !vs[999].Current {
		t.Fatalf("%d versions, %v", len(vs), err)
	}
	for i := 1; i < len(vs); i++ {
		if vs[i].ID <= vs[i-1].ID {
			t.Fatalf("version ids not increasing at %d", i)
		}
	}
	f, err := l.OpenVersion(n.Ino, vs[500].ID)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	k, _ := f.ReadAt(buf, 0)
	if string(buf[:k]) != "500" {
		t.Fatalf("version 500 reads %q", buf[:k])
	}
}
