package object

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// mutate runs fn as one atomic mutation under the namespace lock,
// committed as mode says (meta_batch.go): commitNow for callers whose next
// step depends on the commit, such as freeing parts the mutation
// unreferenced; commitLater for the rest, whose writes reads (Inode,
// Lookup, …) see at once and a crash loses only as part of the pending
// batch, never part of a mutation. fn follows the rule of metaTxn: every
// check that can fail before the first write. If fn fails, nothing it wrote
// remains, and the caches, which fn may have filled with records that never
// committed, are dropped.
func (l *Layer) mutate(mode commitMode, fn func(txn *metaTxn) error) error {
	l.nsMu.Lock()
	defer l.nsMu.Unlock()
	return l.db.mutate(mode, fn) // writes it drops clear the caches (onDiscard)
}

// errTombRaced: the tombstone under a name changed between Create's look
// and its mutation; Create looks again.
var errTombRaced = errors.New("object: tombstone changed concurrently")

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

func getDirent(txn *metaTxn, parent Ino, name string) (Dirent, error) {
	item, err := txn.getItem(direntKey(parent, name))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return Dirent{}, ErrNotFound
	}
	if err != nil {
		return Dirent{}, err
	}
	var d Dirent
	err = item.Value(d.UnmarshalBinary)
	return d, err
}

func putDirent(txn *metaTxn, parent Ino, name string, d Dirent) error {
	b, _ := d.MarshalBinary()
	return txn.putBytes(direntKey(parent, name), b)
}

// Lookup returns the inode named name in directory parent.
func (l *Layer) Lookup(parent Ino, name string) (*Inode, error) {
	if len(name) > MaxNameLen {
		return nil, ErrNameTooLong
	}
	var n *Inode
	err := l.db.read(func(txn *metaTxn) error {
		d, err := l.dirent(txn, parent, name)
		if err != nil {
			return err
		}
		if n = l.cachedInode(d.Ino); n != nil {
			return nil
		}
		if n, err = l.getInode(txn, d.Ino); err == nil {
			l.cacheInode(n)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	l.overlayOpen(n)
	return n, nil
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
	if err := l.roomForMeta(); err != nil {
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
	for attempt := 0; ; attempt++ {
		// Whether a tombstoned object under this name is open is asked
		// before the mutation: code inside one never takes filesMu.
		var tomb Ino
		tombOpen := false
		if isReg(a.Mode) {
			if tomb, err = l.tombOf(parent, name); err != nil {
				return nil, err
			}
			tombOpen = tomb != 0 && l.isOpen(tomb)
		}
		err = l.mutate(commitLater, func(txn *metaTxn) error {
			revived = nil
			return l.create(txn, parent, name, a, n, tomb, tombOpen, &revived)
		})
		if !errors.Is(err, errTombRaced) || attempt >= 5 {
			break
		}
	}
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

// create is the mutation of Create; tomb is the tombstoned object under
// name when Create looked (errTombRaced if that changed), tombOpen whether it
// was open.
func (l *Layer) create(txn *metaTxn, parent Ino, name string, a CreateArgs, n *Inode, tomb Ino, tombOpen bool, revived **Inode) error {
	ino, now := n.Ino, n.Ctime
	p, err := l.getInode(txn, parent)
	if err != nil {
		return err
	}
	if !isDir(p.Mode) {
		return ErrNotDir
	}
	if _, err := l.dirent(txn, parent, name); err == nil {
		return ErrExists
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	if isReg(a.Mode) {
		if cur, err := l.tomb(txn, parent, name); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		} else if cur != tomb {
			return errTombRaced
		}
		// A file created where one was deleted continues that object's
		// history, as a PUT after a delete marker does in S3.
		if old, err := l.reviveTombstone(txn, parent, name, a, now, tomb, tombOpen); err != nil {
			return err
		} else if old != nil {
			p.Mtime, p.Ctime = now, now
			*revived = old
			return l.putInode(txn, p)
		}
	}
	if isDir(a.Mode) {
		// inheritLockDefault reads after inheritDirSSE may have written:
		// read it first (metaTxn's rule).
		if _, err := getLockDefault(txn, parent); err != nil {
			return err
		}
		p.Nlink++
		if err := l.inheritDirSSE(txn, parent, ino); err != nil {
			return err
		}
		// The new directory's SSE default is known now: cache it, so the
		// first create inside needs no read (which would flush the batch).
		if c, err := readDirSSE(txn, ino); err == nil {
			l.cacheDirSSE(ino, c)
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
	if err := l.putDirent(txn, parent, name, Dirent{Ino: ino, Mode: a.Mode & syscall.S_IFMT}); err != nil {
		return err
	}
	if isDir(a.Mode) {
		l.newDirCache(ino)
	}
	return l.putInode(txn, n)
}

// Link adds the name newName in newParent for the existing object ino.
func (l *Layer) Link(ino, newParent Ino, newName string) (*Inode, error) {
	if err := checkName(newName); err != nil {
		return nil, err
	}
	if err := l.roomForMeta(); err != nil {
		return nil, err
	}
	var out *Inode
	err := l.mutate(commitLater, func(txn *metaTxn) error {
		n, err := l.getInode(txn, ino)
		if err != nil {
			return err
		}
		if isDir(n.Mode) {
			return ErrIsDir
		}
		if _, err := l.dirent(txn, newParent, newName); err == nil {
			return ErrExists
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if p, err := l.getInode(txn, newParent); err != nil {
			return err
		} else if !isDir(p.Mode) {
			return ErrNotDir
		}
		now := time.Now().UnixNano()
		if n.Nlink == 0 {
			if err := l.clearTombstone(txn, ino); err != nil {
				return err
			}
			if err := txn.delete(orphanKey(ino)); err != nil {
				return err
			}
		}
		n.Nlink++
		n.Ctime = now
		if err := l.bumpDir(txn, newParent, now, 0); err != nil {
			return err
		}
		if err := l.putDirent(txn, newParent, newName, Dirent{Ino: ino, Mode: n.Mode & syscall.S_IFMT}); err != nil {
			return err
		}
		out = n
		return l.putInode(txn, n)
	})
	return out, err
}

// touchDir updates a directory's times and adjusts its link count, for
// callers that change its entries without the name cache's helpers
// (versions.go): the cache forgets the directory.
func (l *Layer) touchDir(txn *metaTxn, dir Ino, now int64, dlink int) error {
	if txn.current {
		l.forgetDir(dir)
	}
	return l.bumpDir(txn, dir, now, dlink)
}

// bumpDir updates a directory's times and adjusts its link count.
func (l *Layer) bumpDir(txn *metaTxn, dir Ino, now int64, dlink int) error {
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
	return l.mutate(commitLater, func(txn *metaTxn) error {
		d, err := l.dirent(txn, parent, name)
		if err != nil {
			return err
		}
		if isDir(d.Mode) {
			return ErrIsDir
		}
		n, err := l.getInode(txn, d.Ino)
		if err != nil {
			return err
		}
		if _, err := l.getInode(txn, parent); err != nil {
			return err
		}
		shadowed, err := l.primeDropLink(txn, n, parent, name)
		if err != nil {
			return err
		}
		now := time.Now().UnixNano()
		if err := l.delDirent(txn, parent, name); err != nil {
			return err
		}
		if err := l.bumpDir(txn, parent, now, 0); err != nil {
			return err
		}
		return l.dropLink(txn, d.Ino, now, parent, name, shadowed)
	})
}

// primeDropLink reads, before a mutation's first write (metaTxn's rule),
// the tombstone under parent/name that dropLink of n will shadow, and
// returns its object (0 if none) for dropLink.
func (l *Layer) primeDropLink(txn *metaTxn, n *Inode, parent Ino, name string) (Ino, error) {
	if n.Nlink > 1 || !isReg(n.Mode) || n.Version == 0 {
		return 0, nil // dropLink keeps the object or orphans it: no tombstone
	}
	old, err := l.tomb(txn, parent, name)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	return old, err
}

// dropLink removes the link parent/name of ino and retires the object when
// none remain. A regular file with content keeps its versions behind a
// delete marker and a tombstone under its last name, so its history stays
// reachable by path (the versions view, `ssefs versions`).
// shadowed is the object of the tombstone under parent/name, from
// primeDropLink.
func (l *Layer) dropLink(txn *metaTxn, ino Ino, now int64, parent Ino, name string, shadowed Ino) error {
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
	if err := l.setTombstone(txn, parent, name, ino, shadowed); err != nil {
		return err
	}
	return l.putInode(txn, n)
}

// addDeleteMarker makes a delete marker the object's current version.
func (l *Layer) addDeleteMarker(txn *metaTxn, n *Inode, now int64) error {
	v := &Version{ID: nextVersionID(n.Version, now), Mtime: now, Flags: VersionDeleteMarker}
	b, _ := v.MarshalBinary()
	if err := txn.putBytes(versionKey(n.Ino, v.ID), b); err != nil {
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
// tomb is what tombstoneOf read before the mutation's first write.
func (l *Layer) purgeObject(txn *metaTxn, n *Inode, tomb tombstoneState) error {
	if err := txn.deletePrefixes(xattrPrefix(n.Ino), versionPrefix(n.Ino), ruleKey(n.Ino)); err != nil {
		return err
	}
	if err := dropTombstone(txn, n.Ino, tomb); err != nil {
		return err
	}
	if err := txn.delete(orphanKey(n.Ino)); err != nil {
		return err
	}
	l.orphans.remove(n.Ino)
	if isDir(n.Mode) {
		if err := l.dropDirSSE(txn, n.Ino); err != nil {
			return err
		}
		if txn.current {
			l.forgetDir(n.Ino)
		}
	}
	l.forgetKey(n.Ino)
	return l.deleteInode(txn, n.Ino)
}

// dirEmpty reports whether dir has no entries: from the name cache when it
// knows every entry, else by iterating (on the batch, an iterator sorts all
// pending writes; Rmdir avoids that by starting a batch of its own).
func (l *Layer) dirEmpty(txn *metaTxn, dir Ino) (bool, error) {
	if txn.current {
		if dn := l.names.dirs[dir]; dn != nil && dn.complete {
			for _, d := range dn.names {
				if d.Ino != 0 {
					return false, nil
				}
			}
			return true, nil
		}
	}
	it, err := txn.iterate(badger.IteratorOptions{Prefix: direntPrefix(dir)})
	if err != nil {
		return false, err
	}
	defer it.Close()
	it.Rewind()
	return !it.Valid(), nil
}

// needsAlone reports whether Rmdir of parent/name must check emptiness by
// iterating: name is a directory whose every entry the cache does not know.
func (l *Layer) needsAlone(parent Ino, name string) bool {
	alone := false
	l.db.read(func(txn *metaTxn) error {
		if d, err := l.dirent(txn, parent, name); err == nil && isDir(d.Mode) {
			dn := l.names.dirs[d.Ino]
			alone = dn == nil || !dn.complete
		}
		return nil
	})
	return alone
}

// Rmdir removes an empty directory. When the name cache cannot tell whether
// the directory is empty, it starts a batch of its own, so the check
// iterates committed dirents, not every pending write.
func (l *Layer) Rmdir(parent Ino, name string) error {
	mode := commitLater
	if l.needsAlone(parent, name) {
		mode = commitAlone
	}
	return l.mutate(mode, func(txn *metaTxn) error {
		d, err := l.dirent(txn, parent, name)
		if err != nil {
			return err
		}
		if !isDir(d.Mode) {
			return ErrNotDir
		}
		if empty, err := l.dirEmpty(txn, d.Ino); err != nil {
			return err
		} else if !empty {
			return ErrNotEmpty
		}
		n, err := l.getInode(txn, d.Ino)
		if err != nil {
			return err
		}
		if _, err := l.getInode(txn, parent); err != nil {
			return err
		}
		now := time.Now().UnixNano()
		if err := l.delDirent(txn, parent, name); err != nil {
			return err
		}
		if err := l.bumpDir(txn, parent, now, -1); err != nil {
			return err
		}
		l.forgetDir(d.Ino)
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
	if err := l.roomForLog(); err != nil {
		return err
	}
	return l.mutate(commitLater, func(txn *metaTxn) error {
		src, err := l.dirent(txn, oldParent, oldName)
		if err != nil {
			return err
		}
		dst, dstErr := l.dirent(txn, newParent, newName)
		if dstErr != nil && !errors.Is(dstErr, ErrNotFound) {
			return dstErr
		}
		exists := dstErr == nil
		// Everything that can fail is checked before the first write.
		for _, dir := range []Ino{oldParent, newParent} {
			if p, err := l.getInode(txn, dir); err != nil {
				return err
			} else if !isDir(p.Mode) {
				return ErrNotDir
			}
		}
		for _, ino := range []Ino{src.Ino, dst.Ino} {
			if ino != 0 {
				if _, err := l.getInode(txn, ino); err != nil {
					return err
				}
			}
		}
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
		var shadowed Ino // the tombstone dropLink shadows
		if exists && !isDir(dst.Mode) {
			n, err := l.getInode(txn, dst.Ino)
			if err != nil {
				return err
			}
			if shadowed, err = l.primeDropLink(txn, n, newParent, newName); err != nil {
				return err
			}
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
				if empty, err := l.dirEmpty(txn, dst.Ino); err != nil {
					return err
				} else if !empty {
					return ErrNotEmpty
				}
				n, err := l.getInode(txn, dst.Ino)
				if err != nil {
					return err
				}
				if err := l.orphan(txn, n); err != nil {
					return err
				}
				l.forgetDir(dst.Ino)
				dlinkNew--
			default:
				if err := l.dropLink(txn, dst.Ino, now, newParent, newName, shadowed); err != nil {
					return err
				}
			}
		}
		if err := l.delDirent(txn, oldParent, oldName); err != nil {
			return err
		}
		if err := l.putDirent(txn, newParent, newName, src); err != nil {
			return err
		}
		if oldParent == newParent {
			if err := l.bumpDir(txn, oldParent, now, dlinkOld+dlinkNew); err != nil {
				return err
			}
		} else {
			if err := l.bumpDir(txn, oldParent, now, dlinkOld); err != nil {
				return err
			}
			if err := l.bumpDir(txn, newParent, now, dlinkNew); err != nil {
				return err
			}
		}
		return l.touchCtime(txn, src.Ino, now)
	})
}

func (l *Layer) exchange(txn *metaTxn, op Ino, on string, src Dirent, np Ino, nn string, dst Dirent, now int64) error {
	if err := l.putDirent(txn, op, on, dst); err != nil {
		return err
	}
	if err := l.putDirent(txn, np, nn, src); err != nil {
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
		if err := l.bumpDir(txn, op, now, d); err != nil {
			return err
		}
		if err := l.bumpDir(txn, np, now, -d); err != nil {
			return err
		}
	} else if err := l.bumpDir(txn, op, now, 0); err != nil {
		return err
	}
	if err := l.touchCtime(txn, src.Ino, now); err != nil {
		return err
	}
	return l.touchCtime(txn, dst.Ino, now)
}

func (l *Layer) touchCtime(txn *metaTxn, ino Ino, now int64) error {
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

// ReadDir lists a directory in name order: from the name cache when it
// knows every entry, else from a snapshot of every mutation so far made (a
// pending batch is committed first), under the batch lock, so the name
// cache learns the directory's every entry.
func (l *Layer) ReadDir(dir Ino) ([]DirEntry, error) {
	if out, ok := l.cachedListing(dir); ok {
		return out, nil
	}
	var out []DirEntry
	prefix := direntPrefix(dir)
	err := l.db.list(func(txn *metaTxn) error {
		it, err := txn.iterate(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 100})
		if err != nil {
			return err
		}
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			var d Dirent
			err := item.Value(d.UnmarshalBinary)
			if err != nil {
				return fmt.Errorf("object: reading dirent: %w", err)
			}
			out = append(out, DirEntry{Name: string(item.Key()[len(prefix):]), Ino: d.Ino, Mode: d.Mode})
		}
		l.listedDir(dir, out)
		return nil
	})
	return out, err
}
