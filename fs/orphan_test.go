package fs

import (
	"os"
	"syscall"
	"testing"
)

// TestUnlinkedButReferenced checks that objects the kernel still holds
// survive losing their last name (fstat of an open empty file, a removed
// directory that is still open) and are purged once forgotten.
func TestUnlinkedButReferenced(t *testing.T) {
	m := newTestMount(t)
	before, err := m.l.Stats()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(m.path("empty"))
	if err != nil {
		t.Fatal(err)
	}
	os.Mkdir(m.path("dir"), 0o755)
	d, err := os.Open(m.path("dir"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(m.path("empty")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(m.path("dir")); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil || st.Nlink != 0 {
		t.Fatalf("fstat of an open unlinked file: nlink %d, %v", st.Nlink, err)
	}
	if err := syscall.Fstat(int(d.Fd()), &st); err != nil {
		t.Fatalf("fstat of an open removed directory: %v", err)
	}
	if _, err := f.Write([]byte("still writable")); err != nil {
		t.Fatalf("write to an open unlinked file: %v", err)
	}
	f.Close()
	d.Close()
	m.remount()
	after, err := m.l.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if after.Objects > before.Objects+1 { // the written file keeps its versions
		t.Fatalf("objects %d → %d: orphans not purged", before.Objects, after.Objects)
	}
}
