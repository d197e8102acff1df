package object

import (
	"fmt"
	"sort"
	"sync"

	"github.com/ssefs/ssefs/chunkstore"
	"github.com/ssefs/ssefs/dare"
	"github.com/ssefs/ssefs/keyring"
)

// maxQueued bounds the batches waiting to be sealed: a writer that gets
// further ahead waits, which bounds memory at about (maxQueued+1)·maxDirty.
const maxQueued = 2

// sealPool recycles the buffers of sealed parts once they are written to a
// part file, so sealing 4 MiB parts does not allocate (and clear) 4 MiB each.
var sealPool = sync.Pool{New: func() any { b := make([]byte, 0, partChunks*(ChunkSize+dare.Overhead)); return &b }}

// plainPool recycles the plaintext staging buffer of a part.
var plainPool = sync.Pool{New: func() any { b := make([]byte, 0, partChunks*ChunkSize); return &b }}

// spillBatch is up to partChunks dirty chunks taken out of the write buffer
// to be sealed into one part.
type spillBatch struct {
	chunks []uint64
	bufs   [][]byte
	size   int64 // file size when taken: bounds the last chunk's valid bytes
	inline bool
	oek    keyring.ObjectKey // the key when taken: seal runs without f.mu

	id     uint64
	sealed []byte
	err    error
}

// buffered returns the plaintext of chunk c held in memory: a dirty buffer,
// or one being sealed. Callers hold f.mu.
func (f *File) buffered(c uint64) ([]byte, bool) {
	if b, ok := f.dirty[c]; ok {
		return b, true
	}
	b, ok := f.inflight[c]
	return b, ok
}

func (f *File) condVar() *sync.Cond {
	if f.cond == nil {
		f.cond = sync.NewCond(&f.mu)
	}
	return f.cond
}

// takeBatches moves every dirty chunk into batches of up to partChunks
// chunks, in chunk order. Chunks need not be contiguous: a part's packages
// map to file chunks through one run per contiguous group, so random
// writes cost one part file per 4 MiB of dirty data, not one per chunk.
func (f *File) takeBatches(inline bool) []*spillBatch {
	chunks := make([]uint64, 0, len(f.dirty))
	for c := range f.dirty {
		chunks = append(chunks, c)
	}
	sort.Slice(chunks, func(i, j int) bool { return chunks[i] < chunks[j] })
	var out []*spillBatch
	for len(chunks) > 0 {
		n := min(len(chunks), partChunks)
		b := &spillBatch{chunks: chunks[:n:n], size: f.size, inline: inline, oek: f.oek}
		for _, c := range b.chunks {
			b.bufs = append(b.bufs, f.dirty[c])
			delete(f.dirty, c)
		}
		out = append(out, b)
		chunks = chunks[n:]
	}
	return out
}

// seal encrypts a batch into a part and, unless it goes inline, writes the
// part file. It runs without f.mu: the batch's buffers are no longer
// written to.
func (f *File) seal(b *spillBatch) {
	defer b.oek.Zero()
	pbuf := plainPool.Get().(*[]byte)
	defer plainPool.Put(pbuf)
	plain := (*pbuf)[:0]
	for i, c := range b.chunks {
		valid := min(ChunkSize, b.size-int64(c)*ChunkSize)
		plain = append(plain, b.bufs[i][:valid]...)
	}
	if b.id, b.err = f.l.nextPart(); b.err != nil {
		return
	}
	var buf *[]byte
	if !b.inline { // inline parts stay referenced: they get their own memory
		buf = sealPool.Get().(*[]byte)
		defer sealPool.Put(buf)
	}
	var dst []byte
	if buf != nil {
		dst = *buf
	}
	b.sealed, b.err = chunkstore.SealPartTo(dst, f.l.cipher, b.oek[:], chunkstore.PartID(b.id), plain)
	if b.err != nil {
		b.err = fmt.Errorf("object %d: sealing part: %w", f.ino, b.err)
		return
	}
	if !b.inline {
		if err := f.l.st.Parts.Write(chunkstore.PartID(b.id), b.sealed); err != nil {
			b.err = fmt.Errorf("object %d: %w", f.ino, err)
		}
		b.sealed = nil
	}
}

// install maps a sealed batch into the extents, under f.mu. A failed batch
// gives its buffers back to the write buffer (unless newer writes replaced
// them), so an error such as a full disk loses nothing still in memory.
func (f *File) install(b *spillBatch) {
	for i, c := range b.chunks {
		if cur, ok := f.inflight[c]; ok && &cur[0] == &b.bufs[i][0] {
			delete(f.inflight, c)
		}
	}
	if b.err != nil {
		for i, c := range b.chunks {
			if _, newer := f.dirty[c]; !newer && int64(c)*ChunkSize < f.size {
				f.dirty[c] = b.bufs[i]
			} else {
				putChunk(b.bufs[i])
			}
		}
		if f.spillErr == nil {
			f.spillErr = b.err
		}
		return
	}
	if b.inline {
		if f.pendingInline == nil {
			f.pendingInline = map[uint64]bool{}
		}
		f.inline[b.id] = b.sealed
		f.pendingInline[b.id] = true
	} else {
		f.pending = append(f.pending, b.id)
	}
	plainLen := int64(0)
	for _, c := range b.chunks {
		plainLen += min(ChunkSize, b.size-int64(c)*ChunkSize)
	}
	keep := chunksFor(f.size) // a truncate since the batch was taken cut these off
	for i := 0; i < len(b.chunks); {
		j := i + 1
		for j < len(b.chunks) && b.chunks[j] == b.chunks[j-1]+1 {
			j++
		}
		r := Run{Chunk: b.chunks[i], Count: uint32(j - i), Part: b.id, PartChunk: uint32(i), PartLen: plainLen, Inline: b.inline}
		if r, ok := clip(r, 0, keep); ok {
			f.runs = overlay(f.runs, r)
		}
		i = j
	}
	for _, buf := range b.bufs {
		putChunk(buf)
	}
}

// spillAsync hands the dirty chunks to the background sealer. It waits
// while the sealer is maxQueued batches behind. Callers hold f.mu.
func (f *File) spillAsync() {
	cond := f.condVar()
	for len(f.queue) >= maxQueued {
		cond.Wait()
	}
	batches := f.takeBatches(false)
	if f.inflight == nil {
		f.inflight = map[uint64][]byte{}
	}
	for _, b := range batches {
		for i, c := range b.chunks {
			f.inflight[c] = b.bufs[i]
		}
	}
	f.queue = append(f.queue, batches...)
	if !f.sealing {
		f.sealing = true
		go f.sealer()
	}
}

// sealer seals queued batches in order, one at a time (each one uses every
// core through dare's parallel encryption), and installs them in order, so
// a newer batch of a chunk never loses to an older one.
func (f *File) sealer() {
	f.mu.Lock()
	for len(f.queue) > 0 {
		b := f.queue[0]
		f.mu.Unlock()
		f.seal(b)
		f.mu.Lock()
		f.install(b)
		f.queue = f.queue[1:]
		f.condVar().Broadcast()
	}
	f.sealing = false
	f.condVar().Broadcast()
	f.mu.Unlock()
}

// drainLocked waits until the background sealer has installed everything.
// Callers hold f.mu.
func (f *File) drainLocked() {
	cond := f.condVar()
	for f.sealing || len(f.queue) > 0 {
		cond.Wait()
	}
}

// spill seals every dirty chunk now, in the caller's goroutine. final marks
// the spill of a commit, when a small file may go inline. Callers hold f.mu
// and have drained the pipeline.
func (f *File) spill(final bool) error {
	for _, b := range f.takeBatches(final && f.size <= InlineMax) {
		f.seal(b)
		f.install(b)
	}
	err := f.spillErr
	f.spillErr = nil
	return err
}
