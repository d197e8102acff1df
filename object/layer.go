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
	db      *badger.DB
	kms     keyring.KMS
	storeID []byte
	cipher  dare.Cipher
	inoSeq  *badger.Sequence
	partSeq *badger.Sequence

	// nsMu serialises every mutation of inode and directory records, so a
	// read-modify-write of a record never races another; content I/O and
	// encryption happen outside it.
	nsMu sync.Mutex

	cacheMu sync.RWMutex
	inodes  map[Ino]*Inode // write-through cache of inode records

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

// Open builds the object layer on an opened store, creating the root
// directory on first use.
func Open(st *store.Store) (*Layer, error) {
	l := &Layer{
		st: st, db: st.DB, kms: st.KMS,
		storeID: st.Config.IDBytes(), cipher: st.Config.CipherSuite(),
		inodes: map[Ino]*Inode{}, files: map[Ino]*File{}, oeks: map[Ino]keyring.ObjectKey{},
	}
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
		if err := l.update(func(txn *badger.Txn) error { return l.putInode(txn, root) }); err != nil {
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
		errs = append(errs, f.Commit())
	}
	errs = append(errs, l.flushForgotten())
	l.forgetMu.Lock()
	l.forgetClosed = true
	l.forgetMu.Unlock()
	errs = append(errs, l.inoSeq.Release(), l.partSeq.Release(), l.db.Sync())
	return errors.Join(errs...)
}

// Store returns the store the layer runs on.
func (l *Layer) Store() *store.Store { return l.st }

// update runs fn in a read-write transaction, retrying on conflicts.
func (l *Layer) update(fn func(txn *badger.Txn) error) error {
	for attempt := 0; ; attempt++ {
		err := l.db.Update(fn)
		if errors.Is(err, badger.ErrConflict) && attempt < 10 {
			continue
		}
		return err
	}
}

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
	l.cacheMu.RLock()
	n, ok := l.inodes[ino]
	l.cacheMu.RUnlock()
	if ok {
		c := *n
		return &c, nil
	}
	var out Inode
	err := l.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(inodeKey(ino))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return item.Value(out.UnmarshalBinary)
	})
	if err != nil {
		return nil, err
	}
	l.cacheInode(&out)
	c := out
	return &c, nil
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

// getInode reads an inode inside a transaction (bypassing the cache, which
// may lag a concurrent transaction that has not committed).
func (l *Layer) getInode(txn *badger.Txn, ino Ino) (*Inode, error) {
	item, err := txn.Get(inodeKey(ino))
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

// putInode writes an inode record and refreshes the cache once the caller's
// transaction commits (callers hold nsMu, so no other writer interleaves).
func (l *Layer) putInode(txn *badger.Txn, n *Inode) error {
	b, _ := n.MarshalBinary()
	if err := txn.Set(inodeKey(n.Ino), b); err != nil {
		return err
	}
	l.cacheInode(n)
	return nil
}

func (l *Layer) deleteInode(txn *badger.Txn, ino Ino) error {
	l.uncacheInode(ino)
	return txn.Delete(inodeKey(ino))
}
