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

// Caller is what clearing privileges needs to know of the process behind
// a request; each is asked only when a set-ID bit makes it matter.
type Caller interface {
	HasFSETID() bool         // CAP_FSETID in its effective set
	InGroup(gid uint32) bool // gid is its filesystem group or a supplementary one
}

// killBits returns the set-ID bits of mode (an object of group gid) that a
// change by c clears, as Linux (setattr_should_drop_suidgid, notify_change)
// and so ext4 do. A chown clears set-user-ID of every type but directories,
// whoever calls; a write or truncate clears it only on regular files and
// only for a caller without CAP_FSETID. Set-group-ID goes with it when
// group-executable, or when the caller is neither in the group nor holds
// CAP_FSETID. A nil caller counts as unprivileged and in no group.
func killBits(mode, gid uint32, c Caller, chown bool) uint32 {
	if isDir(mode) || (!chown && !isReg(mode)) {
		return 0
	}
	bits := mode & syscall.S_ISUID
	if mode&syscall.S_ISGID != 0 {
		if mode&syscall.S_IXGRP != 0 || c == nil || !(c.InGroup(gid) || c.HasFSETID()) {
			bits |= syscall.S_ISGID
		}
	}
	if bits == 0 || chown || c == nil || !c.HasFSETID() {
		return bits
	}
	return 0
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

// KillPriv does to a regular file what the kernel does before a write by
// c: clear the set-ID bits killBits names, and remove file capabilities
// whoever writes. Nothing is written when there is nothing to clear, the
// usual case.
func (l *Layer) KillPriv(ino Ino, c Caller) error {
	n, err := l.Inode(ino)
	if errors.Is(err, ErrNotFound) {
		return nil // purged while open (versions purge): the write fails at commit, as before
	}
	if err != nil {
		return err
	}
	hasCap := false
	if !l.capFree.has(ino) {
		err := l.db.read(func(txn *metaTxn) error {
			_, err := txn.getItem(xattrKey(ino, CapXattr))
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
	bits := killBits(n.Mode, n.GID, c, false)
	if bits == 0 && !hasCap {
		return nil
	}
	return l.mutate(commitLater, func(txn *metaTxn) error {
		n, err := l.getInode(txn, ino)
		if err != nil {
			return err
		}
		return l.killPriv(txn, n, killBits(n.Mode, n.GID, c, false))
	})
}

// killPriv clears bits of n's mode and its file capabilities inside a
// mutation, and writes n.
func (l *Layer) killPriv(txn *metaTxn, n *Inode, bits uint32) error {
	n.Mode &^= bits
	if err := txn.delete(xattrKey(n.Ino, CapXattr)); err != nil {
		return err
	}
	l.capFree.set(n.Ino, true)
	n.Ctime = time.Now().UnixNano()
	return l.putInode(txn, n)
}
