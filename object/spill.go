package object

import (
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/ssefs/ssefs/chunkstore"
	"github.com/ssefs/ssefs/dare"
	"github.com/ssefs/ssefs/keyring"
)

// maxQueued bounds the batches (of up to 4 MiB each) taken and not yet
// installed: a writer that gets further ahead waits, which bounds a file's
// write memory at about maxQueued+2 batches of plaintext, maxDirty, and the
// sealed buffers of the batches being written (about 40 MiB).
const maxQueued = 4

// sealPool recycles the buffers of sealed parts once they are written to a
// part file, so sealing 4 MiB parts does not allocate (and clear) 4 MiB each.
var sealPool = sync.Pool{New: func() any { b := make([]byte, 0, partChunks*(ChunkSize+dare.Overhead)); return &b }}

// plainPool recycles the plaintext staging buffer of a part.
var plainPool = sync.Pool{New: func() any { b := make([]byte, 0, partChunks*ChunkSize); return &b }}

// spillBatch is up to partChunks dirty chunks taken out of the write buffer
// to be sealed into one part: of each, only the range to store.
type spillBatch struct {
	chunks []ChunkIndex
	bufs   []*dirtyChunk
	spans  [][2]int64 // per chunk: the bytes [lo, hi) of the buffer to store
	// merge marks the chunks stored whole although their buffer is
	// sparse: seal reads the rest from runs, a snapshot taken right
	// before sealing, when every older batch is installed.
	merge []bool
	runs  []Run
	store partStore         // where the part goes
	oek   keyring.ObjectKey // the key when taken: seal runs without f.mu

	id     chunkstore.PartID
	sealed []byte
	pooled *[]byte // sealPool buffer holding sealed until its part is written
	err    error
}

func (f *File) condVar() *sync.Cond {
	if f.cond == nil {
		f.cond = sync.NewCond(&f.mu)
	}
	return f.cond
}

// maxChunkRuns is how many runs may map one chunk before its next spill
// stores the whole chunk again instead of another patch: it bounds the
// decryptions a read of that chunk costs and the length of the run list.
const maxChunkRuns = 8

// storeSpan returns the bytes of dirty chunk c to seal: the written range,
// or the whole chunk when that range is most of a filled buffer or the
// chunk is already cut into maxChunkRuns runs. merge reports a whole chunk
// whose buffer is sparse: the sealer reads the rest in the background, off
// the writer's path. Either choice stores the same content. Callers hold
// f.mu.
func (f *File) storeSpan(c ChunkIndex, d *dirtyChunk) (span [2]int64, merge bool) {
	start := c.Start()
	valid := min(ChunkSize, f.size-start)
	lo, hi := d.lo, min(d.hi, valid)
	switch {
	case lo >= hi:
		return [2]int64{0, 0}, false
	case runsWithin(f.runs, start, start+valid) >= maxChunkRuns:
		return [2]int64{0, valid}, !d.filled
	case d.filled && 4*(hi-lo) >= 3*valid:
		return [2]int64{0, valid}, false
	}
	return [2]int64{lo, hi}, false
}

// snapshot gives a batch what seal needs to merge sparse chunks without
// f.mu: the current runs (never modified in place; the parts they map stay
// in their stores until the pipeline is drained). Callers hold f.mu.
func (f *File) snapshot(b *spillBatch) {
	if !slices.Contains(b.merge, true) {
		return
	}
	b.runs = f.runs
}

// stored returns the plaintext of batch chunk i to seal, merging a sparse
// buffer over the stored chunk into tmp when the chunk is stored whole. If
// that read fails, only the written range is stored.
func (f *File) stored(b *spillBatch, i int, tmp []byte) []byte {
	d, sp := b.bufs[i], b.spans[i]
	if !b.merge[i] {
		return d.buf[sp[0]:sp[1]]
	}
	if err := f.readRuns(b.oek[:], b.runs, tmp[:sp[1]], b.chunks[i].Start()); err != nil {
		b.spans[i] = [2]int64{d.lo, min(d.hi, sp[1])}
		return d.buf[b.spans[i][0]:b.spans[i][1]]
	}
	copy(tmp[d.lo:], d.buf[d.lo:min(d.hi, sp[1])])
	return tmp[:sp[1]]
}

// takeBatches moves every dirty chunk into batches of up to partChunks
// chunks, in chunk order, and lays their buffers over the runs as in
// flight. Chunks need not be contiguous: each stored range gets a run of
// its own into the shared part, so random writes cost one part file per
// batch, not one per chunk, and about the bytes written. The parts go to
// store.
func (f *File) takeBatches(store partStore) []*spillBatch {
	chunks := make([]ChunkIndex, 0, len(f.dirty))
	for c := range f.dirty {
		chunks = append(chunks, c)
	}
	sort.Slice(chunks, func(i, j int) bool { return chunks[i] < chunks[j] })
	if f.inflight == nil {
		f.inflight = map[ChunkIndex][]*dirtyChunk{}
	}
	var out []*spillBatch
	for len(chunks) > 0 {
		n := min(len(chunks), partChunks)
		b := &spillBatch{chunks: chunks[:n:n], store: store, oek: f.oek}
		for _, c := range b.chunks {
			d := f.dirty[c]
			sp, merge := f.storeSpan(c, d)
			b.bufs = append(b.bufs, d)
			b.spans = append(b.spans, sp)
			b.merge = append(b.merge, merge)
			delete(f.dirty, c)
			f.inflight[c] = append(f.inflight[c], d)
		}
		out = append(out, b)
		chunks = chunks[n:]
	}
	return out
}

// seal encrypts a batch into a part and writes it to its store. It runs
// without f.mu: the batch's buffers are no longer written to.
func (f *File) seal(b *spillBatch) {
	f.encrypt(b)
	f.writePart(b)
}

// encrypt seals a batch into b.sealed: into a pooled buffer that writePart
// returns, unless its store keeps what it is given. It runs without f.mu.
// The batch's key copy stays until dropSealed: writePart needs it to seal
// the part again when its file name is taken.
func (f *File) encrypt(b *spillBatch) {
	whole := b.wholeChunks()
	var plain []byte
	if whole == nil {
		pbuf := plainPool.Get().(*[]byte)
		defer plainPool.Put(pbuf)
		plain = (*pbuf)[:0]
		tmp := getDirtyChunk()
		defer putChunk(tmp)
		for i := range b.spans {
			plain = append(plain, f.stored(b, i, tmp)...)
		}
		if len(plain) == 0 {
			return // nothing written survived a truncate: no part
		}
	}
	if b.id, b.err = f.l.reservePart(); b.err != nil {
		b.err = fmt.Errorf("object %d: %w", f.ino, b.err)
		return
	}
	var dst []byte
	if !b.store.keepsSealed() {
		b.pooled = sealPool.Get().(*[]byte)
		dst = *b.pooled
	}
	if whole != nil {
		b.sealed, b.err = chunkstore.SealPartPackagesTo(dst, f.l.cipher, b.oek[:], b.id, whole)
	} else {
		b.sealed, b.err = chunkstore.SealPartTo(dst, f.l.cipher, b.oek[:], b.id, plain)
	}
	if b.err != nil {
		b.err = fmt.Errorf("object %d: sealing part: %w", f.ino, b.err)
	}
}

// wholeChunks returns the buffers of a batch that stores whole chunks only
// (every span is a full chunk, the last one possibly cut by the end of the
// file, and nothing to merge), which are exactly the packages of its part:
// sequential writes are sealed straight from their buffers, not copied
// into one staging buffer first. It returns nil for any other batch.
func (b *spillBatch) wholeChunks() [][]byte {
	if len(b.spans) == 0 || b.needsInstalled() {
		return nil
	}
	pkgs := make([][]byte, len(b.spans))
	for i, sp := range b.spans {
		last := i == len(b.spans)-1
		if sp[0] != 0 || sp[1] == 0 || (sp[1] != ChunkSize && !last) {
			return nil
		}
		pkgs[i] = b.bufs[i].buf[:sp[1]]
	}
	return pkgs
}

// writePart writes the part of an encrypted batch to its store (unless
// encrypting failed) and recycles its buffer.
func (f *File) writePart(b *spillBatch) {
	if b.err == nil && b.sealed != nil {
		var err error
		if b.store.keepsSealed() { // an inline part: its name is a record, never taken
			err = b.store.Write(b.id, b.sealed)
		} else {
			// b.id may change (a taken name): the sealer reads it only
			// after this write is done.
			b.id, b.sealed, err = f.l.storePart(b.oek[:], b.id, b.sealed)
		}
		if err != nil {
			b.err = fmt.Errorf("object %d: %w", f.ino, err)
		}
	}
	f.dropSealed(b)
}

// dropSealed returns a batch's pooled part buffer, if it has one, and
// clears its key copy: the batch is sealed and written, or failed.
func (f *File) dropSealed(b *spillBatch) {
	b.oek.Zero()
	if b.pooled != nil {
		sealPool.Put(b.pooled)
		b.pooled, b.sealed = nil, nil
	}
}

// needsInstalled reports whether sealing b must wait until every older
// batch is installed: a chunk stored whole from a sparse buffer reads the
// rest of the chunk from the runs those batches change.
func (b *spillBatch) needsInstalled() bool { return slices.Contains(b.merge, true) }

// install maps a sealed batch into the runs and takes its buffers out of
// flight, under f.mu. A failed batch (and every batch queued after it,
// which the sealer fails too) is merged back into the dirty buffers, so an
// error such as a full disk loses nothing still in memory.
func (f *File) install(b *spillBatch) {
	if b.err != nil {
		for i, c := range b.chunks {
			if slices.Contains(f.inflight[c], b.bufs[i]) { // else merged by an earlier failure
				if err := f.collapse(c); err != nil {
					// Older buffers of the chunk are gone: the content
					// has a gap, so nothing may commit from it.
					f.latch(writeBackError(fmt.Errorf("object %d: merging back a failed spill of chunk %d (%v): %w", f.ino, c, b.err, err)))
				}
			}
		}
		if f.spillErr == nil {
			f.spillErr = writeBackError(b.err)
		}
		if b.id != 0 {
			f.l.releaseParts(b.id) // its part file was never written or was removed
		}
		return
	}
	if b.id != 0 { // 0: nothing was left to store
		f.mapBatch(b)
	}
	for i, c := range b.chunks {
		ls := f.inflight[c]
		if k := slices.Index(ls, b.bufs[i]); k >= 0 {
			ls = slices.Delete(ls, k, k+1)
		}
		if len(ls) == 0 {
			delete(f.inflight, c)
		} else {
			f.inflight[c] = ls
		}
		putChunk(b.bufs[i].buf)
	}
}

// mapBatch lays the runs of a sealed batch over the file's runs.
func (f *File) mapBatch(b *spillBatch) {
	f.pending = append(f.pending, pendingPart{b.id, b.store})
	plainLen := int64(0)
	for _, sp := range b.spans {
		plainLen += sp[1] - sp[0]
	}
	runs := make([]Run, 0, len(b.chunks))
	partOff := int64(0)
	for i, c := range b.chunks {
		sp := b.spans[i]
		if sp[0] == sp[1] {
			continue
		}
		r := Run{Off: c.Start() + sp[0], Len: sp[1] - sp[0], Part: b.id, PartOff: partOff, PartLen: plainLen, Inline: b.store == partStore(f.inl)}
		partOff += r.Len
		// A truncate since the batch was taken cut these bytes off.
		if r, ok := clip(r, 0, f.size); ok {
			if k := len(runs) - 1; k >= 0 && runs[k].End() == r.Off && runs[k].PartOff+runs[k].Len == r.PartOff {
				runs[k].Len += r.Len // contiguous in the file and the part
			} else {
				runs = append(runs, r)
			}
		}
	}
	f.setRuns(overlay(f.runs, runs...))
}

// spillAsync hands the dirty chunks to the background sealer. It waits
// while the sealer is maxQueued batches behind. Callers hold f.mu.
func (f *File) spillAsync() {
	cond := f.condVar()
	for len(f.queue) >= maxQueued {
		cond.Wait()
	}
	f.queue = append(f.queue, f.takeBatches(f.l.fileParts())...)
	if !f.sealing {
		f.sealing = true
		go f.sealer()
	}
}

// maxWriting is how many part files the sealer writes at once: two keep a
// disk busy while the file system allocates the next part, which a single
// write at a time does not (on the VMs we measure on, 4 MiB O_DIRECT part
// writes reach about 1 GB/s one at a time; the disk does 1.5–2 GB/s).
const maxWriting = 2

// partWrite is a batch handed to the part writers; done is closed once its
// part file is written (at once for a batch with nothing to write).
type partWrite struct {
	b    *spillBatch
	done chan struct{}
}

// sealer seals queued batches in order and installs them in order, so a
// newer batch of a chunk never loses to an older one. It is a pipeline:
// while the part files of up to maxWriting batches are written (disk
// time), the next batch is encrypted (CPU time, every core through dare's
// parallel encryption), so a sequential writer keeps both the disk and the
// cores busy. A batch that merges a sparse chunk waits until every batch
// before it is installed, since it reads the runs they change.
func (f *File) sealer() {
	f.mu.Lock()
	var failed error
	var writing []partWrite // oldest first; writing[i].b is f.queue[i]
	for {
		var b *spillBatch
		if i := len(writing); i < len(f.queue) && i < maxWriting {
			b = f.queue[i]
			if i > 0 && b.needsInstalled() {
				b = nil
			}
		}
		if b == nil && len(writing) == 0 {
			break // queue empty (b is queue[0] otherwise)
		}
		if b != nil {
			f.snapshot(b)
		}
		f.mu.Unlock()
		if b != nil {
			// A later batch of a chunk must not land over an earlier one
			// that failed: every batch after a failed one fails too (here,
			// or when it is installed) and is merged back. A failure is
			// passed on in queue order, at install, never to older batches.
			if failed == nil {
				f.encrypt(b)
			} else {
				b.err = failed
			}
			b.runs = nil
		}
		// Install the oldest batch once written, when there is nothing
		// to encrypt or every write slot is taken.
		var oldest *spillBatch
		if len(writing) > 0 && (b == nil || len(writing) == maxWriting) {
			<-writing[0].done
			oldest, writing = writing[0].b, writing[1:]
			if oldest.err == nil && failed != nil {
				f.unwrite(oldest) // written, but a batch before it failed
				oldest.err = failed
			}
			if oldest.err != nil && failed == nil {
				failed = oldest.err
			}
		}
		f.mu.Lock()
		if oldest != nil {
			f.installFirst(oldest)
		}
		if b == nil {
			continue
		}
		w := partWrite{b, make(chan struct{})}
		writing = append(writing, w)
		if b.err != nil || b.sealed == nil {
			f.dropSealed(b)
			close(w.done) // nothing to write: installed in its turn
			continue
		}
		go func() {
			f.writePart(w.b)
			close(w.done)
		}()
	}
	f.sealing = false
	f.condVar().Broadcast()
	f.mu.Unlock()
}

// unwrite removes the part of a batch that is failed after its part was
// written; a part that cannot be removed is unreferenced, which gc
// removes.
func (f *File) unwrite(b *spillBatch) {
	if b.id != 0 {
		b.store.Remove(b.id)
	}
}

// installFirst installs b, the oldest queued batch, and wakes writers
// waiting for room in the queue. Callers hold f.mu.
func (f *File) installFirst(b *spillBatch) {
	f.install(b)
	f.queue = f.queue[1:]
	f.condVar().Broadcast()
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
	var store partStore = f.l.fileParts()
	if final && f.size <= InlineMax {
		store = f.inl
	}
	for _, b := range f.takeBatches(store) {
		f.snapshot(b)
		f.seal(b)
		f.install(b)
	}
	err := f.spillErr
	f.spillErr = nil
	return err
}

// wholeChunks hands chunk buffers to dare as packages: they must be the
// same size (a negative array length fails the build otherwise).
var (
	_ [ChunkSize - dare.PackageSize]struct{}
	_ [dare.PackageSize - ChunkSize]struct{}
)
