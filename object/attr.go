package object

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Attr is what getattr shows: the inode record, with size and mtime of
// uncommitted writes when the file is open.
func (l *Layer) Attr(ino Ino) (*Inode, error) {
	n, err := l.Inode(ino)
	if err != nil {
		return nil, err
	}
	l.overlayOpen(n)
	return n, nil
}

// overlayOpen shows the uncommitted size and mtime of an open file in n.
func (l *Layer) overlayOpen(n *Inode) {
	if f := l.openState(n.Ino); f != nil {
		f.mu.RLock()
		n.Size, n.Mtime = f.size, f.mtime
		f.mu.RUnlock()
	}
}

// SetAttrArgs lists the attributes to change; nil fields stay as they are.
type SetAttrArgs struct {
	Mode  *uint32 // permission bits only
	UID   *uint32
	GID   *uint32
	Atime *int64
	Mtime *int64
	Size  *int64
	// KillPriv clears set-ID bits (killBits, for Caller) and file
	// capabilities: a truncate or chown the kernel flags FATTR_KILL_SUIDGID.
	KillPriv bool
	Caller   Caller
}

// SetAttr changes attributes. A size change of a regular file is a content
// change and commits a new version.
func (l *Layer) SetAttr(ino Ino, a SetAttrArgs) (*Inode, error) {
	if a.Size != nil {
		// A truncate through an open file (ftruncate, open with O_TRUNC)
		// belongs to that open's version, committed at close; a truncate
		// by path is a version of its own.
		open := l.openState(ino) != nil
		f, err := l.OpenFile(ino)
		if err != nil {
			return nil, err
		}
		err = f.Truncate(*a.Size)
		if err == nil && !open {
			err = f.Commit()
		}
		if rerr := f.Release(); err == nil {
			err = rerr
		}
		if err != nil {
			return nil, err
		}
	}
	if err := l.roomForLog(); err != nil {
		return nil, err
	}
	var out *Inode
	err := l.mutate(commitLater, func(txn *metaTxn) error {
		n, err := l.getInode(txn, ino)
		if err != nil {
			return err
		}
		now := time.Now().UnixNano()
		// Judged on the mode and group before the change, as the kernel does.
		var kill uint32
		if a.KillPriv {
			kill = killBits(n.Mode, n.GID, a.Caller, a.UID != nil || a.GID != nil)
		}
		if a.Mode != nil {
			n.Mode = n.Mode&syscall.S_IFMT | *a.Mode&^uint32(syscall.S_IFMT)
		}
		if a.UID != nil {
			n.UID = *a.UID
		}
		if a.GID != nil {
			n.GID = *a.GID
		}
		if a.Atime != nil {
			n.Atime = *a.Atime
		}
		if a.Mtime != nil {
			n.Mtime = *a.Mtime
		}
		if a.KillPriv {
			if err := l.killPriv(txn, n, kill); err != nil {
				return err
			}
		}
		n.Ctime = now
		out = n
		return l.putInode(txn, n)
	})
	if err != nil {
		return nil, err
	}
	if a.Mtime != nil {
		// After the mutation: code inside one never takes filesMu or f.mu
		// (File.Commit holds f.mu while it waits for nsMu).
		if f := l.openState(ino); f != nil {
			f.mu.Lock()
			f.mtime = *a.Mtime
			f.mu.Unlock()
		}
	}
	return l.Attr(out.Ino)
}

// Xattr flags, as setxattr(2).
const (
	XattrCreate  = 1
	XattrReplace = 2
)

// GetXattr returns one extended attribute.
func (l *Layer) GetXattr(ino Ino, name string) ([]byte, error) {
	var out []byte
	err := l.db.read(func(txn *metaTxn) error {
		item, err := txn.getItem(xattrKey(ino, name))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return ErrNoData
		}
		if err != nil {
			return err
		}
		out, err = item.ValueCopy(nil)
		return err
	})
	return out, err
}

// SetXattr stores one extended attribute; the metadata database keeps it
// encrypted at rest like every other record.
func (l *Layer) SetXattr(ino Ino, name string, value []byte, flags uint32) error {
	if len(value) > MaxXattrSize {
		return ErrTooBig
	}
	if name == "" || len(name) > MaxNameLen {
		return ErrInvalid
	}
	if err := l.roomForMeta(); err != nil {
		return err
	}
	return l.mutate(commitLater, func(txn *metaTxn) error {
		n, err := l.getInode(txn, ino)
		if err != nil {
			return err
		}
		_, err = txn.getItem(xattrKey(ino, name))
		exists := err == nil
		if err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		if flags&XattrCreate != 0 && exists {
			return ErrExists
		}
		if flags&XattrReplace != 0 && !exists {
			return ErrNoData
		}
		if err := txn.putBytes(xattrKey(ino, name), append([]byte(nil), value...)); err != nil {
			return err
		}
		if name == CapXattr {
			l.capFree.set(ino, false)
		}
		n.Ctime = time.Now().UnixNano()
		return l.putInode(txn, n)
	})
}

// RemoveXattr deletes one extended attribute.
func (l *Layer) RemoveXattr(ino Ino, name string) error {
	return l.mutate(commitLater, func(txn *metaTxn) error {
		if _, err := txn.getItem(xattrKey(ino, name)); errors.Is(err, badger.ErrKeyNotFound) {
			return ErrNoData
		} else if err != nil {
			return err
		}
		return txn.delete(xattrKey(ino, name))
	})
}

// ListXattr returns the names of all extended attributes of ino.
func (l *Layer) ListXattr(ino Ino) ([]string, error) {
	var names []string
	prefix := xattrPrefix(ino)
	err := l.db.View(func(txn *metaTxn) error {
		it, err := txn.iterate(badger.IteratorOptions{Prefix: prefix})
		if err != nil {
			return err
		}
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			names = append(names, string(it.Item().Key()[len(prefix):]))
		}
		return nil
	})
	return names, err
}

// Stats summarises the store for `ssefs status` and statfs.
type Stats struct {
	Objects       int64 // inodes
	Files         int64 // regular files with a name
	Versions      int64 // version records, delete markers included
	PlainBytes    int64 // sum of current sizes of regular files
	StoredBytes   int64 // bytes of part files plus inline parts
	PartFiles     int64
	InlineParts   int64
	DeletedObject int64 // objects whose current version is a delete marker
	Locked        int64 // versions under retention or legal hold now (docs/LOCK.md)
}

// Stats walks the metadata; it costs a full scan, so it serves admin
// commands, not hot paths.
func (l *Layer) Stats() (Stats, error) {
	var s Stats
	now := time.Now()
	err := l.db.View(func(txn *metaTxn) error {
		it, err := txn.iterate(badger.IteratorOptions{})
		if err != nil {
			return err
		}
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			switch item.Key()[0] {
			case pfxInode:
				s.Objects++
				var n Inode
				if err := item.Value(n.UnmarshalBinary); err != nil {
					return err
				}
				if isReg(n.Mode) && n.Nlink > 0 {
					s.Files++
					s.PlainBytes += n.Size
				}
			case pfxVersion:
				s.Versions++
			case pfxInline:
				s.InlineParts++
				s.StoredBytes += item.ValueSize()
			case pfxDeleted:
				s.DeletedObject++
			case pfxLock:
				k := item.Key()
				var ls LockState
				if err := item.Value(func(b []byte) (err error) { ls, err = unmarshalLock(keyID(k), b); return }); err != nil {
					return err
				}
				if ls.Locked(now) {
					s.Locked++
				}
			}
		}
		return nil
	})
	if err != nil {
		return s, fmt.Errorf("object: scanning metadata: %w", err)
	}
	bytes, parts, err := l.st.Parts.Usage()
	if err != nil {
		return s, err
	}
	s.StoredBytes += bytes
	s.PartFiles = parts
	return s, nil
}
