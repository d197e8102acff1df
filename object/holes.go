package object

import (
	"sort"
	"sync"
)

// Where a file holds data, for SEEK_DATA/SEEK_HOLE and st_blocks: the
// bytes its runs map and the bytes its write buffers hold (a filled
// buffer's whole chunk, a sparse one's written range). Anything else is a
// hole, and reads as zeros.

// bufferedChunks returns the chunks with a write buffer, in order.
// Callers hold f.mu.
func (f *File) bufferedChunks() []ChunkIndex {
	cs := make([]ChunkIndex, 0, len(f.dirty)+len(f.inflight))
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

// chunkData returns the data of buffered chunk c as sorted, disjoint file
// ranges: its runs and its buffers' ranges, within the size. Callers hold
// f.mu.
func (f *File) chunkData(c ChunkIndex) [][2]int64 {
	start := c.Start()
	end := min(start+ChunkSize, f.size)
	var rs [][2]int64
	for i := firstRunAfter(f.runs, start); i < len(f.runs) && f.runs[i].Off < end; i++ {
		rs = append(rs, [2]int64{max(f.runs[i].Off, start), min(f.runs[i].End(), end)})
	}
	for _, d := range f.layers(c, true) {
		switch {
		case d.filled:
			rs = append(rs, [2]int64{start, end})
		case d.lo < d.hi:
			rs = append(rs, [2]int64{start + d.lo, min(start+d.hi, end)})
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i][0] < rs[j][0] })
	out := rs[:0]
	for _, r := range rs {
		if r[0] >= r[1] {
			continue
		}
		if k := len(out) - 1; k >= 0 && r[0] <= out[k][1] {
			out[k][1] = max(out[k][1], r[1])
			continue
		}
		out = append(out, r)
	}
	return out
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
	// dataAt returns whether pos is data and where that data, or the hole
	// around pos, ends.
	dataAt := func(pos int64) (bool, int64) {
		next := f.size
		if k := sort.Search(len(bufs), func(k int) bool { return int64(bufs[k]+1)*ChunkSize > pos }); k < len(bufs) {
			start := int64(bufs[k]) * ChunkSize
			if start <= pos { // a buffered chunk: its ranges say it all
				next = min(next, start+ChunkSize)
				for _, r := range f.chunkData(bufs[k]) {
					if r[0] <= pos && pos < r[1] {
						return true, r[1]
					}
					if r[0] > pos {
						return false, r[0]
					}
				}
				return false, next
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

// storedBytes returns how many bytes of the file are data, for st_blocks.
// Callers hold f.mu.
func (f *File) storedBytes() int64 {
	var n int64
	for _, r := range f.runs {
		n += r.Len
	}
	for _, c := range f.bufferedChunks() {
		start := c.Start()
		end := min(start+ChunkSize, f.size)
		for i := firstRunAfter(f.runs, start); i < len(f.runs) && f.runs[i].Off < end; i++ {
			if r, ok := clip(f.runs[i], start, end); ok {
				n -= r.Len // counted again with the chunk's data
			}
		}
		for _, r := range f.chunkData(c) {
			n += r[1] - r[0]
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
