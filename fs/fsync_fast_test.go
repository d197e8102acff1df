package fs

import (
	"fmt"
	"os"
	"testing"
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
