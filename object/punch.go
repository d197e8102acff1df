package object

import "time"

// Punching holes and zeroing ranges (fallocate PUNCH_HOLE and ZERO_RANGE).
// A zeroed range maps nothing: its runs are cut out at the byte, so the
// parts that only it used belong to no new version and are freed as any
// unreferenced part is (at commit for parts spilled since the last one,
// by versions purge and gc for committed ones). Write buffers over the
// range are dropped or cleared, so the change is the open file's like a
// write and is committed as a version at close or fsync.

// Zero makes the bytes [off, off+n) of f read as zeros and store nothing.
// Bytes past the end of the file are left alone unless extend is set, in
// which case the file grows to off+n (ZERO_RANGE without KEEP_SIZE).
func (f *File) Zero(off, n int64, extend bool) error {
	if off < 0 || n <= 0 || off > maxFileSize-n {
		return ErrInvalid
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drainLocked()
	if err := f.refreshKeyLocked(); err != nil {
		return err
	}
	end := off + n
	if zend := min(end, f.size); off < zend {
		for c := chunkOf(off); c <= chunkOf(zend-1); c++ {
			if err := f.zeroBuffered(c, off, zend); err != nil {
				return err
			}
		}
		f.setRuns(punchRuns(f.runs, off, zend))
	}
	if extend && end > f.size {
		f.size = end // the new bytes map nothing: a hole, as after a truncate up
	}
	f.mtime = time.Now().UnixNano()
	f.modified = true
	return nil
}

// maxFileSize bounds off+n of a zeroed range, as the kernel's s_maxbytes
// bounds it (it never lets a larger one through).
const maxFileSize = 1<<63 - 1

// zeroBuffered zeroes the file bytes [from, to) that chunk c's write
// buffer holds. A buffer left with nothing written goes. Callers hold f.mu
// and have drained the sealer.
func (f *File) zeroBuffered(c ChunkIndex, from, to int64) error {
	if len(f.inflight[c]) > 0 {
		// Nothing is in flight after a drain unless a spill failed and
		// its buffers were kept: merge them into one dirty buffer first.
		if err := f.collapse(c); err != nil {
			return err
		}
	}
	d, ok := f.dirty[c]
	if !ok {
		return nil
	}
	start := c.Start()
	lo, hi := max(from, start)-start, min(to, start+ChunkSize)-start
	if lo == 0 && start+hi >= min(start+ChunkSize, f.size) {
		putChunk(d.buf) // every valid byte of the chunk is zeroed
		delete(f.dirty, c)
		return nil
	}
	if d.filled {
		// Outside its written range a filled buffer holds what the runs
		// map, which the caller cuts: cleared alike, they stay equal.
		clear(d.buf[lo:hi])
		return nil
	}
	wlo, whi := max(lo, d.lo), min(hi, d.hi)
	if wlo >= whi {
		return nil // the written range is elsewhere in the chunk
	}
	clear(d.buf[wlo:whi])
	switch {
	case lo <= d.lo && hi >= d.hi:
		putChunk(d.buf)
		delete(f.dirty, c)
	case lo <= d.lo:
		d.lo = hi
	case hi >= d.hi:
		d.hi = lo
	}
	// Zeroed inside the written range: the zeros are stored as written.
	return nil
}

// punchRuns returns runs without any byte of [from, to); runs is not
// modified.
func punchRuns(runs []Run, from, to int64) []Run {
	i := firstRunAfter(runs, from)
	out := append(make([]Run, 0, len(runs)+1), runs[:i]...)
	for ; i < len(runs) && runs[i].Off < to; i++ {
		if r, ok := clip(runs[i], runs[i].Off, from); ok {
			out = append(out, r)
		}
		if r, ok := clip(runs[i], to, runs[i].End()); ok {
			out = append(out, r)
		}
	}
	return append(out, runs[i:]...)
}
