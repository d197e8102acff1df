package object

import (
	"sort"
	"sync"
)

// Where a file holds data, for SEEK_DATA/SEEK_HOLE and st_blocks: the
// bytes its runs map, and every chunk with a write buffer over it (at
// chunk granularity: a buffer's bytes are data until they are stored).
// Anything else is a hole, and reads as zeros.

// bufferedChunks returns the chunks with a write buffer, in order.
// Callers hold f.mu.
func (f *File) bufferedChunks() []uint64 {
	cs := make([]uint64, 0, len(f.dirty)+len(f.inflight))
	for c := range f.dirty {
		cs = append(cs, c)
	}
	for c, ls := range f.inflight {
		if _, ok := f.dirty[c]; !ok && len(ls) > 0 {
			cs = append(cs, c)
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i] < cs[j] })
	return cs
}

// SeekData answers lseek(2)'s SEEK_DATA (hole false) and SEEK_HOLE (hole
// true) from off: the first byte at or after off that is data, or that is
// in a hole (the end of the file counts as one). ok is false when there is
// no such byte, or off is at or past the end (ENXIO).
func (f *File) SeekData(off int64, hole bool) (pos int64, ok bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if off < 0 || off >= f.size {
		return 0, false
	}
	bufs := f.bufferedChunks()
	// dataAt returns whether pos is data and where that data (or the hole
	// around pos) ends or the next data starts.
	dataAt := func(pos int64) (bool, int64) {
		next := f.size
		if k := sort.Search(len(bufs), func(k int) bool { return int64(bufs[k]+1)*ChunkSize > pos }); k < len(bufs) {
			start := int64(bufs[k]) * ChunkSize
			if start <= pos {
				return true, start + ChunkSize
			}
			next = min(next, start)
		}
		if i := firstRunAfter(f.runs, pos); i < len(f.runs) {
			r := f.runs[i]
			if r.Off <= pos {
				return true, r.End()
			}
			next = min(next, r.Off)
		}
		return false, next
	}
	pos = off
	for pos < f.size {
		data, to := dataAt(pos)
		if data != hole {
			return pos, true
		}
		pos = to
	}
	if hole {
		return f.size, true
	}
	return 0, false
}

// storedBytes returns how many bytes of the file map stored or buffered
// data, for st_blocks: the bytes its runs map, and whole buffered chunks
// (within the size). Callers hold f.mu.
func (f *File) storedBytes() int64 {
	var n int64
	for _, r := range f.runs {
		n += r.Len
	}
	for _, c := range f.bufferedChunks() {
		start := int64(c) * ChunkSize
		end := min(start+ChunkSize, f.size)
		if start >= end {
			continue
		}
		n += end - start
		for i := firstRunAfter(f.runs, start); i < len(f.runs) && f.runs[i].Off < end; i++ {
			if r, ok := clip(f.runs[i], start, end); ok {
				n -= r.Len // counted with the runs already
			}
		}
	}
	return n
}

// storedCache remembers the mapped bytes of versions (immutable, so keyed
// by object and version id), so a stat loads and authenticates a
// version's record once, not every time.
type storedCache struct {
	mu sync.Mutex
	m  map[storedKey]int64
}

type storedKey struct {
	ino Ino
	v   uint64
}

// maxStoredCache bounds the cache; past it, it starts over.
const maxStoredCache = 100_000

func (c *storedCache) get(k storedKey) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.m[k]
	return n, ok
}

func (c *storedCache) set(k storedKey, n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxStoredCache {
		c.m = map[storedKey]int64{}
	}
	c.m[k] = n
}

// StoredBytes returns how many bytes of n's content the store holds or an
// open file buffers, for st_blocks: a sparse file counts its data, not
// its size. It is taken from the authenticated current version; when that
// cannot be read (its key is absent or sealed, or the record fails
// authentication, which opening the file reports), it is the size, as an
// upper bound, so that stat never fails on content it does not return.
// Objects other than regular files count their size.
func (l *Layer) StoredBytes(n *Inode) int64 {
	if !isReg(n.Mode) {
		return n.Size
	}
	if f := l.openState(n.Ino); f != nil {
		f.mu.RLock()
		defer f.mu.RUnlock()
		return f.storedBytes()
	}
	if n.Version == 0 {
		return 0
	}
	k := storedKey{n.Ino, n.Version}
	if b, ok := l.stored.get(k); ok {
		return b
	}
	oek, err := l.objectKey(n)
	if err != nil {
		return n.Size
	}
	v, err := l.loadVersion(n, n.Version, oek)
	if err != nil || v.Deleted() {
		return n.Size
	}
	var b int64
	for _, r := range v.Runs {
		b += r.Len
	}
	l.stored.set(k, b)
	return b
}
