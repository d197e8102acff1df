package object

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// mutate runs fn as one transaction under the namespace lock. On failure the
// inode cache is dropped, because fn may have cached records that never committed.
func (l *Layer) mutate(fn func(txn *badger.Txn) error) error {
	l.nsMu.Lock()
	defer l.nsMu.Unlock()
	err := l.update(fn)
	if err != nil {
		l.cacheMu.Lock()
		clear(l.inodes)
		l.cacheMu.Unlock()
	}
	return err
}

func checkName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return ErrInvalid
	case len(name) > MaxNameLen:
		return ErrNameTooLong
	}
	return nil
}

func isDir(mode uint32) bool { return mode&syscall.S_IFMT == syscall.S_IFDIR }
func isReg(mode uint32) bool { return mode&syscall.S_IFMT == syscall.S_IFREG }

func getDirent(txn *badger.Txn, parent Ino, name string) (Dirent, error) {
	item, err := txn.Get(direntKey(parent, name))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return Dirent{}, ErrNotFound
	}
	if err != nil {
		return Dirent{}, err
	}
	var d Dirent
	err = item.Value(func(b []byte) (err error) { d, err = UnmarshalDirent(b); return })
	return d, err
}

func putDirent(txn *badger.Txn, parent Ino, name string, d Dirent) error {
	return txn.Set(direntKey(parent, name), d.MarshalBinary())
}

// Lookup returns the inode named name in directory parent.
func (l *Layer) Lookup(parent Ino, name string) (*Inode, error) {
	if len(name) > MaxNameLen {
		return nil, ErrNameTooLong
	}
	var d Dirent
	err := l.db.View(func(txn *badger.Txn) (err error) { d, err = getDirent(txn, parent, name); return })
	if err != nil {
		return nil, err
	}
	return l.Attr(d.Ino)
}

// CreateArgs describes a new object.
type CreateArgs struct {
	Mode   uint32 // type and permission bits
	UID    uint32
	GID    uint32
	Rdev   uint32
	Target string // symlinks only
}

// Create makes a new object named name in parent: a regular file (with its
// own object key), a directory, a symlink or a special file.
func (l *Layer) Create(parent Ino, name string, a CreateArgs) (*Inode, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	ino, err := l.nextIno()
	if err != nil {
		return nil, err
	}
	now := time.Now().UnixNano()
	n := &Inode{Ino: ino, Mode: a.Mode, UID: a.UID, GID: a.GID, Rdev: a.Rdev, Nlink: 1,
		Atime: now, Mtime: now, Ctime: now, Target: a.Target}
	switch {
	case isDir(a.Mode):
		n.Nlink = 2
	case a.Mode&syscall.S_IFMT == syscall.S_IFLNK:
		n.Size = int64(len(a.Target))
	case isReg(a.Mode):
		if n.SSE, err = l.newObjectKey(parent, ino); err != nil {
			return nil, err
		}
	}
	var revived *Inode
	err = l.mutate(func(txn *badger.Txn) error {
		revived = nil
		p, err := l.getInode(txn, parent)
		if err != nil {
			return err
		}
		if !isDir(p.Mode) {
			return ErrNotDir
		}
		if _, err := getDirent(txn, parent, name); err == nil {
			return ErrExists
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if isReg(a.Mode) {
			// A file created where one was deleted continues that object's
			// history, as a PUT after a delete marker does in S3.
			if old, err := l.reviveTombstone(txn, parent, name, a, now); err != nil {
				return err
			} else if old != nil {
				p.Mtime, p.Ctime = now, now
				revived = old
				return l.putInode(txn, p)
			}
		}
		if isDir(a.Mode) {
			p.Nlink++
			if err := l.inheritDirSSE(txn, parent, ino); err != nil {
				return err
			}
		}
		if isDir(a.Mode) || isReg(a.Mode) {
			if err := inheritLockDefault(txn, parent, ino); err != nil { // docs/LOCK.md
				return err
			}
		}
		p.Mtime, p.Ctime = now, now
		if err := l.putInode(txn, p); err != nil {
			return err
		}
		if err := putDirent(txn, parent, name, Dirent{Ino: ino, Mode: a.Mode & syscall.S_IFMT}); err != nil {
			return err
		}
		return l.putInode(txn, n)
	})
	if err != nil || revived != nil {
		l.forgetKey(ino)
	}
	if err != nil {
		return nil, err
	}
	if revived != nil {
		return revived, nil
	}
	return n, nil
}

// Link adds the name newName in newParent for the existing object ino.
func (l *Layer) Link(ino, newParent Ino, newName string) (*Inode, error) {
	if err := checkName(newName); err != nil {
		return nil, err
	}
	var out *Inode
	err := l.mutate(func(txn *badger.Txn) error {
		n, err := l.getInode(txn, ino)
		if err != nil {
			return err
		}
		if isDir(n.Mode) {
			return ErrIsDir
		}
		if _, err := getDirent(txn, newParent, newName); err == nil {
			return ErrExists
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		now := time.Now().UnixNano()
		if n.Nlink == 0 {
			if err := l.clearTombstone(txn, ino); err != nil {
				return err
			}
			if err := txn.Delete(inoKey(pfxOrphan, ino)); err != nil {
				return err
			}
		}
		n.Nlink++
		n.Ctime = now
		if err := l.touchDir(txn, newParent, now, 0); err != nil {
			return err
		}
		if err := putDirent(txn, newParent, newName, Dirent{Ino: ino, Mode: n.Mode & syscall.S_IFMT}); err != nil {
			return err
		}
		out = n
		return l.putInode(txn, n)
	})
	return out, err
}

// touchDir updates a directory's times and adjusts its link count.
func (l *Layer) touchDir(txn *badger.Txn, dir Ino, now int64, dlink int) error {
	p, err := l.getInode(txn, dir)
	if err != nil {
		return err
	}
	if !isDir(p.Mode) {
		return ErrNotDir
	}
	p.Mtime, p.Ctime = now, now
	p.Nlink = uint32(int(p.Nlink) + dlink)
	return l.putInode(txn, p)
}

// Unlink removes a non-directory name. When the last name of a regular file
// goes, the object stays with a delete marker as its current version, as in
// a versioned S3 bucket; its versions remain until purged.
func (l *Layer) Unlink(parent Ino, name string) error {
	return l.mutate(func(txn *badger.Txn) error {
		d, err := getDirent(txn, parent, name)
		if err != nil {
			return err
		}
		if isDir(d.Mode) {
			return ErrIsDir
		}
		now := time.Now().UnixNano()
		if err := txn.Delete(direntKey(parent, name)); err != nil {
			return err
		}
		if err := l.touchDir(txn, parent, now, 0); err != nil {
			return err
		}
		return l.dropLink(txn, d.Ino, now, parent, name)
	})
}

// dropLink removes the link parent/name of ino and retires the object when
// none remain. A regular file with content keeps its versions behind a
// delete marker and a tombstone under its last name, so its history stays
// reachable by path (the versions view, `ssefs versions`).
func (l *Layer) dropLink(txn *badger.Txn, ino Ino, now int64, parent Ino, name string) error {
	n, err := l.getInode(txn, ino)
	if err != nil {
		return err
	}
	if n.Nlink > 0 {
		n.Nlink--
	}
	n.Ctime = now
	if n.Nlink > 0 {
		return l.putInode(txn, n)
	}
	if !isReg(n.Mode) || n.Version == 0 {
		// Nothing to keep, but the kernel may still hold it (an open in
		// flight, an fstat): purge it when the kernel forgets it.
		return l.orphan(txn, n)
	}
	if err := l.addDeleteMarker(txn, n, now); err != nil {
		return err
	}
	if err := l.setTombstone(txn, parent, name, ino); err != nil {
		return err
	}
	return l.putInode(txn, n)
}

// addDeleteMarker makes a delete marker the object's current version.
func (l *Layer) addDeleteMarker(txn *badger.Txn, n *Inode, now int64) error {
	v := &Version{ID: nextVersionID(n.Version, now), Mtime: now, Flags: VersionDeleteMarker}
	b, _ := v.MarshalBinary()
	if err := txn.Set(versionKey(n.Ino, v.ID), b); err != nil {
		return err
	}
	n.Version = v.ID
	n.Size = 0
	return nil
}

// nextVersionID returns a version id after prev: the commit time in
// nanoseconds, bumped when the clock has not moved past prev.
func nextVersionID(prev uint64, now int64) uint64 {
	return max(prev+1, uint64(now))
}

// purgeObject deletes an object's records: xattrs, versions, tombstone and
// inode. Callers free the parts of its versions (purgeVersions) first.
func (l *Layer) purgeObject(txn *badger.Txn, n *Inode) error {
	if err := l.deletePrefix(txn, inoKey(pfxXattr, n.Ino)); err != nil {
		return err
	}
	if err := l.deletePrefix(txn, inoKey(pfxVersion, n.Ino)); err != nil {
		return err
	}
	if err := l.deletePrefix(txn, inoKey(pfxRule, n.Ino)); err != nil {
		return err
	}
	if err := l.clearTombstone(txn, n.Ino); err != nil {
		return err
	}
	if err := txn.Delete(inoKey(pfxOrphan, n.Ino)); err != nil {
		return err
	}
	if isDir(n.Mode) {
		if err := l.dropDirSSE(txn, n.Ino); err != nil {
			return err
		}
	}
	l.forgetKey(n.Ino)
	return l.deleteInode(txn, n.Ino)
}

// deletePrefix deletes every committed key under prefix in txn. It scans a
// read-only snapshot: an iterator on the write transaction would re-sort
// all its pending writes each time, which makes batched purges quadratic.
// Callers never add keys under prefix earlier in the same transaction.
func (l *Layer) deletePrefix(txn *badger.Txn, prefix []byte) error {
	snap := l.db.NewTransaction(false)
	defer snap.Discard()
	it := snap.NewIterator(badger.IteratorOptions{Prefix: prefix})
	var keys [][]byte
	for it.Rewind(); it.Valid(); it.Next() {
		keys = append(keys, it.Item().KeyCopy(nil))
	}
	it.Close()
	for _, k := range keys {
		if err := txn.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

func dirEmpty(txn *badger.Txn, dir Ino) bool {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: inoKey(pfxDirent, dir)})
	defer it.Close()
	it.Rewind()
	return !it.Valid()
}

// Rmdir removes an empty directory.
func (l *Layer) Rmdir(parent Ino, name string) error {
	return l.mutate(func(txn *badger.Txn) error {
		d, err := getDirent(txn, parent, name)
		if err != nil {
			return err
		}
		if !isDir(d.Mode) {
			return ErrNotDir
		}
		if !dirEmpty(txn, d.Ino) {
			return ErrNotEmpty
		}
		now := time.Now().UnixNano()
		if err := txn.Delete(direntKey(parent, name)); err != nil {
			return err
		}
		if err := l.touchDir(txn, parent, now, -1); err != nil {
			return err
		}
		n, err := l.getInode(txn, d.Ino)
		if err != nil {
			return err
		}
		return l.orphan(txn, n)
	})
}

// Rename flags, as renameat2(2).
const (
	RenameNoReplace = 1 << 0
	RenameExchange  = 1 << 1
)

// Rename moves oldName in oldParent to newName in newParent, replacing an
// existing target as rename(2) does, or honouring RENAME_NOREPLACE and
// RENAME_EXCHANGE. Objects keep their id, so their keys need no re-sealing.
func (l *Layer) Rename(oldParent Ino, oldName string, newParent Ino, newName string, flags uint32) error {
	if err := checkName(newName); err != nil {
		return err
	}
	if flags&^(RenameNoReplace|RenameExchange) != 0 || flags == RenameNoReplace|RenameExchange {
		return ErrInvalid
	}
	return l.mutate(func(txn *badger.Txn) error {
		src, err := getDirent(txn, oldParent, oldName)
		if err != nil {
			return err
		}
		dst, dstErr := getDirent(txn, newParent, newName)
		if dstErr != nil && !errors.Is(dstErr, ErrNotFound) {
			return dstErr
		}
		exists := dstErr == nil
		now := time.Now().UnixNano()
		if flags&RenameExchange != 0 {
			if !exists {
				return ErrNotFound
			}
			return l.exchange(txn, oldParent, oldName, src, newParent, newName, dst, now)
		}
		if exists && flags&RenameNoReplace != 0 {
			return ErrExists
		}
		if exists && dst.Ino == src.Ino {
			return nil // same object: rename(2) does nothing
		}
		srcDir := isDir(src.Mode)
		dlinkOld, dlinkNew := 0, 0
		if srcDir && oldParent != newParent {
			dlinkOld, dlinkNew = -1, 1
		}
		if exists {
			switch dstDir := isDir(dst.Mode); {
			case srcDir && !dstDir:
				return ErrNotDir
			case !srcDir && dstDir:
				return ErrIsDir
			case dstDir:
				if !dirEmpty(txn, dst.Ino) {
					return ErrNotEmpty
				}
				n, err := l.getInode(txn, dst.Ino)
				if err != nil {
					return err
				}
				if err := l.orphan(txn, n); err != nil {
					return err
				}
				dlinkNew--
			default:
				if err := l.dropLink(txn, dst.Ino, now, newParent, newName); err != nil {
					return err
				}
			}
		}
		if err := txn.Delete(direntKey(oldParent, oldName)); err != nil {
			return err
		}
		if err := putDirent(txn, newParent, newName, src); err != nil {
			return err
		}
		if oldParent == newParent {
			if err := l.touchDir(txn, oldParent, now, dlinkOld+dlinkNew); err != nil {
				return err
			}
		} else {
			if err := l.touchDir(txn, oldParent, now, dlinkOld); err != nil {
				return err
			}
			if err := l.touchDir(txn, newParent, now, dlinkNew); err != nil {
				return err
			}
		}
		return l.touchCtime(txn, src.Ino, now)
	})
}

func (l *Layer) exchange(txn *badger.Txn, op Ino, on string, src Dirent, np Ino, nn string, dst Dirent, now int64) error {
	if err := putDirent(txn, op, on, dst); err != nil {
		return err
	}
	if err := putDirent(txn, np, nn, src); err != nil {
		return err
	}
	if op != np {
		d := 0
		if isDir(src.Mode) {
			d--
		}
		if isDir(dst.Mode) {
			d++
		}
		if err := l.touchDir(txn, op, now, d); err != nil {
			return err
		}
		if err := l.touchDir(txn, np, now, -d); err != nil {
			return err
		}
	} else if err := l.touchDir(txn, op, now, 0); err != nil {
		return err
	}
	if err := l.touchCtime(txn, src.Ino, now); err != nil {
		return err
	}
	return l.touchCtime(txn, dst.Ino, now)
}

func (l *Layer) touchCtime(txn *badger.Txn, ino Ino, now int64) error {
	n, err := l.getInode(txn, ino)
	if err != nil {
		return err
	}
	n.Ctime = now
	return l.putInode(txn, n)
}

// DirEntry is one entry returned by ReadDir.
type DirEntry struct {
	Name string
	Ino  Ino
	Mode uint32 // type bits
}

// ReadDir lists a directory in name order.
func (l *Layer) ReadDir(dir Ino) ([]DirEntry, error) {
	var out []DirEntry
	prefix := inoKey(pfxDirent, dir)
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 100})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			var d Dirent
			err := item.Value(func(b []byte) (err error) { d, err = UnmarshalDirent(b); return })
			if err != nil {
				return fmt.Errorf("object: reading dirent: %w", err)
			}
			out = append(out, DirEntry{Name: string(item.Key()[len(prefix):]), Ino: d.Ino, Mode: d.Mode})
		}
		return nil
	})
	return out, err
}
