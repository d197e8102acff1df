package object

import (
	"bytes"
	"io/fs"
	"math/rand"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestSmallOverwritesStorePatches: a 4 KiB overwrite stores about 4 KiB,
// not the 64 KiB chunk around it, and every version still reads exactly.
func TestSmallOverwritesStorePatches(t *testing.T) {
	r := newReopenable(t)
	rng := rand.New(rand.NewSource(7))
	n, f, model := committedRandomFile(t, r.l, "db", 16<<20, rng)
	v1 := append([]byte(nil), model...)
	before, _, _ := r.st.Parts.Usage()
	const writes = 300
	p := make([]byte, 4096)
	for range writes {
		off := rng.Int63n(int64(len(model) - len(p)))
		rng.Read(p)
		if _, err := f.WriteAt(p, off); err != nil {
			t.Fatal(err)
		}
		copy(model[off:], p)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	after, _, _ := r.st.Parts.Usage()
	// Chunks hit more than maxChunkRuns/2 times are stored whole again, so
	// allow some of those; the old format cost writes × 64 KiB = 19 MiB.
	if grew := after - before; grew > writes*(4096+200)+40*ChunkSize {
		t.Fatalf("%d 4 KiB overwrites grew the parts by %d bytes", writes, grew)
	}
	checkContent(t, f, model)
	f.Release()
	checkAfterReopen(t, r, n.Ino, model)
	vs, _ := r.l.Versions(n.Ino)
	old, err := r.l.OpenVersion(n.Ino, vs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	checkContent(t, old, v1)
}

// TestPatchModel drives writes of every size at chunk-edge-biased offsets,
// truncates, commits, reopens and compactions against a byte model.
func TestPatchModel(t *testing.T) {
	r := newReopenable(t)
	n := createFile(t, r.l, RootIno, "m")
	rng := rand.New(rand.NewSource(11))
	var model []byte
	f, err := r.l.OpenFile(n.Ino)
	if err != nil {
		t.Fatal(err)
	}
	const limit = 3 << 20
	offset := func() int64 {
		if rng.Intn(3) == 0 {
			return max(0, int64(rng.Intn(limit/ChunkSize+1))*ChunkSize+int64(rng.Intn(64))-32)
		}
		return rng.Int63n(limit)
	}
	buf := make([]byte, 300<<10)
	for op := range 4000 {
		switch k := rng.Intn(100); {
		case k < 70:
			off := offset()
			size := 1 + rng.Intn(1+rng.Intn(len(buf)))
			if rng.Intn(4) > 0 {
				size = 1 + rng.Intn(8192)
			}
			rng.Read(buf[:size])
			if _, err := f.WriteAt(buf[:size], off); err != nil {
				t.Fatal(err)
			}
			if end := off + int64(size); end > int64(len(model)) {
				model = append(model, make([]byte, end-int64(len(model)))...)
			}
			copy(model[off:], buf[:size])
		case k < 75:
			size := offset()
			if err := f.Truncate(size); err != nil {
				t.Fatal(err)
			}
			if size < int64(len(model)) {
				model = model[:size]
			} else {
				model = append(model, make([]byte, size-int64(len(model)))...)
			}
		case k < 85:
			checkContent(t, f, model)
		case k < 95:
			if err := f.Commit(); err != nil {
				t.Fatal(err)
			}
		default:
			if err := f.Release(); err != nil {
				t.Fatal(err)
			}
			switch rng.Intn(3) {
			case 0:
				r.close(t)
				r.open(t)
			case 1:
				if _, _, err := r.l.Compact(n.Ino); err != nil {
					t.Fatal(err)
				}
			}
			if f, err = r.l.OpenFile(n.Ino); err != nil {
				t.Fatal(err)
			}
			checkContent(t, f, model)
		}
		if t.Failed() {
			t.Fatalf("after op %d", op)
		}
	}
	f.Release()
}

func checkContent(t *testing.T, f *File, want []byte) {
	t.Helper()
	if f.Size() != int64(len(want)) {
		t.Fatalf("size %d, want %d", f.Size(), len(want))
	}
	got := make([]byte, len(want)+1)
	n, err := f.ReadAt(got, 0)
	if n != len(want) || !bytes.Equal(got[:n], want) || (err != nil && !isEOF(err)) {
		i := 0
		for i < min(n, len(want)) && got[i] == want[i] {
			i++
		}
		t.Fatalf("read %d bytes (%v), want %d; first difference at %d", n, err, len(want), i)
	}
	// Unaligned small reads too, as the kernel sends them.
	for range 20 {
		if len(want) == 0 {
			break
		}
		off := rand.Intn(len(want))
		k := min(len(want)-off, 1+rand.Intn(9000))
		if n, _ := f.ReadAt(got[:k], int64(off)); n != k || !bytes.Equal(got[:k], want[off:off+k]) {
			t.Fatalf("read of %d at %d differs", k, off)
		}
	}
}

// TestFailedSpillLosesNothing makes part writes fail for real (the part
// directory made immutable), keeps writing random ranges while spills fail,
// and checks that reads stay exact, that the data is stored once writes
// work again, and that it survives a reopen.
func TestFailedSpillLosesNothing(t *testing.T) {
	r := newReopenable(t)
	rng := rand.New(rand.NewSource(5))
	n, f, model := committedRandomFile(t, r.l, "f", 12<<20, rng)
	var shards []string
	filepath.WalkDir(filepath.Join(r.dir, "parts"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			shards = append(shards, p)
		}
		return nil
	})
	for _, s := range shards {
		if out, err := exec.Command("chattr", "+i", s).CombinedOutput(); err != nil {
			t.Skipf("cannot make part directories immutable here: %v %s", err, out)
		}
		defer exec.Command("chattr", "-i", s).Run()
	}
	var failures int
	p := make([]byte, 20000)
	for range 3000 { // enough to spill many times (and fail)
		off := rng.Int63n(int64(len(model) - len(p)))
		k := 1 + rng.Intn(len(p))
		rng.Read(p[:k])
		if _, err := f.WriteAt(p[:k], off); err != nil {
			failures++
		}
		copy(model[off:], p[:k])
	}
	if failures == 0 {
		t.Fatal("no write reported the failed spills")
	}
	checkContent(t, f, model)
	if err := f.Commit(); err == nil {
		t.Fatal("commit succeeded while parts cannot be written")
	}
	checkContent(t, f, model)
	for _, s := range shards {
		if out, err := exec.Command("chattr", "-i", s).CombinedOutput(); err != nil {
			t.Fatalf("chattr -i: %v %s", err, out)
		}
	}
	if err := f.Commit(); err != nil {
		if err = f.Commit(); err != nil { // the first reports the old failure
			t.Fatal(err)
		}
	}
	f.Release()
	checkAfterReopen(t, r, n.Ino, model)
}

// committedRandomFile creates name holding size random bytes, committed,
// and returns it open with its content.
func committedRandomFile(t *testing.T, l *Layer, name string, size int, rng *rand.Rand) (*Inode, *File, []byte) {
	t.Helper()
	n := createFile(t, l, RootIno, name)
	model := make([]byte, size)
	rng.Read(model)
	f, err := l.OpenFile(n.Ino)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(model, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	return n, f, model
}

// checkAfterReopen closes and reopens the store, as an unmount and mount
// would, and checks the file's content.
func checkAfterReopen(t *testing.T, r *reopenable, ino Ino, want []byte) {
	t.Helper()
	r.close(t)
	r.open(t)
	g, err := r.l.OpenFile(ino)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	checkContent(t, g, want)
}
