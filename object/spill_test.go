package object

import (
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ssefs/ssefs/chunkstore"
)

// TestPipelineFailureFailsLaterBatches: the sealer writes several part
// files at once, so a part written after one that failed must not be
// installed (its chunks would land over the failed, older batch) and must
// not stay on disk (part files spilled later, once the failure was dealt
// with, are in use and stay). The part ids are steered so the failing part is the
// last of a shard directory made immutable and the next ones go to a fresh,
// writable shard: every batch after the failure is written, then undone.
func TestPipelineFailureFailsLaterBatches(t *testing.T) {
	r := newReopenable(t)
	n := createFile(t, r.l, RootIno, "big")
	f, err := r.l.OpenFile(n.Ino)
	if err != nil {
		t.Fatal(err)
	}
	var id uint64
	for id%256 != 254 { // the next part, 255, is the last of its shard
		if id, err = r.l.nextPart(); err != nil {
			t.Fatal(err)
		}
	}
	bad, next := shardOf(r.dir, 255), shardOf(r.dir, 256)
	if err := os.MkdirAll(bad, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("chattr", "+i", bad).CombinedOutput(); err != nil {
		t.Skipf("cannot make a part directory immutable here: %v %s", err, out)
	}
	defer exec.Command("chattr", "-i", bad).Run()

	rng := rand.New(rand.NewSource(9))
	model := make([]byte, 40<<20)
	rng.Read(model)
	failures := 0
	for off := 0; off < len(model); off += 1 << 20 {
		if _, err := f.WriteAt(model[off:off+1<<20], int64(off)); err != nil {
			failures++
		}
	}
	f.mu.Lock()
	f.drainLocked()
	pending := map[string]bool{}
	for _, p := range f.pending {
		pending[p.id.String()] = true
	}
	reported := failures > 0 || f.spillErr != nil
	f.mu.Unlock()
	if !reported {
		t.Fatal("the failed part write was not reported")
	}
	checkContent(t, f, model)
	// Parts spilled after the failure was dealt with are in use; a part of
	// a batch failed after its write must be gone.
	left, _ := os.ReadDir(next)
	for _, e := range left {
		if !pending[e.Name()] {
			t.Fatalf("part %s, written after the failed one, is on disk but not in use", e.Name())
		}
	}
	if err := f.Commit(); err != nil {
		if err = f.Commit(); err != nil { // the first reports the old failure
			t.Fatal(err)
		}
	}
	checkContent(t, f, model)
	f.Release()
	checkAfterReopen(t, r, n.Ino, model)
	if _, err := os.Stat(filepath.Join(bad, chunkstore.PartID(255).String())); err == nil {
		t.Fatal("the failed part exists")
	}
}

// shardOf is the directory of part id (docs/FORMAT.md: parts/xx/yy/<id>).
func shardOf(store string, id chunkstore.PartID) string {
	return filepath.Join(store, "parts", fmt.Sprintf("%02x", uint8(id>>16)), fmt.Sprintf("%02x", uint8(id>>8)))
}
