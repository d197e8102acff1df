package fs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"testing"
)

// TestRandomOps drives a few files with random writes, truncates, reads,
// reopens and remounts, and checks every read against an in-memory model.
// SSEFS_SOAK=1 raises the count for `make soak`.
func TestRandomOps(t *testing.T) {
	m := newTestMount(t)
	ops := 100_000
	if os.Getenv("SSEFS_SOAK") == "1" {
		ops = 1_000_000
	}
	rng := rand.New(rand.NewSource(42))
	const nfiles = 4
	models := make([][]byte, nfiles)
	files := make([]*os.File, nfiles)
	open := func(i int) {
		f, err := os.OpenFile(m.path(fmt.Sprintf("f%d", i)), os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		files[i] = f
	}
	closeAll := func() {
		for i, f := range files {
			if f != nil {
				if err := f.Close(); err != nil {
					t.Fatalf("close f%d: %v", i, err)
				}
				files[i] = nil
			}
		}
	}
	for i := range files {
		open(i)
	}
	// Offsets cluster around chunk boundaries, where the bugs would be.
	offset := func(limit int) int {
		if rng.Intn(3) == 0 {
			c := rng.Intn(limit/65536 + 2)
			return max(0, c*65536+rng.Intn(64)-32)
		}
		return rng.Intn(limit + 1)
	}
	const maxSize = 3 << 20
	buf := make([]byte, 300_000)
	got := make([]byte, 300_000)
	mismatches := 0
	for op := 0; op < ops; op++ {
		i := rng.Intn(nfiles)
		f, model := files[i], models[i]
		switch r := rng.Intn(100); {
		case r < 40: // write
			off := offset(min(len(model)+100_000, maxSize))
			n := 1 + rng.Intn(rng.Intn(200_000)+1)
			rng.Read(buf[:n])
			if _, err := f.WriteAt(buf[:n], int64(off)); err != nil {
				t.Fatalf("op %d: write f%d @%d+%d: %v", op, i, off, n, err)
			}
			if off+n > len(model) {
				model = append(model, make([]byte, off+n-len(model))...)
			}
			copy(model[off:], buf[:n])
		case r < 47: // truncate
			size := offset(min(len(model)*2+1000, maxSize))
			if err := f.Truncate(int64(size)); err != nil {
				t.Fatalf("op %d: truncate f%d to %d: %v", op, i, size, err)
			}
			if size < len(model) {
				model = model[:size]
			} else {
				model = append(model, make([]byte, size-len(model))...)
			}
		case r < 95: // read
			off := offset(len(model) + 10)
			n := 1 + rng.Intn(200_000)
			k, err := f.ReadAt(got[:n], int64(off))
			if err != nil && !errors.Is(err, io.EOF) {
				t.Fatalf("op %d: read f%d @%d+%d: %v", op, i, off, n, err)
			}
			want := []byte{}
			if off < len(model) {
				want = model[off:min(off+n, len(model))]
			}
			if !bytes.Equal(got[:k], want) {
				mismatches++
				t.Errorf("op %d: read f%d @%d+%d: got %d bytes, want %d (differ)", op, i, off, n, k, len(want))
				if mismatches > 5 {
					t.FailNow()
				}
			}
		case r < 99: // reopen
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			open(i)
		default: // remount, every ~100 ops on average... but bounded
			if rng.Intn(20) != 0 {
				continue
			}
			closeAll()
			m.remount()
			for j := range files {
				open(j)
			}
		}
		models[i] = model
	}
	closeAll()
	m.remount()
	for i, model := range models {
		b, err := os.ReadFile(m.path(fmt.Sprintf("f%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, model) {
			t.Fatalf("f%d after final remount: %d bytes, want %d, content differs", i, len(b), len(model))
		}
	}
	t.Logf("%d operations, %d mismatches", ops, mismatches)
}
