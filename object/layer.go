// Package object is the object layer of ssefs: inodes, directory entries,
// versions, extents and their keys, kept in the store's encrypted Badger
// database, with file content in encrypted parts (package chunkstore).
// The FUSE frontend calls it; it never calls the frontend.
package object

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/ssefs/ssefs/dare"
	"github.com/ssefs/ssefs/keyring"
	"github.com/ssefs/ssefs/store"
)

// Layer is the object layer of one opened store.
type Layer struct {
	st      *store.Store
	db      *metaDB // every read-write transaction goes through its batch (meta_batch.go)
	kms     keyring.KMS
	storeID []byte
	cipher  dare.Cipher
	inoSeq  *badger.Sequence
	partSeq *badger.Sequence
	parts   partReservations // part ids of writers not yet committed (partres.go)

	// nsMu serialises every mutation of inode and directory records, so a
	// read-modify-write of a record never races another; content I/O and
	// encryption happen outside it. It is taken before the batch lock.
	nsMu sync.Mutex

	cacheMu sync.RWMutex
	inodes  map[Ino]*Inode // write-through cache of inode records, pending writes included

	names   nameCache   // directory entries, guarded by db.mu (meta_cache.go)
	capFree capFree     // objects without file capabilities (meta_killpriv.go)
	stored  storedCache // mapped bytes of current versions, for st_blocks (holes.go)
	orphans orphanSet   // objects orphaned by this mount (orphan.go)

	filesMu sync.Mutex
	files   map[Ino]*File // content state of open regular files

	keysMu sync.Mutex
	oeks   map[Ino]keyring.ObjectKey // unsealed object keys, zeroised on seal

	sse sseState // SSE defaults, SSE-C keys, key generations, rotations (sse*.go)

	notifyMu sync.Mutex
	notifier func(Change)

	forgetMu     sync.Mutex
	forgotten    []Ino       // orphans the kernel forgot, purged in batches
	forgetTimer  *time.Timer // pending flush of forgotten
	forgetClosed bool        // set by Close: no more batches
}

// Open builds the object layer on an opened store with default Options,
// creating the root directory on first use.
func Open(st *store.Store) (*Layer, error) { return OpenWith(st, Options{}) }

// OpenWith is Open with opts.
func OpenWith(st *store.Store, opts Options) (*Layer, error) {
	l := &Layer{
		st: st, db: newMetaDB(st.DB), kms: st.KMS,
		storeID: st.Config.IDBytes(), cipher: st.Config.CipherSuite(),
		inodes: map[Ino]*Inode{}, files: map[Ino]*File{}, oeks: map[Ino]keyring.ObjectKey{},
	}
	l.db.onDiscard = l.dropCaches
	l.db.space = st.Space
	if opts.MetaFlushDelay > 0 {
		l.db.delay = opts.MetaFlushDelay
	}
	l.sse.hookRun = opts.SealHook
	var err error
	if l.inoSeq, err = l.db.GetSequence(seqIno, 256); err != nil {
		return nil, fmt.Errorf("object: ino sequence: %w", err)
	}
	if l.partSeq, err = l.db.GetSequence(seqPart, 1024); err != nil {
		return nil, fmt.Errorf("object: part sequence: %w", err)
	}
	if _, err := l.Inode(RootIno); errors.Is(err, ErrNotFound) {
		now := time.Now().UnixNano()
		root := &Inode{Ino: RootIno, Mode: syscall.S_IFDIR | 0o755, Nlink: 2, Atime: now, Mtime: now, Ctime: now}
		if err := l.db.mutate(commitNow, func(txn *metaTxn) error { return l.putInode(txn, root) }); err != nil {
			return nil, fmt.Errorf("object: creating root: %w", err)
		}
	} else if err != nil {
		return nil, err
	}
	if err := l.sweepOrphans(); err != nil {
		return nil, fmt.Errorf("object: purging orphans: %w", err)
	}
	return l, nil
}

// Close flushes open files and releases the sequences; the store stays open.
func (l *Layer) Close() error {
	l.filesMu.Lock()
	files := make([]*File, 0, len(l.files))
	for _, f := range l.files {
		files = append(files, f)
	}
	l.filesMu.Unlock()
	l.stopRotations()
	var errs []error
	for _, f := range files {
		errs = append(errs, f.commitComplete())
	}
	errs = append(errs, l.flushForgotten())
	l.forgetMu.Lock()
	l.forgetClosed = true
	l.forgetMu.Unlock()
	errs = append(errs, l.inoSeq.Release(), l.partSeq.Release(), l.db.Sync(), l.db.close())
	return errors.Join(errs...)
}

// SyncMeta commits every pending metadata change and makes the metadata
// durable (fsync of a directory, and of a file after its own commit).
func (l *Layer) SyncMeta() error { return l.db.Sync() }

// FlushMeta commits every pending metadata change without waiting for the
// disk.
func (l *Layer) FlushMeta() error { return l.db.Flush() }

// PendingMeta reports whether metadata changes wait in the batch.
func (l *Layer) PendingMeta() bool { return l.db.dirty.Load() }

// MetaErr reports a metadata batch that failed to commit, if any: from then
// on every metadata write fails.
func (l *Layer) MetaErr() error { return l.db.Err() }

// Store returns the store the layer runs on.
func (l *Layer) Store() *store.Store { return l.st }

func (l *Layer) nextIno() (Ino, error) {
	n, err := l.inoSeq.Next()
	if err != nil {
		return 0, fmt.Errorf("object: allocating inode: %w", err)
	}
	return Ino(n + 2), nil // 0 is invalid, 1 is the root
}

func (l *Layer) nextPart() (uint64, error) {
	n, err := l.partSeq.Next()
	if err != nil {
		return 0, fmt.Errorf("object: allocating part id: %w", err)
	}
	return n + 1, nil
}

// Inode returns a copy of the inode record.
func (l *Layer) Inode(ino Ino) (*Inode, error) {
	if n := l.cachedInode(ino); n != nil {
		return n, nil
	}
	var out *Inode
	err := l.db.read(func(txn *metaTxn) (err error) {
		out, err = l.getInode(txn, ino)
		if err == nil {
			l.cacheInode(out) // under the batch lock: no mutation overtakes this fill
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// dropCaches forgets cached records, after pending writes were dropped
// (called with db.mu held).
func (l *Layer) dropCaches() {
	l.cacheMu.Lock()
	clear(l.inodes)
	l.cacheMu.Unlock()
	l.names.clear()
}

// cachedInode returns a copy of the cached record of ino, or nil.
func (l *Layer) cachedInode(ino Ino) *Inode {
	l.cacheMu.RLock()
	n, ok := l.inodes[ino]
	l.cacheMu.RUnlock()
	if !ok {
		return nil
	}
	c := *n
	return &c
}

func (l *Layer) cacheInode(n *Inode) {
	c := *n
	l.cacheMu.Lock()
	if len(l.inodes) > 200_000 {
		clear(l.inodes)
	}
	l.inodes[n.Ino] = &c
	l.cacheMu.Unlock()
}

func (l *Layer) uncacheInode(ino Ino) {
	l.cacheMu.Lock()
	delete(l.inodes, ino)
	l.cacheMu.Unlock()
}

// getInode reads an inode inside a transaction. In the batch transaction
// the cache answers: every inode write goes through putInode/deleteInode,
// which keep it equal to what the batch holds, and dropped writes clear it.
func (l *Layer) getInode(txn *metaTxn, ino Ino) (*Inode, error) {
	if err := txn.checkInodeRead(ino); err != nil {
		return nil, err
	}
	if txn.current {
		if n := l.cachedInode(ino); n != nil {
			return n, nil
		}
	}
	item, err := txn.b.Get(inodeKey(ino)) // checked above
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var n Inode
	if err := item.Value(n.UnmarshalBinary); err != nil {
		return nil, err
	}
	return &n, nil
}

// putInode writes an inode record into the batch and the cache, which thus
// shows pending writes; a batch dropped without commit clears the cache.
func (l *Layer) putInode(txn *metaTxn, n *Inode) error {
	b, _ := n.MarshalBinary()
	if err := txn.putBytes(inodeKey(n.Ino), b); err != nil {
		return err
	}
	txn.noteInodeWrite(n.Ino)
	l.cacheInode(n)
	return nil
}

func (l *Layer) deleteInode(txn *metaTxn, ino Ino) error {
	l.uncacheInode(ino)
	txn.noteInodeWrite(ino)
	return txn.delete(inodeKey(ino))
}
