package object

import (
	"bytes"
	"math/rand"
	"reflect"
	"testing"

	"github.com/ssefs/ssefs/chunkstore"
)

func TestPunchRuns(t *testing.T) {
	r := func(off, n, part, partOff int64) Run {
		return Run{Off: off, Len: n, Part: chunkstore.PartID(part), PartOff: partOff, PartLen: 1000}
	}
	runs := []Run{r(0, 100, 1, 0), r(100, 50, 2, 10), r(200, 100, 3, 0)}
	cases := []struct {
		from, to int64
		want     []Run
	}{
		{0, 100, []Run{r(100, 50, 2, 10), r(200, 100, 3, 0)}},
		{50, 120, []Run{r(0, 50, 1, 0), r(120, 30, 2, 30), r(200, 100, 3, 0)}},
		{160, 190, runs}, // a gap: nothing mapped
		{210, 220, []Run{r(0, 100, 1, 0), r(100, 50, 2, 10), r(200, 10, 3, 0), r(220, 80, 3, 20)}},
		{0, 1000, []Run{}},
		{290, 1000, []Run{r(0, 100, 1, 0), r(100, 50, 2, 10), r(200, 90, 3, 0)}},
	}
	for _, c := range cases {
		got := punchRuns(runs, c.from, c.to)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("punch [%d,%d): %v, want %v", c.from, c.to, got, c.want)
		}
	}
	if runs[0].Len != 100 || len(runs) != 3 {
		t.Fatal("punchRuns modified its input")
	}
}

// checkHoles checks SeekData against the model: every byte it reports in
// a hole reads zero, every non-zero byte is in data, SEEK_HOLE at the end
// of the data finds the hole it reports, and the data adds up to
// storedBytes (st_blocks).
func checkHoles(t *testing.T, f *File, model []byte, rng *rand.Rand) {
	t.Helper()
	size := int64(len(model))
	if _, ok := f.SeekData(size, false); ok {
		t.Fatal("SEEK_DATA at the end found data")
	}
	if _, ok := f.SeekData(size, true); ok {
		t.Fatal("SEEK_HOLE at the end found a hole")
	}
	var data int64
	for pos := int64(0); pos < size; {
		d, ok := f.SeekData(pos, false)
		if !ok {
			d = size
		}
		if d < pos || d > size {
			t.Fatalf("SEEK_DATA(%d) = %d, size %d", pos, d, size)
		}
		if i := bytes.IndexFunc(model[pos:d], func(r rune) bool { return r != 0 }); i >= 0 {
			t.Fatalf("SEEK_DATA(%d) = %d skips a non-zero byte at %d", pos, d, pos+int64(i))
		}
		if d == size {
			break
		}
		h, ok := f.SeekData(d, true)
		if !ok || h <= d || h > size {
			t.Fatalf("SEEK_HOLE(%d) = %d, %v (size %d)", d, h, ok, size)
		}
		data += h - d
		pos = h
	}
	f.mu.RLock()
	stored := f.storedBytes()
	f.mu.RUnlock()
	if stored != data {
		t.Fatalf("storedBytes %d, but SEEK_DATA/SEEK_HOLE find %d bytes of data", stored, data)
	}
	for range 20 { // from odd places too
		if size == 0 {
			break
		}
		off := rng.Int63n(size)
		if h, ok := f.SeekData(off, true); !ok || h < off || h > size {
			t.Fatalf("SEEK_HOLE(%d) = %d, %v", off, h, ok)
		} else if h < size && model[h] != 0 {
			t.Fatalf("SEEK_HOLE(%d) = %d, a non-zero byte", off, h)
		}
	}
}

// TestZeroModel drives one file with random writes (small ones, and large
// ones that keep the background sealer busy), truncates, punched holes,
// zeroed ranges with and without extending, commits and reopens, and
// checks its content, SEEK_DATA/SEEK_HOLE and stored bytes against a byte
// model. This is what fsx's PUNCH_HOLE and ZERO_RANGE operations check
// (fs.TestRandomOps does the same through a mount).
func TestZeroModel(t *testing.T) {
	r := newReopenable(t)
	n := createFile(t, r.l, RootIno, "z")
	rng := rand.New(rand.NewSource(5))
	var model []byte
	f, err := r.l.OpenFile(n.Ino)
	if err != nil {
		t.Fatal(err)
	}
	const limit = 10 << 20
	offset := func(lim int) int64 {
		if rng.Intn(3) == 0 {
			return max(0, int64(rng.Intn(lim/ChunkSize+1))*ChunkSize+int64(rng.Intn(64))-32)
		}
		return rng.Int63n(int64(lim) + 1)
	}
	grow := func(end int64) {
		if end > int64(len(model)) {
			model = append(model, make([]byte, end-int64(len(model)))...)
		}
	}
	buf := make([]byte, 2<<20)
	ops := 1200
	if testing.Short() {
		ops = 300
	}
	for op := range ops {
		switch k := rng.Intn(100); {
		case k < 40:
			off := offset(limit)
			size := 1 + rng.Intn(8192)
			if rng.Intn(4) == 0 {
				size = 1 + rng.Intn(len(buf))
			}
			rng.Read(buf[:size])
			if _, err := f.WriteAt(buf[:size], off); err != nil {
				t.Fatal(err)
			}
			grow(off + int64(size))
			copy(model[off:], buf[:size])
		case k < 44:
			size := offset(limit)
			if err := f.Truncate(size); err != nil {
				t.Fatal(err)
			}
			if size < int64(len(model)) {
				model = model[:size]
			} else {
				grow(size)
			}
		case k < 64: // punch hole, or zero range with KEEP_SIZE
			off := offset(len(model) + 1000)
			size := 1 + offset(1<<20+rng.Intn(5)*ChunkSize)
			if err := f.Zero(off, size, false); err != nil {
				t.Fatal(err)
			}
			if off < int64(len(model)) {
				clear(model[off:min(off+size, int64(len(model)))])
			}
		case k < 70: // zero range that may extend the file
			off := offset(len(model) + 100_000)
			size := 1 + offset(1<<20)
			if err := f.Zero(off, size, true); err != nil {
				t.Fatal(err)
			}
			grow(off + size)
			clear(model[off : off+size])
		case k < 82:
			checkContent(t, f, model)
			checkHoles(t, f, model, rng)
		case k < 95:
			if err := f.Commit(); err != nil {
				t.Fatal(err)
			}
		default:
			if err := f.Release(); err != nil {
				t.Fatal(err)
			}
			if rng.Intn(2) == 0 {
				r.close(t)
				r.open(t)
			}
			if f, err = r.l.OpenFile(n.Ino); err != nil {
				t.Fatal(err)
			}
			checkContent(t, f, model)
			checkHoles(t, f, model, rng)
		}
		if t.Failed() {
			t.Fatalf("after op %d", op)
		}
	}
	f.Release()
}

// TestZeroFreesParts: punching out a committed file's parts makes the
// parts belong only to the old version, and purging that frees them.
// The new version stores nothing for the hole and counts only the rest.
func TestZeroFreesParts(t *testing.T) {
	l := newTestLayer(t)
	n := createFile(t, l, RootIno, "big")
	f, err := l.OpenFile(n.Ino)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 12<<20) // three 4 MiB parts
	rand.New(rand.NewSource(1)).Read(data)
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Release(); err != nil {
		t.Fatal(err)
	}
	_, before, err := l.st.Parts.Usage()
	if err != nil {
		t.Fatal(err)
	}
	if f, err = l.OpenFile(n.Ino); err != nil {
		t.Fatal(err)
	}
	if err := f.Zero(0, 8<<20, false); err != nil {
		t.Fatal(err)
	}
	if err := f.Release(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Purge(n.Ino, 0, true); err != nil {
		t.Fatal(err)
	}
	_, after, err := l.st.Parts.Usage()
	if err != nil {
		t.Fatal(err)
	}
	if after != before-2 {
		t.Fatalf("%d part files before the punch, %d after it and a purge; want 2 fewer", before, after)
	}
	cur, err := l.Inode(n.Ino)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.StoredBytes(cur); got != 4<<20 {
		t.Fatalf("StoredBytes %d, want %d", got, 4<<20)
	}
	if cur.Size != 12<<20 {
		t.Fatalf("size %d after a punch, want %d", cur.Size, 12<<20)
	}
	if f, err = l.OpenFile(n.Ino); err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	clear(data[:8<<20])
	checkContent(t, f, data)
}

// TestZeroConcurrent runs punches, writes large enough to keep the sealer
// busy, seeks and stats of one file at once (for the race detector), then
// checks that a final punch of everything leaves only zeros and no data.
func TestZeroConcurrent(t *testing.T) {
	l := newTestLayer(t)
	n := createFile(t, l, RootIno, "c")
	f, err := l.OpenFile(n.Ino)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	const size = 16 << 20
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			rng := rand.New(rand.NewSource(int64(g)))
			buf := make([]byte, 1<<20)
			rng.Read(buf)
			var err error
			for i := 0; i < 150 && err == nil; i++ {
				off := rng.Int63n(size - int64(len(buf)))
				switch g {
				case 0, 1:
					_, err = f.WriteAt(buf[:1+rng.Intn(len(buf))], off)
				case 2:
					err = f.Zero(off, 1+rng.Int63n(2<<20), rng.Intn(2) == 0)
				case 3:
					f.SeekData(off, rng.Intn(2) == 0)
					if cur, ierr := l.Inode(n.Ino); ierr == nil {
						l.StoredBytes(cur)
					}
					if i%30 == 0 {
						err = f.Commit()
					}
				}
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	sz := f.Size()
	if err := f.Zero(0, sz, false); err != nil {
		t.Fatal(err)
	}
	checkContent(t, f, make([]byte, sz))
	if _, ok := f.SeekData(0, false); ok {
		t.Fatal("SEEK_DATA found data in a file punched whole")
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if cur, err := l.Inode(n.Ino); err != nil || l.StoredBytes(cur) != 0 {
		t.Fatalf("StoredBytes of a file punched whole: %v", err)
	}
}
