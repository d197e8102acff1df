package object

import "testing"

// TestCompactGoneObject: gc lists every object and then compacts each; an
// object removed and purged in between (the kernel's forget of a removed
// file) is skipped, not an error that aborts gc before it frees anything.
func TestCompactGoneObject(t *testing.T) {
	l := newTestLayer(t)
	n := createFile(t, l, RootIno, "gone") // no version: removing it leaves nothing to keep
	if err := l.Unlink(RootIno, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := l.Forget(n.Ino); err != nil {
		t.Fatal(err)
	}
	if err := l.flushForgotten(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Inode(n.Ino); err == nil {
		t.Fatal("the removed and forgotten object still exists")
	}
	if ok, freed, err := l.Compact(n.Ino); ok || freed != 0 || err != nil {
		t.Fatalf("Compact of a purged object = %v, %d, %v; want false, 0, nil", ok, freed, err)
	}
}
