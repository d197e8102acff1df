package object

import (
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// LockDefault is a default retention (record 'W'). On a directory it is
// the default of new versions under it and is copied to subdirectories at
// mkdir; on a file it is the parent's default copied at create, applied to
// every version the file commits (inodes have no parent pointers, so the
// file carries its own copy).
type LockDefault struct {
	Mode string `json:"mode,omitempty"`
	Days int    `json:"days,omitempty"`
}

func getLockDefault(txn *metaTxn, ino Ino) (LockDefault, error) {
	item, err := txn.getItem(lockDefaultKey(ino))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return LockDefault{}, nil
	}
	if err != nil {
		return LockDefault{}, err
	}
	var r lockDefaultRecord
	err = item.Value(func(b []byte) error {
		if err := r.UnmarshalBinary(b); err != nil {
			return fmt.Errorf("%w: lock default of object %d: %w", ErrCorrupt, ino, err)
		}
		return nil
	})
	if err != nil {
		return LockDefault{}, err
	}
	return LockDefault{Mode: r.Mode.name(), Days: int(r.Days)}, nil
}

func putLockDefault(txn *metaTxn, ino Ino, d LockDefault) error {
	if d.Mode == "" {
		return txn.delete(lockDefaultKey(ino))
	}
	b, _ := lockDefaultRecord{Mode: lockModeOf(d.Mode), Days: uint32(d.Days)}.MarshalBinary()
	return txn.putBytes(lockDefaultKey(ino), b)
}

// SetLockDefault sets (mode "": clears) the default retention of a
// directory. It applies to files and subdirectories created afterwards.
func (l *Layer) SetLockDefault(dir Ino, d LockDefault) error {
	err := l.lockEnabled()
	if err == nil && d.Mode != "" {
		if d.Mode, err = ParseMode(d.Mode); err == nil && (d.Days < 1 || d.Days > 36500) {
			err = fmt.Errorf("%w: default retention days %d (1..36500)", ErrInvalid, d.Days)
		}
	}
	if err == nil {
		err = l.mutate(commitNow, func(txn *metaTxn) error {
			n, err := l.getInode(txn, dir)
			if err != nil {
				return err
			}
			if !isDir(n.Mode) {
				return ErrNotDir
			}
			return putLockDefault(txn, dir, d)
		})
	}
	l.audit("retention-default", "", err, fmt.Sprintf("directory %d mode %q days %d", dir, d.Mode, d.Days))
	return err
}

// LockDefaultOf returns the default retention of a directory or file.
func (l *Layer) LockDefaultOf(ino Ino) (LockDefault, error) {
	var d LockDefault
	err := l.db.View(func(txn *metaTxn) (err error) { d, err = getLockDefault(txn, ino); return })
	return d, err
}

// inheritLockDefault copies the parent's default to a new child (inside
// the creating transaction).
func inheritLockDefault(txn *metaTxn, parent, child Ino) error {
	d, err := getLockDefault(txn, parent)
	if err != nil || d.Mode == "" {
		return err
	}
	return putLockDefault(txn, child, d)
}

// applyLockDefault locks a just-committed version by the file's default
// (inside the committing transaction). Stores without object lock skip the
// lookup: commits stay one read cheaper.
func (l *Layer) applyLockDefault(txn *metaTxn, ino Ino, id uint64, now int64) error {
	if !l.st.Config.ObjectLock {
		return nil
	}
	d, err := getLockDefault(txn, ino)
	if err != nil || d.Mode == "" {
		return err
	}
	cur, err := getLock(txn, ino, id)
	if err != nil {
		return err
	}
	cur.Mode = d.Mode
	cur.RetainUntil = time.Unix(0, now).Add(time.Duration(d.Days) * 24 * time.Hour).UTC()
	b, _ := lockRecordOf(cur).MarshalBinary()
	return txn.putBytes(lockKey(ino, id), b)
}
