package object

import "sort"

// ChunkSize is the plaintext size of one DARE package, the unit of every
// read-merge-encrypt: a partial overwrite costs at most one chunk per edge.
const ChunkSize = 1 << 16

// chunkOf returns the chunk index holding byte off.
func chunkOf(off int64) uint64 { return uint64(off / ChunkSize) }

// chunksFor returns how many chunks a file of size bytes spans.
func chunksFor(size int64) uint64 { return uint64((size + ChunkSize - 1) / ChunkSize) }

// findRun returns the index of the run containing chunk c, or -1.
func findRun(runs []Run, c uint64) int {
	i := sort.Search(len(runs), func(i int) bool { return runs[i].End() > c })
	if i < len(runs) && runs[i].Chunk <= c {
		return i
	}
	return -1
}

// clip returns the part of r inside chunks [from, to), or ok=false if none.
func clip(r Run, from, to uint64) (Run, bool) {
	lo, hi := max(r.Chunk, from), min(r.End(), to)
	if lo >= hi {
		return Run{}, false
	}
	r.PartChunk += uint32(lo - r.Chunk)
	r.Count = uint32(hi - lo)
	r.Chunk = lo
	return r, true
}

// overlay returns runs with nr written over whatever it covers. The input is
// sorted and non-overlapping, and so is the result; runs is not modified.
func overlay(runs []Run, nr Run) []Run {
	out := make([]Run, 0, len(runs)+2)
	inserted := false
	for _, r := range runs {
		if r.End() <= nr.Chunk {
			out = append(out, r)
			continue
		}
		if before, ok := clip(r, 0, nr.Chunk); ok {
			out = append(out, before)
		}
		if !inserted && r.Chunk >= nr.Chunk || r.End() > nr.End() {
			if !inserted {
				out = append(out, nr)
				inserted = true
			}
		}
		if after, ok := clip(r, nr.End(), ^uint64(0)); ok {
			out = append(out, after)
		}
	}
	if !inserted {
		out = append(out, nr)
	}
	return out
}

// truncateRuns drops every chunk at or after n.
func truncateRuns(runs []Run, n uint64) []Run {
	out := make([]Run, 0, len(runs))
	for _, r := range runs {
		if c, ok := clip(r, 0, n); ok {
			out = append(out, c)
		}
	}
	return out
}

// partsOf returns the set of part ids the runs reference.
func partsOf(runs []Run) map[uint64]bool {
	m := make(map[uint64]bool, len(runs))
	for _, r := range runs {
		m[r.Part] = true
	}
	return m
}
