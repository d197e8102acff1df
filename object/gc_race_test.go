package object

import (
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGCKeepsPartsOfOpenFiles: parts an open file spilled and has not
// committed belong to no version, yet gc must leave them: the commit that
// follows references them.
func TestGCKeepsPartsOfOpenFiles(t *testing.T) {
	r := newReopenable(t)
	rng := rand.New(rand.NewSource(8))
	n := createFile(t, r.l, RootIno, "f")
	f, err := r.l.OpenFile(n.Ino)
	if err != nil {
		t.Fatal(err)
	}
	content := randomBytes(rng, 20<<20)
	if err := writeAll(f, content); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.drainLocked()
	spilled := len(f.pending)
	f.mu.Unlock()
	if spilled == 0 {
		t.Fatal("nothing was spilled")
	}
	rep, err := r.l.CollectGarbage(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rep.OrphanParts != 0 {
		t.Fatalf("gc removed %d parts of an open file", rep.OrphanParts)
	}
	if err := f.Release(); err != nil {
		t.Fatal(err)
	}
	checkNoReservations(t, r.l)
	checkAfterReopen(t, r, n.Ino, content)
}

// TestGCRacesWriters runs gc in a loop while files are written, spilled in
// the background, committed and rewritten: gc must never take a part that
// a writer may still commit (one being written by the sealer, one in a
// batch not yet installed, one whose version is being committed). Every
// file is then checked byte for byte, after a reopen.
func TestGCRacesWriters(t *testing.T) {
	r := newReopenable(t)
	const writers, rounds = 3, 4
	want := make([][]byte, writers)
	inos := make([]Ino, writers)
	for i := range inos {
		inos[i] = createFile(t, r.l, RootIno, fmt.Sprint("f", i)).Ino
	}
	var stop atomic.Bool
	var gcRuns atomic.Int64
	gcErr := make(chan error, 1)
	go func() {
		defer close(gcErr)
		for !stop.Load() {
			if _, err := r.l.CollectGarbage(time.Now()); err != nil {
				gcErr <- err
				return
			}
			gcRuns.Add(1)
		}
	}()
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewSource(int64(i)))
			for round := range rounds {
				content := randomBytes(rng, (10+rng.Intn(14))<<20)
				f, err := r.l.OpenFile(inos[i])
				if err == nil {
					if err = f.Truncate(0); err == nil {
						err = writeAll(f, content)
					}
					if rerr := f.Release(); err == nil {
						err = rerr
					}
				}
				if err != nil {
					errs[i] = fmt.Errorf("writer %d round %d: %w", i, round, err)
					return
				}
				want[i] = content
			}
		})
	}
	wg.Wait()
	stop.Store(true)
	if err := <-gcErr; err != nil {
		t.Fatal(err)
	}
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d gc runs during %d commits", gcRuns.Load(), writers*rounds)
	checkNoReservations(t, r.l)
	r.close(t)
	r.open(t)
	for i, ino := range inos {
		f, err := r.l.OpenFile(ino)
		if err != nil {
			t.Fatal(err)
		}
		checkContent(t, f, want[i])
		f.Release()
	}
}

// checkNoReservations fails when a part id is still reserved although no
// file is open: a leaked reservation would hide an orphan from gc forever.
func checkNoReservations(t *testing.T, l *Layer) {
	t.Helper()
	l.parts.mu.Lock()
	defer l.parts.mu.Unlock()
	if n := len(l.parts.ids); n != 0 {
		t.Fatalf("%d part ids still reserved with no file open", n)
	}
}

// TestGCRacesCompaction: the mount compacts files on its own timer while
// `ssefs gc` may run through the control socket; gc must not take the
// fresh parts of a compaction that has not committed its run list yet.
func TestGCRacesCompaction(t *testing.T) {
	r := newReopenable(t)
	rng := rand.New(rand.NewSource(12))
	const files = 6
	inos := make([]Ino, files)
	models := make([][]byte, files)
	for i := range files {
		n, f, model := committedRandomFile(t, r.l, fmt.Sprint("frag", i), 8<<20, rng)
		for c := 0; c < 128; c += 2 { // a patch in every other chunk: fragmented
			off := int64(c)*ChunkSize + int64(rng.Intn(60000))
			p := randomBytes(rng, 4096)
			f.WriteAt(p, off)
			copy(model[off:], p)
		}
		if err := f.Release(); err != nil {
			t.Fatal(err)
		}
		inos[i], models[i] = n.Ino, model
	}
	var stop atomic.Bool
	gcErr := make(chan error, 1)
	go func() {
		defer close(gcErr)
		for !stop.Load() {
			// gc without its own compaction pass: only the orphan scan
			// races the compaction below.
			if err := r.l.removeOrphanParts(&GCReport{}); err != nil {
				gcErr <- err
				return
			}
		}
	}()
	compacted := 0
	for _, ino := range inos {
		ok, _, err := r.l.Compact(ino)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			compacted++
		}
	}
	stop.Store(true)
	if err := <-gcErr; err != nil {
		t.Fatal(err)
	}
	if compacted == 0 {
		t.Fatal("nothing was compacted")
	}
	checkNoReservations(t, r.l)
	for i, ino := range inos {
		f, err := r.l.OpenFile(ino)
		if err != nil {
			t.Fatal(err)
		}
		checkContent(t, f, models[i])
		f.Release()
	}
}
