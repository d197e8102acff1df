package object

import (
	"errors"
	"sync"
	"syscall"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Clearing privileges on write, truncate and chown (the frontend asks the
// kernel for CAP_HANDLE_KILLPRIV_V2, so the kernel leaves it to us instead
// of asking for security.capability before every write).

// CapXattr holds file capabilities.
const CapXattr = "security.capability"

// privBits returns the bits a write by a caller without CAP_FSETID clears:
// set-user-ID, and set-group-ID when group-executable (without, it marks
// mandatory locking).
func privBits(mode uint32) uint32 {
	if !isReg(mode) {
		return 0
	}
	bits := mode & syscall.S_ISUID
	if mode&syscall.S_ISGID != 0 && mode&syscall.S_IXGRP != 0 {
		bits |= syscall.S_ISGID
	}
	return bits
}

// capFree remembers objects known to have no security.capability xattr,
// so a write usually checks nothing in Badger.
type capFree struct {
	mu   sync.Mutex
	inos map[Ino]struct{}
}

func (c *capFree) has(ino Ino) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.inos[ino]
	return ok
}

func (c *capFree) set(ino Ino, free bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !free {
		delete(c.inos, ino)
		return
	}
	if c.inos == nil || len(c.inos) >= 100_000 {
		c.inos = map[Ino]struct{}{}
	}
	c.inos[ino] = struct{}{}
}

// KillPriv does to a regular file what the kernel does before a write:
// clear set-user-ID and (group-executable) set-group-ID unless keepIDs
// says the writer has CAP_FSETID (asked only when such a bit is set), and
// remove file capabilities whoever writes. Nothing is written when there is
// nothing to clear, the usual case.
func (l *Layer) KillPriv(ino Ino, keepIDs func() bool) error {
	n, err := l.Inode(ino)
	if errors.Is(err, ErrNotFound) {
		return nil // purged while open (versions purge): the write fails at commit, as before
	}
	if err != nil {
		return err
	}
	bits := privBits(n.Mode)
	hasCap := false
	if !l.capFree.has(ino) {
		err := l.db.read(func(txn *badger.Txn) error {
			_, err := txn.Get(xattrKey(ino, CapXattr))
			if errors.Is(err, badger.ErrKeyNotFound) {
				// Under the batch lock, so a SetXattr cannot slip in
				// between the look and the note.
				l.capFree.set(ino, true)
				return nil
			}
			hasCap = err == nil
			return err
		})
		if err != nil {
			return err
		}
	}
	if bits != 0 && keepIDs != nil && keepIDs() {
		bits = 0
	}
	if bits == 0 && !hasCap {
		return nil
	}
	return l.mutateBatched(func(txn *badger.Txn) error {
		n, err := l.getInode(txn, ino)
		if err != nil {
			return err
		}
		return l.killPriv(txn, n, bits != 0)
	})
}

// killPriv clears n's privileges inside a mutation (ids: the id bits too)
// and writes n.
func (l *Layer) killPriv(txn *badger.Txn, n *Inode, ids bool) error {
	if ids {
		n.Mode &^= privBits(n.Mode)
	}
	if err := txn.Delete(xattrKey(n.Ino, CapXattr)); err != nil {
		return err
	}
	l.capFree.set(n.Ino, true)
	n.Ctime = time.Now().UnixNano()
	return l.putInode(txn, n)
}
