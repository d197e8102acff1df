package object

import (
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ssefs/ssefs/chunkstore"
)

// plantNextParts puts files at the names of the next n part ids: symbolic
// links to victim, FIFOs and plain files.
func plantNextParts(t *testing.T, l *Layer, n int, victim string) map[chunkstore.PartID]bool {
	t.Helper()
	id, err := l.nextPart() // the allocator's next id is the one after
	if err != nil {
		t.Fatal(err)
	}
	planted := map[chunkstore.PartID]bool{}
	for i := range chunkstore.PartID(n) {
		pid := chunkstore.PartID(id) + 1 + i
		p := l.st.Parts.Path(pid)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		switch i % 3 {
		case 0:
			err = os.Symlink(victim, p)
		case 1:
			err = syscall.Mkfifo(p, 0o600)
		case 2:
			err = os.WriteFile(p, []byte("planted"), 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
		planted[pid] = true
	}
	return planted
}

// TestTakenPartNamesAreSkipped: files planted at the next part ids neither
// fail a spill nor a compaction, nor are overwritten: the parts go to
// fresh ids and read back intact.
func TestTakenPartNamesAreSkipped(t *testing.T) {
	l := newTestLayer(t)
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("victim"), 0o600)
	rng := rand.New(rand.NewSource(5))

	planted := plantNextParts(t, l, 10, victim)
	n, f, model := committedRandomFile(t, l, "spill", 6<<20, rng)
	for c := 0; c < 96; c += 2 { // fragment it, for the compaction below
		off := int64(c)*ChunkSize + int64(rng.Intn(60000))
		p := make([]byte, 4096)
		rng.Read(p)
		if _, err := f.WriteAt(p, off); err != nil {
			t.Fatal(err)
		}
		copy(model[off:], p)
	}
	if err := f.Commit(); err != nil {
		t.Fatalf("commit with planted part names: %v", err)
	}
	for _, r := range f.runs {
		if planted[r.Part] {
			t.Fatalf("run %+v uses a planted part id", r)
		}
	}
	f.Release()

	for id := range plantNextParts(t, l, 10, victim) {
		planted[id] = true
	}
	if ok, _, err := l.Compact(n.Ino); !ok || err != nil {
		t.Fatalf("Compact with planted part names = %v, %v", ok, err)
	}
	g, err := l.OpenFile(n.Ino)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	for _, r := range g.runs {
		if planted[r.Part] {
			t.Fatalf("compacted run %+v uses a planted part id", r)
		}
	}
	got := make([]byte, len(model))
	if k, err := g.ReadAt(got, 0); k != len(model) || !bytes.Equal(got, model) {
		t.Fatalf("content read back: %d bytes, %v", k, err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "victim" {
		t.Fatalf("a planted symlink's target was written to: %q", b)
	}
	for id := range planted {
		if fi, err := os.Lstat(l.st.Parts.Path(chunkstore.PartID(id))); err != nil || fi.Mode().IsRegular() && fi.Size() != int64(len("planted")) {
			t.Fatalf("planted part name %d changed: %v %v", id, fi, err)
		}
	}
}
