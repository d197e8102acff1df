package object

// A chunk's current content is its stored runs with write buffers laid
// over them: the buffers of batches being sealed (f.inflight, oldest
// first), then the dirty buffer (f.dirty). A buffer is either filled — it
// holds the chunk's whole content as of its last write — or sparse: only
// its written range [lo, hi) means anything. Random writes stay sparse, so
// a 4 KiB write neither decrypts the chunk under it nor re-encrypts it.

// dirtyChunk is one write buffer of a chunk and the range [lo, hi) written
// since the chunk was last stored (chunk-relative; empty when lo >= hi).
type dirtyChunk struct {
	buf    []byte
	lo, hi int64
	filled bool
}

// covers reports whether the written range holds all of [from, to).
func (d *dirtyChunk) covers(from, to int64) bool { return d.lo <= from && to <= d.hi }

// touches reports whether [from, to) overlaps or abuts the written range,
// so that their union is one range.
func (d *dirtyChunk) touches(from, to int64) bool {
	return d.lo >= d.hi || (from <= d.hi && to >= d.lo)
}

// layers returns the buffers over chunk c, oldest first; dirty selects
// whether the dirty buffer is included. Callers hold f.mu.
func (f *File) layers(c ChunkIndex, dirty bool) []*dirtyChunk {
	ls := f.inflight[c]
	if d, ok := f.dirty[c]; ok && dirty {
		return append(ls[:len(ls):len(ls)], d)
	}
	return ls
}

// buffered reports whether chunk c has any write buffer over its runs.
// Callers hold f.mu.
func (f *File) buffered(c ChunkIndex) bool {
	if _, ok := f.dirty[c]; ok {
		return true
	}
	return len(f.inflight[c]) > 0
}

// readLayered fills dst with chunk c's content from chunk offset within,
// merging ls (oldest first) over the stored runs.
func (f *File) readLayered(dst []byte, c ChunkIndex, within int64, ls []*dirtyChunk) error {
	to := within + int64(len(dst))
	if n := len(ls); n > 0 && !ls[n-1].filled && ls[n-1].covers(within, to) {
		copy(dst, ls[n-1].buf[within:to]) // the common case of reading back a write
		return nil
	}
	k := len(ls) - 1
	for k >= 0 && !ls[k].filled {
		k--
	}
	if k >= 0 {
		copy(dst, ls[k].buf[within:to])
	} else if err := f.readStored(dst, c.Start()+within); err != nil {
		return err
	}
	for _, d := range ls[k+1:] {
		if lo, hi := max(d.lo, within), min(d.hi, to); lo < hi {
			copy(dst[lo-within:], d.buf[lo:hi])
		}
	}
	return nil
}

// fill makes d, the dirty buffer of chunk c, a filled one: the content
// under it is read around its written range. Callers hold f.mu.
func (f *File) fill(c ChunkIndex, d *dirtyChunk) error {
	if d.filled {
		return nil
	}
	b := getChunk()
	valid := max(0, min(ChunkSize, f.size-c.Start()))
	if err := f.readLayered(b[:valid], c, 0, f.layers(c, false)); err != nil {
		putChunk(b)
		return err
	}
	if d.lo < d.hi {
		copy(b[d.lo:d.hi], d.buf[d.lo:d.hi])
	}
	putChunk(d.buf)
	d.buf, d.filled = b, true
	return nil
}

// collapse merges every buffer of chunk c (those of failed batches and the
// dirty one) into one filled dirty buffer whose written range covers them
// all, so nothing a failed spill held is lost and the next spill stores it.
// Callers hold f.mu.
func (f *File) collapse(c ChunkIndex) error {
	ls := f.layers(c, true)
	if len(ls) == 0 {
		return nil
	}
	merged := &dirtyChunk{buf: getChunk(), lo: ChunkSize, filled: true}
	valid := max(0, min(ChunkSize, f.size-c.Start()))
	err := f.readLayered(merged.buf[:valid], c, 0, ls)
	if err != nil {
		// Keep the newest buffer as it is: only the older failed ones are
		// lost, and the error reaches the caller through spillErr.
		putChunk(merged.buf)
		merged = ls[len(ls)-1]
		ls = ls[:len(ls)-1]
	} else {
		for _, d := range ls {
			if d.filled {
				merged.lo, merged.hi = min(merged.lo, 0), max(merged.hi, valid)
			} else if d.lo < d.hi {
				merged.lo, merged.hi = min(merged.lo, d.lo), max(merged.hi, d.hi)
			}
		}
		merged.hi = min(merged.hi, valid)
	}
	for _, d := range ls {
		putChunk(d.buf)
	}
	delete(f.inflight, c)
	if valid > 0 {
		f.dirty[c] = merged
	} else {
		delete(f.dirty, c)
		putChunk(merged.buf)
	}
	return err
}
