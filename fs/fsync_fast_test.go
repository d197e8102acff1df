package fs

import (
	"fmt"
	"os"
	"syscall"
	"testing"

	"github.com/ssefs/ssefs/object"
)

// TestFsyncDirCommitsMetadata: fsync(2) of a directory commits the pending
// metadata batch (names created since the last commit) and syncs it.
func TestFsyncDirCommitsMetadata(t *testing.T) {
	m := newTestMount(t)
	if err := os.Mkdir(m.path("d"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		if err := os.WriteFile(m.path(fmt.Sprintf("d/f%d", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := os.Open(m.path("d"))
	if err != nil {
		t.Fatal(err)
	}
	err = d.Sync()
	d.Close()
	if err != nil {
		t.Fatalf("fsync of a directory: %v", err)
	}
	if m.l.PendingMeta() {
		t.Fatal("metadata still pending after fsync of a directory")
	}
	// fsync through a file handle still works through the node.
	f, err := os.OpenFile(m.path("d/f1"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("x"))
	if err := f.Sync(); err != nil {
		t.Fatalf("fsync of a file: %v", err)
	}
	f.Close()
	if m.l.PendingMeta() {
		t.Fatal("metadata still pending after fsync of a file")
	}
	m.remount()
	ents, err := os.ReadDir(m.path("d"))
	if err != nil || len(ents) != 50 {
		t.Fatalf("after remount: %d entries, %v", len(ents), err)
	}
	if b, err := os.ReadFile(m.path("d/f1")); err != nil || string(b) != "x" {
		t.Fatalf("f1: %q %v", b, err)
	}
}

// TestReadOnlyCloseCommitsNothing: the close of a read-only descriptor
// sends no FLUSH (FOPEN_NOFLUSH); readers still see a writer's
// uncommitted bytes, and the writer's close commits one version.
func TestReadOnlyCloseCommitsNothing(t *testing.T) {
	m := newTestMount(t)
	p := m.path("f")
	w, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close() // on failure: an open descriptor keeps the mount busy
	if _, err := w.WriteString("pending"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		b, err := os.ReadFile(p)
		if err != nil || string(b) != "pending" {
			t.Fatalf("read while a writer has it open: %q %v", b, err)
		}
	}
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	ino := object.Ino(st.Ino)
	if vs, err := m.l.Versions(ino); err != nil || len(vs) != 0 {
		t.Fatalf("versions before the writer's close: %d, %v", len(vs), err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if vs, err := m.l.Versions(ino); err != nil || len(vs) != 1 {
		t.Fatalf("versions after the writer's close: %d, %v", len(vs), err)
	}
}
