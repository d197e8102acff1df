package object

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/ssefs/ssefs/chunkstore"
	"github.com/ssefs/ssefs/dare"
	"github.com/ssefs/ssefs/keyring"
)

// Tunables of the content path.
const (
	// InlineMax is the largest file whose content is kept inside the metadata
	// database: committing it costs one Badger write instead of a part file
	// and an fsync, which is what makes small-file work fast.
	InlineMax = 64 << 10
	// partChunks bounds a part: 64 chunks = 4 MiB of plaintext.
	partChunks = 64
	// maxDirty is how much plaintext one file buffers before it is encrypted
	// into parts (not yet committed), bounding memory for any write pattern.
	maxDirty = 128 * ChunkSize
)

var chunkPool = sync.Pool{New: func() any { b := make([]byte, ChunkSize); return &b }}

func getChunk() []byte {
	b := *chunkPool.Get().(*[]byte)
	clear(b)
	return b
}

// getDirtyChunk returns a chunk buffer without clearing it, for a sparse
// write buffer whose unwritten bytes are never read.
func getDirtyChunk() []byte { return *chunkPool.Get().(*[]byte) }

func putChunk(b []byte) { chunkPool.Put(&b) }

// File is the content state of an open regular file, shared by all of its
// open handles. Writes go to whole-chunk buffers; Commit encrypts them into
// new parts and records a new version. No stored part is ever rewritten.
type File struct {
	l   *Layer
	ino Ino
	oek keyring.ObjectKey
	gen uint64 // l.sse.gen when oek was fetched; a mismatch forces a key re-check

	mu       sync.RWMutex
	refs     int
	base     uint64 // committed version this state started from
	runs     []Run  // extents: committed ones overlaid with spilled ones
	runsGen  uint64 // bumped whenever runs is replaced (setRuns)
	size     int64
	mtime    int64
	dirty    map[ChunkIndex]*dirtyChunk
	pending  []pendingPart // parts written since the last commit
	inl      *inlineParts  // this file's inline parts: pending, or kept from the last commit
	modified bool
	detached bool          // a read-only view of an old version (OpenVersion)
	owner    *VersionOwner // that version's recorded owner (detached only)

	// The spill pipeline (spill.go): batches of chunks being sealed into
	// parts in the background while writes go on.
	inflight map[ChunkIndex][]*dirtyChunk // chunk → buffers being sealed, oldest first
	queue    []*spillBatch                // taken, not yet installed, in order
	sealing  bool                         // a sealer goroutine is running
	spillErr error                        // first background failure, reported by the next write or commit
	lost     error                        // latched: buffered data was lost, nothing commits (writeback.go)
	refused  error                        // a write was refused for space since the last commit (space.go)
	cond     *sync.Cond                   // signalled when a batch is installed

	ra readAhead // windows decrypted ahead of a sequential reader (readahead.go)
}

// setRuns replaces the run list (never modified in place), which
// invalidates read-ahead windows decrypted from the old one. Callers hold
// f.mu.
func (f *File) setRuns(runs []Run) {
	f.runs = runs
	f.runsGen++
}

// OpenFile returns the shared content state of a regular file, loading and
// authenticating its current version. Each call must be matched by Release.
func (l *Layer) OpenFile(ino Ino) (*File, error) {
	l.filesMu.Lock()
	if f, ok := l.files[ino]; ok {
		f.refs++
		l.filesMu.Unlock()
		// Shared state of an already open file: the key may have been sealed since.
		f.mu.Lock()
		err := f.refreshKeyLocked()
		f.mu.Unlock()
		if err != nil {
			f.Release()
			return nil, err
		}
		return f, nil
	}
	defer l.filesMu.Unlock()
	n, err := l.Inode(ino)
	if err != nil {
		return nil, err
	}
	if !isReg(n.Mode) {
		return nil, ErrInvalid
	}
	g := l.sse.gen.Load()
	oek, err := l.objectKey(n)
	if err != nil {
		return nil, err
	}
	f := &File{l: l, ino: ino, oek: oek, gen: g, refs: 1, dirty: map[ChunkIndex]*dirtyChunk{}, inl: newInlineParts(l.db, ino), mtime: n.Mtime}
	if n.Version != 0 {
		v, err := l.loadVersion(n, n.Version, oek)
		if errors.Is(err, ErrNotFound) { // the inode names it: missing data, not "no such file"
			err = fmt.Errorf("%w: current version record missing: %w", ErrCorrupt, err)
		}
		if err != nil {
			return nil, err
		}
		f.base, f.runs, f.size = v.ID, v.Runs, v.Size
	}
	l.files[ino] = f
	return f, nil
}

func (l *Layer) isOpen(ino Ino) bool {
	l.filesMu.Lock()
	defer l.filesMu.Unlock()
	_, ok := l.files[ino]
	return ok
}

// openState returns the open content state of ino, if any, without a reference.
func (l *Layer) openState(ino Ino) *File {
	l.filesMu.Lock()
	defer l.filesMu.Unlock()
	return l.files[ino]
}

// loadVersion reads and authenticates one version record.
func (l *Layer) loadVersion(n *Inode, id uint64, oek keyring.ObjectKey) (*Version, error) {
	var v Version
	err := l.db.View(func(txn *metaTxn) error {
		item, err := txn.getItem(versionKey(n.Ino, id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("object %d version %d: %w", n.Ino, id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		return item.Value(v.UnmarshalBinary)
	})
	if err != nil {
		return nil, err
	}
	if err := v.authenticate(oek[:], n.Ino, id); err != nil {
		return nil, err
	}
	return &v, nil
}

// Release drops one reference; the last one commits and forgets the state
// (and, when that commit fails, the parts spilled since the last commit).
func (f *File) Release() error {
	if f.detached {
		return nil
	}
	f.l.filesMu.Lock()
	f.refs--
	last := f.refs == 0
	f.l.filesMu.Unlock()
	if !last {
		return nil
	}
	f.mu.Lock()
	err := f.commitCompleteLocked()
	// The state goes only if nobody opened the file since refs reached 0:
	// a new opener's writes must not be dropped with it.
	f.l.filesMu.Lock()
	gone := f.refs == 0
	if gone {
		delete(f.l.files, f.ino)
	}
	f.l.filesMu.Unlock()
	if gone {
		if err != nil {
			// What the failed commit could not store is dropped with the
			// state: the current version stays the last committed one.
			f.discardUncommitted()
		}
		f.dropDirty()
	}
	f.mu.Unlock()
	if gone {
		f.dropReadAhead()
	}
	return errors.Join(err, f.l.retireIfUnlinked(f.ino))
}

// Size is the file's size including uncommitted writes.
func (f *File) Size() int64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.size
}

// Mtime is the modification time including uncommitted writes.
func (f *File) Mtime() int64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.mtime
}

// readStored fills dst with the stored plaintext at file offset off, from
// the run list only (not dirty buffers). Unmapped bytes read as zeros.
// Callers hold f.mu.
func (f *File) readStored(dst []byte, off int64) error {
	return f.readRuns(f.oek[:], f.runs, dst, off)
}

// readRuns is readStored over a given run list and key, so the sealer and
// read-ahead can read a snapshot of them without f.mu. A stored part
// missing, or not of the size its run says, is an integrity error
// (chunkstore.ErrPartNotFound, ErrPartSize).
func (f *File) readRuns(key []byte, runs []Run, dst []byte, off int64) error {
	end := off + int64(len(dst))
	pos := off
	for i := firstRunAfter(runs, off); pos < end && i < len(runs) && runs[i].Off < end; i++ {
		r := runs[i]
		if r.Off > pos {
			clear(dst[pos-off : r.Off-off])
			pos = r.Off
		}
		n := min(end, r.End()) - pos
		encSize := dare.EncryptedSize(r.PartLen)
		ra, err := f.storeOf(r).Open(r.Part, encSize)
		if err != nil {
			return err
		}
		partOff := r.PartOff + pos - r.Off
		got, err := chunkstore.ReadPartAt(key, r.Part, ra, encSize, dst[pos-off:pos-off+n], partOff)
		if err != nil && !(errors.Is(err, io.EOF) && int64(got) == n) {
			return fmt.Errorf("object %d part %d at %d: %w", f.ino, r.Part, partOff, err)
		}
		pos += n
	}
	clear(dst[pos-off:])
	return nil
}

// ReadAt reads plaintext at off. It never returns bytes that did not
// authenticate: a failed part is an error for the whole read.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if err := f.rlockKeyed(); err != nil { // a sealed key fails even an open descriptor
		return 0, err
	}
	defer f.mu.RUnlock()
	if off >= f.size {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), f.size)
	pos := off
	for pos < end {
		c := chunkOf(pos)
		spanEnd := min(end, int64(c+1)*ChunkSize)
		if f.buffered(c) {
			start := c.Start()
			if err := f.readLayered(p[pos-off:spanEnd-off], c, pos-start, f.layers(c, true)); err != nil {
				return int(pos - off), err
			}
			pos = spanEnd
			continue
		}
		// Extend the span over following chunks that are not buffered, so
		// one pass over the runs decrypts them together.
		for spanEnd < end && !f.buffered(chunkOf(spanEnd)) {
			spanEnd = min(end, spanEnd+ChunkSize)
		}
		for pos < spanEnd { // window by window, so read-ahead can serve it
			to := min(spanEnd, (pos/raWindow+1)*raWindow)
			if !f.readAheadFrom(p[pos-off:to-off], pos) {
				if err := f.readStored(p[pos-off:to-off], pos); err != nil {
					return int(pos - off), err
				}
			}
			pos = to
		}
	}
	f.readAheadAfter(off, end)
	n := int(end - off)
	if end == f.size && n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// dropDirty returns every write buffer to the pool. Callers hold f.mu.
func (f *File) dropDirty() {
	for c, d := range f.dirty {
		putChunk(d.buf)
		delete(f.dirty, c)
	}
}

// dirtyChunk returns the dirty buffer of chunk c for a write of the file
// bytes [ws, we). A new buffer stays sparse, so the write reads nothing;
// a write that does not touch an existing sparse buffer's range fills it
// first, keeping one written range per buffer.
func (f *File) dirtyChunk(c ChunkIndex, ws, we int64) (*dirtyChunk, error) {
	start := c.Start()
	if d, ok := f.dirty[c]; ok {
		if !d.filled && !d.touches(ws-start, we-start) {
			if err := f.fill(c, d); err != nil {
				return nil, err
			}
		}
		return d, nil
	}
	validEnd := min(start+ChunkSize, f.size)
	d := &dirtyChunk{lo: ChunkSize, hi: 0}
	// Nothing stored shows through a write that covers every valid byte.
	if d.filled = start >= validEnd || (ws <= start && we >= validEnd); d.filled {
		if ws <= start && we >= start+ChunkSize {
			d.buf = getDirtyChunk() // the write covers every byte: clearing is wasted
		} else {
			d.buf = getChunk()
		}
	} else {
		d.buf = getDirtyChunk() // sparse: bytes outside [lo, hi) are never read
	}
	f.dirty[c] = d
	return d, nil
}

// WriteAt writes p at off into chunk buffers, spilling them into parts when
// too much is buffered.
func (f *File) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, ErrInvalid
	}
	if off >= MaxFileSize && len(p) > 0 {
		return 0, fmt.Errorf("object %d: write at %d: %w", f.ino, off, ErrFileTooBig)
	}
	short := int64(len(p)) > MaxFileSize-off // written up to the limit, as ext4 does
	if short {
		p = p[:MaxFileSize-off]
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lost != nil {
		return 0, f.lost
	}
	if err := f.refreshKeyLocked(); err != nil {
		return 0, err
	}
	pos, end := off, off+int64(len(p))
	for pos < end {
		c := chunkOf(pos)
		start := c.Start()
		wend := min(end, start+ChunkSize)
		d, err := f.dirtyChunk(c, pos, wend)
		if err != nil {
			return int(pos - off), err
		}
		copy(d.buf[pos-start:], p[pos-off:wend-off])
		d.lo, d.hi = min(d.lo, pos-start), max(d.hi, wend-start)
		pos = wend
		if pos > f.size {
			f.size = pos
		}
	}
	f.mtime = time.Now().UnixNano()
	f.modified = true
	if len(f.dirty)*ChunkSize >= maxDirty {
		f.spillAsync()
	}
	if err := f.spillErr; err != nil {
		return len(p), err
	}
	if short {
		return len(p), fmt.Errorf("object %d: write past %d: %w", f.ino, int64(MaxFileSize), ErrFileTooBig)
	}
	return len(p), nil
}

// Truncate sets the size. Shrinking cuts the runs at the new end, so bytes
// past it can never reappear and nothing is re-encrypted.
func (f *File) Truncate(size int64) error {
	if size < 0 {
		return ErrInvalid
	}
	if size > MaxFileSize {
		return fmt.Errorf("object %d: truncate to %d: %w", f.ino, size, ErrFileTooBig)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drainLocked()
	if f.lost != nil {
		return f.lost
	}
	if err := f.refreshKeyLocked(); err != nil {
		return err
	}
	if size < f.size {
		// Runs are cut at the byte, so nothing past the end can reappear
		// when the file grows again; a buffered tail chunk is zeroed past
		// the end for the same reason.
		keep := chunksFor(size)
		for c, d := range f.dirty {
			if c >= keep {
				putChunk(d.buf)
				delete(f.dirty, c)
			}
		}
		if within := size % ChunkSize; within != 0 {
			if d, ok := f.dirty[chunkOf(size)]; ok {
				clear(d.buf[within:])
				d.hi = min(d.hi, within)
				if !d.filled && d.lo >= d.hi {
					putChunk(d.buf) // nothing written is left
					delete(f.dirty, chunkOf(size))
				}
			}
		}
		f.setRuns(truncateRuns(f.runs, size))
	}
	f.size = size
	f.mtime = time.Now().UnixNano()
	f.modified = true
	return nil
}

// Commit makes the file's current content a new version: parts first, made
// durable, then one metadata transaction that references them. Nothing is
// done when the content did not change since the last commit, and nothing
// is committed once the state latched a loss (writeback.go).
func (f *File) Commit() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.commitLocked()
}

// commitLocked is Commit; callers hold f.mu.
func (f *File) commitLocked() error {
	f.drainLocked()
	if f.lost != nil {
		return f.lost // never a version from content that lost bytes
	}
	if !f.modified {
		return nil
	}
	if err := f.refreshKeyLocked(); err != nil {
		return err
	}
	if err := f.spill(true); err != nil {
		return err
	}
	if err := f.syncPending(); err != nil {
		// The parts' bytes are gone from memory and, after a failed
		// fdatasync, not known to be on disk (a retry could report
		// success for pages the kernel dropped): latch.
		return f.latch(writeBackError(fmt.Errorf("object %d: syncing parts: %w", f.ino, err)))
	}
	now := time.Now().UnixNano()
	v := &Version{Size: f.size, Mtime: f.mtime, Runs: append([]Run(nil), f.runs...)}
	live := partsOf(v.Runs)
	// The parts are durable, so the version may wait in the metadata batch
	// (committed within milliseconds, or by fsync): a crash loses at most
	// this close's version, never a version's parts. Every read that can
	// fail comes before the first write, as a batched mutation requires.
	err := f.l.mutate(commitLater, func(txn *metaTxn) error {
		n, err := f.l.getInode(txn, f.ino)
		if err != nil {
			return err
		}
		v.ID = nextVersionID(n.Version, now)
		if err := f.l.applyLockDefault(txn, f.ino, v.ID, now); err != nil { // reads, then one write
			return err
		}
		// The version records who could read it when it was committed:
		// the versions view checks a caller against this, not against
		// whatever mode and owner the file has later.
		v.Owner = &VersionOwner{Mode: n.Mode, UID: n.UID, GID: n.GID}
		v.Seal(f.oek[:], f.ino)
		b, _ := v.MarshalBinary()
		if err := txn.putBytes(versionKey(f.ino, v.ID), b); err != nil {
			return err
		}
		for _, p := range f.pending {
			if live[p.id] {
				if err := p.store.commitIn(txn, p.id); err != nil {
					return err
				}
			}
		}
		n.Version, n.Size, n.Mtime, n.Ctime = v.ID, v.Size, v.Mtime, now
		return f.l.putInode(txn, n)
	})
	if err != nil {
		return fmt.Errorf("object %d: committing version: %w", f.ino, err)
	}
	// Parts spilled and then overwritten before this commit belong to no
	// version: free them now.
	for _, p := range f.pending {
		if !live[p.id] {
			p.store.Remove(p.id)
		}
	}
	f.inl.committed(live)
	f.releasePending()
	f.pending = f.pending[:0]
	f.base = v.ID
	f.modified = false
	f.refused = nil
	return nil
}

// Flush commits at close(2) (FUSE FLUSH). A change that only emptied the
// file (an open with O_TRUNC, nothing written yet) is left to a later
// flush, fsync or the last Release: a shell's `>` closes a duplicate of
// the descriptor before the command writes, and one open, truncate,
// writes and close is one version, as one S3 PUT is.
func (f *File) Flush() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drainLocked()
	if f.lost == nil && f.refused == nil && f.modified && f.size == 0 {
		return nil
	}
	return f.commitCompleteLocked()
}

// Sync commits and makes the commit durable, for fsync(2).
func (f *File) Sync() error {
	if err := f.Commit(); err != nil {
		return err
	}
	if err := f.l.db.Sync(); err != nil {
		return fmt.Errorf("object %d: syncing metadata: %w", f.ino, err)
	}
	return nil
}

// retireIfUnlinked finishes the unlink of an object whose last name went
// while it was open: an object that never held content is deleted, one that
// did keeps its versions behind a delete marker.
func (l *Layer) retireIfUnlinked(ino Ino) error {
	if l.isOpen(ino) {
		return nil
	}
	return l.mutate(commitLater, func(txn *metaTxn) error { // reads first, then writes
		n, err := l.getInode(txn, ino)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil || n.Nlink > 0 {
			return err
		}
		if n.Version == 0 {
			return nil // an orphan: purged when the kernel forgets it
		}
		if cur, err := l.versionFlags(txn, n); err != nil || cur&VersionDeleteMarker != 0 {
			return err
		}
		if err := l.addDeleteMarker(txn, n, time.Now().UnixNano()); err != nil {
			return err
		}
		return l.putInode(txn, n)
	})
}

func (l *Layer) versionFlags(txn *metaTxn, n *Inode) (uint8, error) {
	item, err := txn.getItem(versionKey(n.Ino, n.Version))
	if err != nil {
		return 0, fmt.Errorf("object %d version %d: %w", n.Ino, n.Version, err)
	}
	var v Version
	if err := item.Value(v.UnmarshalBinary); err != nil {
		return 0, err
	}
	return v.Flags, nil
}
