package chunkstore

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/ssefs/ssefs/dare"
)

// Reading parts through read-only mappings: the AEAD decrypts straight out
// of the page cache instead of out of a pread copy of it. What that saves
// depends on the machine; see docs/ARCHITECTURE.md, "Reading parts through
// mappings", for what it measured here and why object does not use it.

// mapCacheBytes bounds the bytes a Dir keeps mapped (about 16 parts of
// 4 MiB). Pages read through a mapping count towards the daemon's RSS until
// it is unmapped, and the daemon promises a peak RSS of at most 200 MiB.
const mapCacheBytes = 64 << 20

// mapIdleEvict is how long a mapping must go unused before a new one may
// evict it (mapCache). Under random reads a cached part is read every few
// ms, so the cache holds still; a sequential scan leaves each part within
// a few ms, so its parts become evictable soon after.
const mapIdleEvict = 50 * time.Millisecond

// minMapSize is the smallest part read through a mapping. Below one package
// a pread copies so little that mmap, the page faults and the munmap of a
// cache miss cost as much; it also bounds the mappings (VMAs) a Dir holds
// to mapCacheBytes/minMapSize, far below the kernel's vm.max_map_count.
const minMapSize = dare.PackageSize + dare.Overhead

// sealedLender is implemented by part readers that can decrypt straight
// from the part's bytes in place (Dir.Reader). ReadPartAt looks for it so
// that callers keep passing a plain io.ReaderAt.
type sealedLender interface {
	// readMapped decrypts like dare.DecryptAt; ok=false means the part
	// cannot be read this way and the caller must use ReadAt.
	readMapped(key []byte, encSize int64, p []byte, off int64) (n int, ok bool, err error)
}

func (r partReader) readMapped(key []byte, encSize int64, p []byte, off int64) (int, bool, error) {
	return r.d.readMapped(r.id, key, encSize, p, off)
}

// readMapped decrypts plaintext [off, off+len(p)) of part id from its
// mapping, mapping the file if needed. A file shorter than encSize is a
// truncated part (dare.ErrAuthentication); a fault while reading is an
// error too. A failed read drops the mapping.
func (d *Dir) readMapped(id PartID, key []byte, encSize int64, p []byte, off int64) (int, bool, error) {
	if d.maps == nil || encSize < minMapSize || encSize > d.maps.max {
		return 0, false, nil
	}
	m, err := d.maps.get(id, encSize, func() ([]byte, error) { return d.mapPart(id, encSize) })
	if err != nil {
		return 0, true, err
	}
	if m == nil {
		return 0, false, nil
	}
	defer d.maps.release(m)
	var n int
	err = catchFault(func() error {
		if err := m.populate(off, int64(len(p))); err != nil {
			return err
		}
		var err error
		n, err = openSealedAt(key, m.data, p, off)
		return err
	})
	if err == errNotResident {
		return 0, false, nil
	}
	if err != nil && err != io.EOF {
		// The file may have been cut or damaged since it was mapped: map
		// it afresh next time, which checks its size again.
		d.maps.drop(m)
	}
	if errors.Is(err, errMappedFault) {
		clear(p)
		return 0, true, fmt.Errorf("part %v: %w", id, err)
	}
	return n, true, err
}

// mapPart maps the first encSize bytes of part id's file. It returns nil
// data and no error when the part is better read with pread (which then
// reports a missing file, or maps nothing when mmap fails, say for lack
// of address space), and an error only for a file too short to hold the
// part: a truncated part.
func (d *Dir) mapPart(id PartID, encSize int64) ([]byte, error) {
	e, err := d.fds.get(id, func() (*os.File, error) { return os.Open(d.path(id)) })
	if err != nil {
		return nil, nil
	}
	defer d.fds.release(e)
	st, err := e.f.Stat()
	if err != nil {
		return nil, nil
	}
	if st.Size() < encSize {
		return nil, fmt.Errorf("%w: part %v: file holds %d of %d sealed bytes (truncated)",
			dare.ErrAuthentication, id, st.Size(), encSize)
	}
	data, err := mmapPart(e.f, encSize)
	if err != nil {
		return nil, nil
	}
	return data, nil
}

// populate makes sure the pages a read of plaintext [off, off+n) will touch
// (package 0's header and the packages holding the range) are mapped,
// asking the kernel for the ones not yet populated through this mapping
// in one madvise(MADV_POPULATE_READ): touching them instead would take a
// page fault per 16 pages, each far dearer than the syscall on a VM. Pages
// that are not in the page cache are left alone (errNotResident): the read
// then takes the pread path, whose sequential read-ahead serves a cold
// scan better than mmap's read-around, and a fault on a page still on disk
// would stall the thread without the Go scheduler noticing. Pages the file
// no longer has are an errMappedFault, as a fault would be.
func (m *mapping) populate(off, n int64) error {
	start, end, ok := sealedSpan(int64(len(m.data)), off, n)
	if !ok {
		return nil // openSealedAt fails without touching the mapping
	}
	if err := m.populatePages(0, 0); err != nil {
		return err
	}
	return m.populatePages(start/pageSize, (end-1)/pageSize)
}

// errNotResident reports a read that needs pages not in the page cache.
var errNotResident = errors.New("chunkstore: part pages not in the page cache")

// populateUnsupported is set when the kernel refuses MADV_POPULATE_READ
// (before Linux 5.14): pages are then faulted in by the reads themselves.
var populateUnsupported atomic.Bool

// populatePages populates pages [first, last] unless all are known to be.
func (m *mapping) populatePages(first, last int64) error {
	all := true
	for pg := first; pg <= last && all; pg++ {
		all = m.resident[pg/64].Load()&(1<<(pg%64)) != 0
	}
	if all {
		return nil
	}
	b := m.data[first*pageSize : min((last+1)*pageSize, int64(len(m.data)))]
	if in, err := inPageCache(b); err != nil || !in {
		return errNotResident // on error, too: pread will tell what is wrong
	}
	if populateUnsupported.Load() {
		return nil // the reads fault the pages in
	}
	switch err := madvisePopulate(b); {
	case errors.Is(err, errPopulateUnsupported):
		populateUnsupported.Store(true)
		return nil
	case err != nil:
		return fmt.Errorf("%w: populating pages %d-%d: %w", errMappedFault, first, last, err)
	}
	for pg := first; pg <= last; pg++ {
		m.resident[pg/64].Or(1 << (pg % 64))
	}
	return nil
}

// sealedSpan is the byte range [start, end) of a stream of encSize bytes
// that a read of n plaintext bytes at off authenticates (the packages
// dare.DecryptAt would read), or ok=false when the read touches nothing.
func sealedSpan(encSize, off, n int64) (start, end int64, ok bool) {
	plain, err := dare.DecryptedSize(encSize)
	if err != nil || n <= 0 || plain == 0 || off < 0 {
		return 0, 0, false
	}
	last := (plain - 1) / dare.PackageSize
	first := last
	if off < plain {
		first = off / dare.PackageSize
		last = (min(off+n, plain) - 1) / dare.PackageSize
	}
	return first * encPackageLen, min((last+1)*encPackageLen, encSize), true
}
