package object

import (
	"errors"
	"sort"

	"github.com/ssefs/ssefs/chunkstore"
)

// ChunkSize is the plaintext size of one DARE package and of a write
// buffer: a read decrypts whole packages, a write buffers whole chunks.
const ChunkSize = 1 << 16

// ChunkIndex numbers the chunks of a file: chunk c holds the file bytes
// from c.Start() up to the next chunk's start. Write buffers and the spill
// pipeline are keyed by it.
type ChunkIndex uint64

// Start is the file offset of the chunk's first byte.
func (c ChunkIndex) Start() int64 { return int64(c) * ChunkSize }

// chunkOf returns the chunk index holding byte off.
func chunkOf(off int64) ChunkIndex { return ChunkIndex(off / ChunkSize) }

// chunksFor returns how many chunks a file of size bytes spans, which is
// also the index of the first chunk past its end.
func chunksFor(size int64) ChunkIndex { return ChunkIndex((size + ChunkSize - 1) / ChunkSize) }

// errBadRuns reports a run list that is not sorted, overlaps itself or
// points outside its part.
var errBadRuns = errors.New("malformed run list")

// checkRuns validates a decoded run list, so no reader ever indexes a part
// outside its plaintext.
func checkRuns(runs []Run) error {
	var end int64
	for _, r := range runs {
		if r.Off < end || r.Len <= 0 || r.PartOff < 0 || r.PartOff+r.Len > r.PartLen {
			return errBadRuns
		}
		end = r.End()
	}
	return nil
}

// firstRunAfter returns the index of the first run that ends after off.
func firstRunAfter(runs []Run, off int64) int {
	return sort.Search(len(runs), func(i int) bool { return runs[i].End() > off })
}

// clip returns the part of r inside [from, to), or ok=false if none.
func clip(r Run, from, to int64) (Run, bool) {
	lo, hi := max(r.Off, from), min(r.End(), to)
	if lo >= hi {
		return Run{}, false
	}
	r.PartOff += lo - r.Off
	r.Len = hi - lo
	r.Off = lo
	return r, true
}

// overlay returns runs with each of nrs written over whatever it covers.
// runs and nrs are sorted and non-overlapping, and so is the result; runs
// is not modified. It costs one pass over runs however many nrs there are,
// which keeps installing a batch of random-write patches cheap.
func overlay(runs []Run, nrs ...Run) []Run {
	out := make([]Run, 0, len(runs)+2*len(nrs)+1)
	i := 0
	var carry Run // the tail of a run split by the previous nr
	hasCarry := false
	for _, nr := range nrs {
		if !hasCarry {
			j := i + firstRunAfter(runs[i:], nr.Off)
			out = append(out, runs[i:j]...)
			i = j
		}
		for {
			var r Run
			if hasCarry {
				r, hasCarry = carry, false
			} else if i < len(runs) {
				r = runs[i]
				i++
			} else {
				break
			}
			if r.End() <= nr.Off {
				out = append(out, r)
				continue
			}
			if r.Off >= nr.End() {
				carry, hasCarry = r, true
				break
			}
			if before, ok := clip(r, r.Off, nr.Off); ok {
				out = append(out, before)
			}
			if after, ok := clip(r, nr.End(), r.End()); ok {
				carry, hasCarry = after, true
				break
			}
		}
		out = append(out, nr)
	}
	if hasCarry {
		out = append(out, carry)
	}
	return append(out, runs[i:]...)
}

// truncateRuns drops every byte at or after size.
func truncateRuns(runs []Run, size int64) []Run {
	i := firstRunAfter(runs, size)
	out := append([]Run(nil), runs[:i]...)
	if i < len(runs) {
		if c, ok := clip(runs[i], 0, size); ok {
			out = append(out, c)
		}
	}
	return out
}

// runsWithin counts the runs that map some byte of [from, to).
func runsWithin(runs []Run, from, to int64) int {
	n := 0
	for i := firstRunAfter(runs, from); i < len(runs) && runs[i].Off < to; i++ {
		n++
	}
	return n
}

// partsOf returns the set of part ids the runs reference.
func partsOf(runs []Run) map[chunkstore.PartID]bool {
	m := make(map[chunkstore.PartID]bool, len(runs))
	for _, r := range runs {
		m[r.Part] = true
	}
	return m
}
