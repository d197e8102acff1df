package fs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRandomOps drives a few files with random writes, truncates, punched
// holes, zeroed ranges, reads, reopens and remounts, and checks every read
// and every SEEK_DATA/SEEK_HOLE against an in-memory model (fsx's checks).
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
	// A failed check stops the test with files open: close them before the
	// unmount (registered earlier, so run later), which would wait for them.
	t.Cleanup(func() {
		for _, f := range files {
			if f != nil {
				f.Close()
			}
		}
	})
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
		case r < 51: // punch a hole (fsx PUNCH_HOLE)
			off := offset(len(model) + 1000)
			n := 1 + offset(300_000)
			if err := unix.Fallocate(int(f.Fd()), fallocPunchHoleT|fallocKeepSizeT, int64(off), int64(n)); err != nil {
				t.Fatalf("op %d: punch f%d @%d+%d: %v", op, i, off, n, err)
			}
			if off < len(model) {
				clear(model[off:min(off+n, len(model))])
			}
		case r < 53: // zero a range, growing the file or not (fsx ZERO_RANGE)
			off := offset(min(len(model)+100_000, maxSize))
			n := 1 + offset(300_000)
			mode := uint32(fallocZeroRangeT)
			if rng.Intn(2) == 0 || off+n > maxSize {
				mode |= fallocKeepSizeT
			}
			if err := unix.Fallocate(int(f.Fd()), mode, int64(off), int64(n)); err != nil {
				t.Fatalf("op %d: zero range f%d @%d+%d mode %#x: %v", op, i, off, n, mode, err)
			}
			if mode&fallocKeepSizeT == 0 && off+n > len(model) {
				model = append(model, make([]byte, off+n-len(model))...)
			}
			if off < len(model) {
				clear(model[off:min(off+n, len(model))])
			}
		case r < 56: // SEEK_DATA/SEEK_HOLE: no non-zero byte is in a hole
			off := offset(len(model) + 10)
			checkSeek(t, op, f, model, int64(off))
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

// checkSeek checks SEEK_DATA and SEEK_HOLE from off against the model:
// ENXIO at or past the end; the bytes SEEK_DATA skips and the hole
// SEEK_HOLE finds are zeros.
func checkSeek(t *testing.T, op int, f *os.File, model []byte, off int64) {
	t.Helper()
	fd, size := int(f.Fd()), int64(len(model))
	d, derr := unix.Seek(fd, off, unix.SEEK_DATA)
	h, herr := unix.Seek(fd, off, unix.SEEK_HOLE)
	if off >= size {
		if !errors.Is(derr, unix.ENXIO) || !errors.Is(herr, unix.ENXIO) {
			t.Fatalf("op %d: at %d, past the end (%d): SEEK_DATA %v, SEEK_HOLE %v; want ENXIO", op, off, size, derr, herr)
		}
		return
	}
	if errors.Is(derr, unix.ENXIO) {
		d = size // no data after off
	} else if derr != nil || d < off || d >= size {
		t.Fatalf("op %d: SEEK_DATA(%d) = %d, %v (size %d)", op, off, d, derr, size)
	}
	if i := bytes.IndexFunc(model[off:d], func(r rune) bool { return r != 0 }); i >= 0 {
		t.Fatalf("op %d: SEEK_DATA(%d) = %d skips a non-zero byte at %d", op, off, d, off+int64(i))
	}
	if herr != nil || h < off || h > size {
		t.Fatalf("op %d: SEEK_HOLE(%d) = %d, %v (size %d)", op, off, h, herr, size)
	}
	end := size
	if h < size {
		if e, err := unix.Seek(fd, h, unix.SEEK_DATA); err == nil {
			end = e
		}
	}
	if i := bytes.IndexFunc(model[h:end], func(r rune) bool { return r != 0 }); i >= 0 {
		t.Fatalf("op %d: the hole SEEK_HOLE(%d) = %d found holds a non-zero byte at %d", op, off, h, h+int64(i))
	}
}
