package object

import (
	"errors"
	"syscall"

	"github.com/dgraph-io/badger/v4"
)

// setTombstone records that the deleted object ino was last named
// parent/name. An older tombstone under that name is shadowed: its object
// stays (for lifecycle rules and gc) but is no longer reachable by path.
// old is that object (0 if none), read before the mutation's first write.
func (l *Layer) setTombstone(txn *metaTxn, parent Ino, name string, ino, old Ino) error {
	if old != 0 && old != ino {
		unnamed, _ := deletedRecord{}.MarshalBinary()
		if err := txn.putBytes(deletedKey(old), unnamed); err != nil {
			return err
		}
	}
	l.tombAdded(parent)
	loc, _ := deletedRecord{Named: true, Parent: parent, Name: name}.MarshalBinary()
	if err := txn.putBytes(deletedKey(ino), loc); err != nil {
		return err
	}
	tomb, _ := tombRecord{Ino: ino}.MarshalBinary()
	return txn.putBytes(tombKey(parent, name), tomb)
}

// clearTombstone forgets that ino is deleted, wherever it was named.
func (l *Layer) clearTombstone(txn *metaTxn, ino Ino) error {
	t, err := tombstoneOf(txn, ino)
	if err != nil {
		return err
	}
	return dropTombstone(txn, ino, t)
}

// dropTombstone is clearTombstone with what tombstoneOf read before the
// mutation's first write.
func dropTombstone(txn *metaTxn, ino Ino, t tombstoneState) error {
	if !t.deleted {
		return nil
	}
	if t.ownName {
		if err := txn.delete(tombKey(t.loc.Parent, t.loc.Name)); err != nil {
			return err
		}
	}
	return txn.delete(deletedKey(ino))
}

// tombstoneState is what clearTombstone reads about a deleted object.
type tombstoneState struct {
	deleted bool          // ino has a deleted record
	loc     deletedRecord // where it was named
	ownName bool          // the tombstone under that name is still its own
}

// tombstoneOf reads the records clearTombstone changes. A mutation that
// clears a tombstone after its first write calls it before (metaTxn's rule).
func tombstoneOf(txn *metaTxn, ino Ino) (tombstoneState, error) {
	var t tombstoneState
	var err error
	if t.deleted, err = txn.get(deletedKey(ino), &t.loc); err != nil || !t.deleted || !t.loc.Named {
		return t, err
	}
	cur, err := getTomb(txn, t.loc.Parent, t.loc.Name)
	t.ownName = err == nil && cur == ino
	return t, nil
}

// getTomb returns the deleted object last named parent/name.
func getTomb(txn *metaTxn, parent Ino, name string) (Ino, error) {
	item, err := txn.getItem(tombKey(parent, name))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	var r tombRecord
	err = item.Value(r.UnmarshalBinary)
	return r.Ino, err
}

// tombOf returns the deleted object last named parent/name, or 0.
func (l *Layer) tombOf(parent Ino, name string) (Ino, error) {
	var ino Ino
	err := l.db.read(func(txn *metaTxn) (err error) { ino, err = l.tomb(txn, parent, name); return })
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	return ino, err
}

// reviveTombstone gives the name parent/name back to the deleted regular
// file ino last known by it (the caller checked the tombstone and whether
// ino is open), so a new file there continues its history.
func (l *Layer) reviveTombstone(txn *metaTxn, parent Ino, name string, a CreateArgs, now int64, ino Ino, open bool) (*Inode, error) {
	if ino == 0 {
		return nil, nil
	}
	n, err := l.getInode(txn, ino)
	if err != nil || !isReg(n.Mode) || n.Nlink > 0 || open {
		// A stale or still-open object: the new file is a new object.
		return nil, nil
	}
	if err := l.clearTombstone(txn, ino); err != nil {
		return nil, err
	}
	n.Nlink = 1
	n.Mode, n.UID, n.GID = a.Mode, a.UID, a.GID
	n.Atime, n.Mtime, n.Ctime = now, now, now
	if err := l.putDirent(txn, parent, name, Dirent{Ino: ino, Mode: a.Mode & syscall.S_IFMT}); err != nil {
		return nil, err
	}
	return n, l.putInode(txn, n)
}

// TombstonesOf lists the deleted objects last named in directory dir.
func (l *Layer) TombstonesOf(dir Ino) ([]DirEntry, error) {
	var out []DirEntry
	prefix := tombPrefix(dir)
	err := l.db.View(func(txn *metaTxn) error {
		it, err := txn.iterate(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		if err != nil {
			return err
		}
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var r tombRecord
			if err := it.Item().Value(r.UnmarshalBinary); err != nil {
				return err
			}
			out = append(out, DirEntry{Name: string(it.Item().Key()[len(prefix):]), Ino: r.Ino, Mode: syscall.S_IFREG})
		}
		return nil
	})
	return out, err
}

// LookupDeleted returns the deleted object last named parent/name.
func (l *Layer) LookupDeleted(parent Ino, name string) (*Inode, error) {
	var ino Ino
	err := l.db.read(func(txn *metaTxn) (err error) { ino, err = getTomb(txn, parent, name); return })
	if err != nil {
		return nil, err
	}
	return l.Inode(ino)
}
