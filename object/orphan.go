package object

import (
	"errors"

	"github.com/dgraph-io/badger/v4"
)

// orphan records that n lost its last name and holds nothing worth
// keeping. It is not purged yet: the kernel may still reference it (an open
// racing the unlink, a process whose cwd it is, an fstat of an open file),
// and POSIX wants those to keep working. Forget purges it once the kernel
// lets go; Open purges orphans left by a previous mount.
func (l *Layer) orphan(txn *badger.Txn, n *Inode) error {
	n.Nlink = 0
	if err := txn.Set(inoKey(pfxOrphan, n.Ino), nil); err != nil {
		return err
	}
	return l.putInode(txn, n)
}

// Forget is called when the kernel forgets ino: an orphan that no open
// file uses is purged now.
func (l *Layer) Forget(ino Ino) error {
	if l.isOpen(ino) {
		return nil
	}
	return l.mutate(func(txn *badger.Txn) error {
		if _, err := txn.Get(inoKey(pfxOrphan, ino)); errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		n, err := l.getInode(txn, ino)
		if errors.Is(err, ErrNotFound) {
			return txn.Delete(inoKey(pfxOrphan, ino))
		}
		if err != nil || n.Nlink > 0 {
			return err
		}
		return l.purgeObject(txn, n)
	})
}

// sweepOrphans purges the orphans a previous mount left: no kernel holds
// them any more.
func (l *Layer) sweepOrphans() error {
	var inos []Ino
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pfxOrphan}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			inos = append(inos, Ino(uint64FromBytes(it.Item().Key()[1:])))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, ino := range inos {
		if err := l.Forget(ino); err != nil {
			return err
		}
	}
	return nil
}
