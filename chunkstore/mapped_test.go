package chunkstore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ssefs/ssefs/dare"
)

// preadOnly hides Dir.Reader's mapping path: the copying reference path.
type preadOnly struct{ r io.ReaderAt }

func (p preadOnly) ReadAt(b []byte, off int64) (int, error) { return p.r.ReadAt(b, off) }

// openMappedDir is openTestDir with mappings on even where the temporary
// directory's filesystem is not on mapSupported's list, and with a cache
// of max bytes whose unmaps are counted and which evicts any mapping not
// in use.
func openMappedDir(t testing.TB, max int64) (*Dir, *atomic.Int64) {
	t.Helper()
	d := openTestDir(t)
	unmaps := new(atomic.Int64)
	d.maps = newMapCache(max, 0, func(b []byte) {
		unmaps.Add(1)
		munmapPart(b)
	})
	return d, unmaps
}

// storePart seals random plaintext of size bytes as part id in d.
func storePart(t testing.TB, d *Dir, c dare.Cipher, id PartID, size int) (oek, pt, sealed []byte) {
	t.Helper()
	oek, pt = randBytes(t, 32), randBytes(t, size)
	sealed, err := SealPart(c, oek, id, pt)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Write(id, sealed); err != nil {
		t.Fatal(err)
	}
	return oek, pt, sealed
}

// readOutcome is what a read returned, comparable across paths.
type readOutcome struct {
	n   int
	eof bool
	err string // "" without error, else the error class
	p   []byte
}

func outcome(n int, err error, p []byte) readOutcome {
	o := readOutcome{n: n, p: p}
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		o.eof = true
	case errors.Is(err, dare.ErrAuthentication):
		o.err = "auth"
	case errors.Is(err, dare.ErrFormat):
		o.err = "format"
	default:
		o.err = err.Error()
	}
	return o
}

func (o readOutcome) String() string {
	return fmt.Sprintf("n=%d eof=%v err=%q", o.n, o.eof, o.err)
}

// TestMappedReadsMatchPread reads parts of several sizes at offsets and
// lengths around every package edge and the final short package, through
// the mapping and through pread, and wants the same bytes, counts and
// io.EOF from both. (ReadPartAt itself is readMapped plus the key and an
// error prefix; the other tests go through it.)
func TestMappedReadsMatchPread(t *testing.T) {
	const P = dare.PackageSize
	d, _ := openMappedDir(t, 64<<20)
	id := PartID(0)
	for _, c := range ciphers {
		for _, size := range []int{P, P + 1, 3*P - 5, 5*P + 123, 4 << 20} {
			id++
			oek, pt, sealed := storePart(t, d, c, id, size)
			key := PartKey(oek, id)
			// Big parts are written around the page cache (O_DIRECT); a
			// read through the mapping needs them in it.
			if _, err := d.ReadAt(id, make([]byte, len(sealed)), 0); err != nil {
				t.Fatal(err)
			}
			offs := []int{0, 1, P - 1, P, P + 1, 2*P - 1, 2 * P, size - P, size - P - 1, size - 1, size, size + 7}
			lens := []int{1, 17, 4096, P - 1, P, P + 1, 2*P + 3, 128 << 10, size, size + 100}
			for range 8 {
				offs = append(offs, rand.IntN(size))
				lens = append(lens, 1+rand.IntN(size))
			}
			for _, off := range offs {
				if off < 0 {
					continue
				}
				for _, n := range lens {
					a, b := make([]byte, n), make([]byte, n)
					na, mapped, erra := d.readMapped(id, key[:], int64(len(sealed)), a, int64(off))
					if !mapped {
						t.Fatalf("%v size %d read(%d, %d) did not go through the mapping", c, size, off, n)
					}
					nb, errb := ReadPartAt(oek, id, preadOnly{d.Reader(id)}, int64(len(sealed)), b, int64(off))
					oa, ob := outcome(na, erra, a), outcome(nb, errb, b)
					if oa.String() != ob.String() || !bytes.Equal(a, b) {
						t.Fatalf("%v size %d read(%d, %d): mapped %v, pread %v, same bytes %v",
							c, size, off, n, oa, ob, bytes.Equal(a, b))
					}
					if want := pt[min(off, size):min(off+n, size)]; !bytes.Equal(a[:na], want) {
						t.Fatalf("%v size %d read(%d, %d): wrong plaintext", c, size, off, n)
					}
				}
			}
		}
	}
}

// TestSmallAndInlinePartsUsePread checks that parts below minMapSize, and
// readers that are not a Dir's, never get mapped, and still read right.
func TestSmallAndInlinePartsUsePread(t *testing.T) {
	d, _ := openMappedDir(t, 64<<20)
	oek, pt, sealed := storePart(t, d, dare.AES256GCM, 1, dare.PackageSize-1)
	p := make([]byte, 100)
	for _, r := range []io.ReaderAt{d.Reader(1), bytes.NewReader(sealed)} {
		if n, err := ReadPartAt(oek, 1, r, int64(len(sealed)), p, 10); n != len(p) || err != nil || !bytes.Equal(p, pt[10:110]) {
			t.Fatalf("%T: %d, %v", r, n, err)
		}
	}
	if n, _, live := d.maps.stats(); n != 0 || live != 0 {
		t.Fatalf("%d parts mapped (%d live), want none", n, live)
	}
}

// TestOpenSealedAtTamper flips header, body and tag bytes, cuts and extends
// the stream, and wants openSealedAt to fail exactly when dare.DecryptAt
// fails, with the same class of error, and to leave no plaintext behind.
func TestOpenSealedAtTamper(t *testing.T) {
	const P = dare.PackageSize
	for _, c := range ciphers {
		oek := randBytes(t, 32)
		pt := randBytes(t, 3*P-100)
		sealed, err := SealPart(c, oek, 9, pt)
		if err != nil {
			t.Fatal(err)
		}
		key := PartKey(oek, 9)
		var positions []int
		for pkg := range 3 {
			start := pkg * (P + dare.Overhead)
			for i := range dare.HeaderSize {
				positions = append(positions, start+i)
			}
			positions = append(positions, start+dare.HeaderSize, start+dare.HeaderSize+P/2)
		}
		positions = append(positions, len(sealed)-1, len(sealed)-dare.TagSize, P+dare.Overhead-1)
		variants := map[string][]byte{
			"cut one byte":      sealed[:len(sealed)-1],
			"cut last package":  sealed[:2*(P+dare.Overhead)],
			"cut into overhead": sealed[:2*(P+dare.Overhead)+10],
			"extended":          append(append([]byte{}, sealed...), make([]byte, 40)...),
			"two packages dup":  append(append([]byte{}, sealed[:P+dare.Overhead]...), sealed[:P+dare.Overhead]...),
		}
		for _, pos := range positions {
			b := append([]byte{}, sealed...)
			b[pos] ^= 0x04
			variants[fmt.Sprintf("flip %d", pos)] = b
		}
		for name, b := range variants {
			for _, rg := range [][2]int{{0, 10}, {P - 5, 10}, {P, P}, {2*P + 3, P}, {len(pt) - 1, 1}, {len(pt), 5}, {0, len(pt)}} {
				a, w := make([]byte, rg[1]), make([]byte, rg[1])
				na, erra := openSealedAt(key[:], b, a, int64(rg[0]))
				nw, errw := dare.DecryptAt(key[:], bytes.NewReader(b), int64(len(b)), w, int64(rg[0]))
				oa, ow := outcome(na, erra, a), outcome(nw, errw, w)
				if oa.String() != ow.String() || !bytes.Equal(a, w) {
					t.Errorf("%v %s read(%d, %d): openSealedAt %v, DecryptAt %v (%v / %v)", c, name, rg[0], rg[1], oa, ow, erra, errw)
				}
				if erra != nil && erra != io.EOF && !bytes.Equal(a, make([]byte, len(a))) {
					t.Errorf("%v %s: plaintext left behind after %v", c, name, erra)
				}
			}
		}
	}
}

// TestMappedTruncatedPart: a part file shorter than its sealed size is an
// authentication error for every read when it was cut before it was
// mapped. Cut under a live mapping whose pages the read already populated,
// a read of bytes the file still holds may still succeed (they
// authenticate, as with pread), but one touching the cut fails: a fault on
// a page past the end recovered into an error, or zeros of the last page
// that fail authentication. Either way the next read maps the file afresh
// and sees the truncation.
func TestMappedTruncatedPart(t *testing.T) {
	const P = dare.PackageSize
	const pkg = P + dare.Overhead
	const plain = 6*P - 1
	enc := int(dare.EncryptedSize(plain))
	for _, tc := range []struct {
		name     string
		size     int  // file size after the cut
		off, len int  // the read
		fault    bool // through a populated mapping, the read touches a page past the end
	}{
		{"empty, read start", 0, 0, 10, true},
		{"one byte, read start", 1, 0, 10, false}, // the rest of the page reads as zeros
		{"cut at a package, read before it", 2 * pkg, 10, 100, false},
		{"cut at a package, read after it", 2 * pkg, 3 * P, 100, true},
		{"cut at a page, read after it", 3 * pkg &^ 4095, 3*P - 10, 100, true},
		{"cut inside the last package, read it", enc - 100, 5*P + 10, 200, false},
		{"cut by one byte, read start", enc - 1, 0, 10, false},
		{"cut by one byte, read end", enc - 1, plain - 10, 10, false},
		{"cut, big parallel read", pkg, 0, 6 * P, false},
		// Headers 0-3 are intact; a worker decrypting package 3 faults.
		{"cut in package 3's body, parallel read", 3*pkg + 20000, 0, 4 * P, true},
	} {
		for _, mappedFirst := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/mapped first %v", tc.name, mappedFirst), func(t *testing.T) {
				d, _ := openMappedDir(t, 64<<20)
				oek, pt, sealed := storePart(t, d, dare.AES256GCM, 1, plain)
				if len(sealed) != enc {
					t.Fatalf("sealed %d bytes, want %d", len(sealed), enc)
				}
				if mappedFirst { // map it and populate the pages the read needs
					if _, err := ReadPartAt(oek, 1, d.Reader(1), int64(enc), make([]byte, tc.len), int64(tc.off)); err != nil && err != io.EOF {
						t.Fatal(err)
					}
				}
				if err := os.Truncate(d.path(1), int64(tc.size)); err != nil {
					t.Fatal(err)
				}
				p := make([]byte, tc.len)
				n, err := ReadPartAt(oek, 1, d.Reader(1), int64(enc), p, int64(tc.off))
				touchesCut := tc.off+tc.len > tc.size/pkg*P || !mappedFirst
				switch {
				case touchesCut && (err == nil || err == io.EOF):
					t.Fatalf("read of a truncated part: %d, %v", n, err)
				case !touchesCut && err == nil:
					if !bytes.Equal(p, pt[tc.off:tc.off+tc.len]) {
						t.Fatal("wrong bytes from the part still mapped")
					}
				case err != nil && err != io.EOF && (n != 0 || !bytes.Equal(p, make([]byte, len(p)))):
					t.Fatalf("error %v with %d bytes / plaintext left in p", err, n)
				}
				if !mappedFirst && !errors.Is(err, dare.ErrAuthentication) {
					t.Errorf("got %v, want dare.ErrAuthentication", err)
				}
				if mappedFirst && tc.fault != errors.Is(err, errMappedFault) {
					t.Errorf("read through a live mapping: %v; want a recovered fault: %v", err, tc.fault)
				}
				if err == nil {
					return
				}
				// The next read sees a truncated part, whatever the first error.
				if _, err := ReadPartAt(oek, 1, d.Reader(1), int64(enc), p, int64(tc.off)); !errors.Is(err, dare.ErrAuthentication) {
					t.Errorf("second read: %v, want dare.ErrAuthentication", err)
				}
			})
		}
	}
}

// TestMappedCorruptByte changes one byte of a part file, before it is
// mapped and under a live mapping (MAP_SHARED sees the write).
func TestMappedCorruptByte(t *testing.T) {
	const P = dare.PackageSize
	for _, before := range []bool{true, false} {
		for _, pos := range []int64{0, 5, dare.HeaderSize, P + dare.Overhead + 3, 2*(P+dare.Overhead) - 1} {
			d, unmaps := openMappedDir(t, 64<<20)
			oek, _, sealed := storePart(t, d, dare.DefaultCipher(), 3, 3*P)
			p := make([]byte, 2*P)
			if !before {
				if _, err := ReadPartAt(oek, 3, d.Reader(3), int64(len(sealed)), make([]byte, 10), 0); err != nil {
					t.Fatal(err)
				}
			}
			f, err := os.OpenFile(d.path(3), os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt([]byte{sealed[pos] ^ 1}, pos); err != nil {
				t.Fatal(err)
			}
			f.Close()
			n, err := ReadPartAt(oek, 3, d.Reader(3), int64(len(sealed)), p, 0)
			if n != 0 || !errors.Is(err, dare.ErrAuthentication) && !errors.Is(err, dare.ErrFormat) {
				t.Errorf("byte %d changed (mapped first %v): %d, %v", pos, !before, n, err)
			}
			if !bytes.Equal(p, make([]byte, len(p))) {
				t.Errorf("byte %d changed: plaintext left in p", pos)
			}
			if n, _, _ := d.maps.stats(); n != 0 || unmaps.Load() != 1 {
				t.Errorf("%d parts mapped, %d unmapped; want the failed mapping dropped", n, unmaps.Load())
			}
		}
	}
}

// TestMapCacheEvictionConcurrent reads many parts from many goroutines
// through a cache that holds only three of them, so mappings are evicted
// while other readers use them. Every read must be right, the cache must
// stay under its cap, and after Close every mapping must be unmapped.
func TestMapCacheEvictionConcurrent(t *testing.T) {
	const parts, size = 12, 4*dare.PackageSize + 1000
	sealedSize := dare.EncryptedSize(size)
	cap := 3 * footprint(make([]byte, sealedSize))
	d, unmaps := openMappedDir(t, cap)
	oeks, pts := make([][]byte, parts), make([][]byte, parts)
	for i := range parts {
		oeks[i], pts[i], _ = storePart(t, d, dare.AES256GCM, PartID(i), size)
	}
	var wg sync.WaitGroup
	var reads atomic.Int64
	stop := time.Now().Add(time.Second)
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			p := make([]byte, 3*dare.PackageSize)
			for time.Now().Before(stop) {
				i := r.IntN(parts)
				off, n := r.IntN(size), 1+r.IntN(len(p))
				got, err := ReadPartAt(oeks[i], PartID(i), d.Reader(PartID(i)), sealedSize, p[:n], int64(off))
				want := pts[i][off:min(off+n, size)]
				if got != len(want) || (err != nil && err != io.EOF) || !bytes.Equal(p[:got], want) {
					t.Errorf("part %d read(%d, %d) = %d, %v", i, off, n, got, err)
					return
				}
				if _, cached, _ := d.maps.stats(); cached > cap {
					t.Errorf("%d bytes mapped, cap %d", cached, cap)
					return
				}
				reads.Add(1)
			}
		})
	}
	wg.Wait()
	if unmaps.Load() == 0 {
		t.Errorf("no mapping was evicted in %d reads", reads.Load())
	}
	d.Close()
	if n, cached, live := d.maps.stats(); n != 0 || cached != 0 || live != 0 {
		t.Errorf("after Close: %d cached (%d bytes), %d not unmapped", n, cached, live)
	}
	t.Logf("%d reads, %d unmaps", reads.Load(), unmaps.Load())
}

// TestMappedRemovedPart: a part unlinked behind the Dir's back still reads
// through its cached mapping; one removed with Dir.Remove while a reader
// holds its mapping reads to the end and is unmapped by that reader, and
// later reads fail as for any missing part.
func TestMappedRemovedPart(t *testing.T) {
	d, unmaps := openMappedDir(t, 64<<20)
	oek, pt, sealed := storePart(t, d, dare.AES256GCM, 5, 2*dare.PackageSize)
	p := make([]byte, 1000)
	read := func() error {
		n, err := ReadPartAt(oek, 5, d.Reader(5), int64(len(sealed)), p, 100)
		if err == nil && (n != len(p) || !bytes.Equal(p, pt[100:1100])) {
			return fmt.Errorf("wrong bytes")
		}
		return err
	}
	if err := read(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(d.path(5)); err != nil {
		t.Fatal(err)
	}
	if err := read(); err != nil {
		t.Fatalf("unlinked part, cached mapping: %v", err)
	}

	oek2, pt2, sealed2 := storePart(t, d, dare.AES256GCM, 6, 2*dare.PackageSize)
	m, err := d.maps.get(6, int64(len(sealed2)), func() ([]byte, error) { return d.mapPart(6, int64(len(sealed2))) })
	if err != nil || m == nil {
		t.Fatalf("mapping part 6: %v", err)
	}
	before := unmaps.Load()
	if err := d.Remove(6); err != nil {
		t.Fatal(err)
	}
	if unmaps.Load() != before {
		t.Fatal("Remove unmapped a mapping in use")
	}
	key := PartKey(oek2, 6)
	if n, err := openSealedAt(key[:], m.data, p, 7); err != nil || !bytes.Equal(p[:n], pt2[7:7+n]) {
		t.Fatalf("reading a removed part through a held mapping: %d, %v", n, err)
	}
	d.maps.release(m)
	if unmaps.Load() != before+1 {
		t.Error("the last reader of a removed part's mapping did not unmap it")
	}
	if _, err := ReadPartAt(oek2, 6, d.Reader(6), int64(len(sealed2)), p, 0); !errors.Is(err, ErrPartNotFound) {
		t.Errorf("read after Remove: %v, want ErrPartNotFound", err)
	}
}

// TestCatchFault checks that a fault on unmapped memory becomes an error,
// other panics pass through, and the goroutine's setting is restored.
func TestCatchFault(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "m")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(1 << 16); err != nil {
		t.Fatal(err)
	}
	b, err := mmapPart(f, 1<<16)
	if err != nil {
		t.Fatal(err)
	}
	defer munmapPart(b)
	if err := f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	debug.SetPanicOnFault(false)
	err = catchFault(func() error {
		var sum byte
		for _, c := range b {
			sum += c
		}
		return fmt.Errorf("read a truncated mapping (sum %d)", sum)
	})
	if !errors.Is(err, errMappedFault) {
		t.Errorf("fault: %v", err)
	}
	if debug.SetPanicOnFault(false) {
		t.Error("SetPanicOnFault left on")
	}
	defer func() {
		if r := recover(); r != "boom" {
			t.Errorf("recovered %v, want the original panic", r)
		}
	}()
	catchFault(func() error { panic("boom") })
}

// TestMapSupportedHere reports (not asserts) whether the test machine's
// temporary directory gets mappings, so a run on an unlisted filesystem is
// visible in -v output.
func TestMapSupportedHere(t *testing.T) {
	dir := t.TempDir()
	t.Logf("mapSupported(%s) = %v", dir, mapSupported(dir))
	if mapSupported("/nonexistent/dir") {
		t.Error("a missing directory counts as mappable")
	}
}

// TestMappedColdPartUsesPread: a read needing pages that are not in the
// page cache goes through pread (and its read-ahead); once they are
// cached, the next read of them goes through the mapping.
func TestMappedColdPartUsesPread(t *testing.T) {
	d, _ := openMappedDir(t, 64<<20)
	oek, pt, sealed := storePart(t, d, dare.AES256GCM, 1, 2<<20)
	if err := d.Sync(1); err != nil { // clean pages can be dropped
		t.Fatal(err)
	}
	f, err := os.Open(d.path(1))
	if err != nil {
		t.Fatal(err)
	}
	err = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	key := PartKey(oek, 1)
	p := make([]byte, 4096)
	const off = 5*dare.PackageSize + 100
	if _, mapped, _ := d.readMapped(1, key[:], int64(len(sealed)), p, off); mapped {
		t.Skip("the page cache kept the part (tmpfs?); nothing to test")
	}
	if n, err := ReadPartAt(oek, 1, d.Reader(1), int64(len(sealed)), p, off); n != len(p) || err != nil || !bytes.Equal(p, pt[off:off+len(p)]) {
		t.Fatalf("cold read: %d, %v", n, err)
	}
	clear(p)
	n, mapped, err := d.readMapped(1, key[:], int64(len(sealed)), p, off)
	if !mapped || n != len(p) || err != nil || !bytes.Equal(p, pt[off:off+len(p)]) {
		t.Fatalf("read after pread cached the pages: mapped %v, %d, %v", mapped, n, err)
	}
}
