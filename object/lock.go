package object

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Errors of object lock. ErrLocked is the one a violation returns; the FUSE
// frontend maps it to EPERM.
var (
	ErrLocked         = errors.New("object: object lock")
	ErrLockDisabled   = errors.New("object: object lock is not enabled on this store (it can only be chosen at ssefs init --object-lock)")
	ErrLockPastUntil  = errors.New("object: retain-until is not in the future")
	ErrLockBadMode    = errors.New("object: retention mode must be GOVERNANCE or COMPLIANCE")
	ErrLockNotVersion = errors.New("object: a delete marker cannot be locked")
)

// Retention modes, as S3 spells them.
const (
	ModeGovernance = "GOVERNANCE"
	ModeCompliance = "COMPLIANCE"
)

// LockState is the object-lock state of one version.
type LockState struct {
	Version     uint64    `json:"version"`
	Mode        string    `json:"mode,omitempty"` // "" when there is no retention
	RetainUntil time.Time `json:"retain_until,omitzero"`
	LegalHold   bool      `json:"legal_hold"`
}

// Locked reports whether the version is protected at now: retention not yet
// expired, or a legal hold.
func (s LockState) Locked(now time.Time) bool {
	return s.LegalHold || (s.Mode != "" && now.Before(s.RetainUntil))
}

// unmarshalLock decodes the lock record of version id.
func unmarshalLock(id uint64, b []byte) (LockState, error) {
	var r lockRecord
	if err := r.UnmarshalBinary(b); err != nil {
		return LockState{}, fmt.Errorf("%w: lock record of version %d: %w", ErrCorrupt, id, err)
	}
	s := LockState{Version: id, Mode: r.Mode.name(), LegalHold: r.LegalHold}
	if s.Mode != "" {
		s.RetainUntil = time.Unix(0, r.RetainUntil).UTC()
	}
	return s, nil
}

// ParseMode accepts a retention mode in any case.
func ParseMode(s string) (string, error) {
	switch m := strings.ToUpper(s); m {
	case ModeGovernance, ModeCompliance:
		return m, nil
	}
	return "", fmt.Errorf("%w: %q", ErrLockBadMode, s)
}

func (l *Layer) lockEnabled() error {
	if !l.st.Config.ObjectLock {
		return ErrLockDisabled
	}
	return nil
}

// lockTarget resolves version id (0: the current one) of a regular file
// and refuses delete markers.
func (l *Layer) lockTarget(ino Ino, id uint64) (uint64, error) {
	vs, err := l.Versions(ino)
	if err != nil {
		return 0, err
	}
	for _, v := range vs {
		if (id == 0 && v.Current) || v.ID == id {
			if v.DeleteMarker {
				return 0, fmt.Errorf("%w (version %d)", ErrLockNotVersion, v.ID)
			}
			return v.ID, nil
		}
	}
	return 0, fmt.Errorf("object %d has no version %d: %w", ino, id, ErrNotFound)
}

// LockOf returns the lock state of version id of ino (0: the current one).
func (l *Layer) LockOf(ino Ino, id uint64) (LockState, error) {
	id, err := l.lockTarget(ino, id)
	if err != nil {
		return LockState{}, err
	}
	var s LockState
	err = l.db.View(func(txn *metaTxn) (err error) { s, err = getLock(txn, ino, id); return })
	return s, err
}

func getLock(txn *metaTxn, ino Ino, id uint64) (LockState, error) {
	item, err := txn.getItem(lockKey(ino, id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return LockState{Version: id}, nil
	}
	if err != nil {
		return LockState{}, err
	}
	var s LockState
	err = item.Value(func(b []byte) (err error) { s, err = unmarshalLock(id, b); return })
	return s, err
}

// SetRetention sets the retention of version id of ino (0: the current
// one). mode "" removes it. The S3 rules apply: retain-until must be in the
// future; COMPLIANCE can only be extended, by anyone; GOVERNANCE can be
// shortened or removed only with bypass, which the caller grants only to
// the store owner (socket or key access). Every attempt is audited.
func (l *Layer) SetRetention(ino Ino, id uint64, mode string, until time.Time, bypass bool) (LockState, error) {
	var out LockState
	err := l.lockEnabled()
	if err == nil {
		id, err = l.lockTarget(ino, id)
	}
	if err == nil && mode != "" {
		if mode, err = ParseMode(mode); err == nil && !until.After(time.Now()) {
			err = fmt.Errorf("%w: %s", ErrLockPastUntil, until.UTC().Format(time.RFC3339))
		}
	}
	usedBypass := false
	if err == nil {
		err = l.mutate(commitNow, func(txn *metaTxn) error {
			cur, err := getLock(txn, ino, id)
			if err != nil {
				return err
			}
			usedBypass = false
			if cur.Mode != "" && time.Now().Before(cur.RetainUntil) {
				weaker := mode == "" || until.Before(cur.RetainUntil) || (cur.Mode == ModeCompliance && mode != ModeCompliance)
				if weaker && cur.Mode == ModeCompliance {
					return fmt.Errorf("%w: COMPLIANCE retention of version %d until %s can be extended but never shortened or removed, by anyone",
						ErrLocked, id, cur.RetainUntil.Format(time.RFC3339))
				}
				if weaker && !bypass {
					return fmt.Errorf("%w: GOVERNANCE retention of version %d until %s can only be shortened or removed with --bypass-governance",
						ErrLocked, id, cur.RetainUntil.Format(time.RFC3339))
				}
				usedBypass = weaker
			}
			out = LockState{Version: id, Mode: mode, RetainUntil: until.UTC(), LegalHold: cur.LegalHold}
			if mode == "" {
				out.RetainUntil = time.Time{}
			}
			return l.putLock(txn, ino, out)
		})
	}
	detail := fmt.Sprintf("object %d version %d mode %q until %s", ino, id, mode, until.UTC().Format(time.RFC3339))
	if usedBypass {
		detail += " (bypass-governance)"
	}
	l.audit("retention-set", "", err, detail)
	return out, err
}

// SetLegalHold turns the legal hold of version id of ino (0: the current
// one) on or off. Audited.
func (l *Layer) SetLegalHold(ino Ino, id uint64, on bool) (LockState, error) {
	var out LockState
	err := l.lockEnabled()
	if err == nil {
		id, err = l.lockTarget(ino, id)
	}
	if err == nil {
		err = l.mutate(commitNow, func(txn *metaTxn) error {
			cur, err := getLock(txn, ino, id)
			if err != nil {
				return err
			}
			cur.LegalHold = on
			out = cur
			return l.putLock(txn, ino, cur)
		})
	}
	l.audit("legal-hold", "", err, fmt.Sprintf("object %d version %d on=%v", ino, id, on))
	return out, err
}

func (l *Layer) putLock(txn *metaTxn, ino Ino, s LockState) error {
	if s.Mode == "" && !s.LegalHold {
		return txn.delete(lockKey(ino, s.Version))
	}
	b, _ := lockRecordOf(s).MarshalBinary()
	return txn.putBytes(lockKey(ino, s.Version), b)
}

// lockedVersions returns the versions of ino locked at now.
func (l *Layer) lockedVersions(txn *metaTxn, ino Ino, now time.Time) (map[uint64]LockState, error) {
	out := map[uint64]LockState{}
	prefix := lockPrefix(ino)
	it, err := txn.iterate(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		id := keyID(it.Item().Key())
		var s LockState
		if err := it.Item().Value(func(b []byte) (err error) { s, err = unmarshalLock(id, b); return }); err != nil {
			return nil, err
		}
		if s.Locked(now) {
			out[id] = s
		}
	}
	return out, nil
}

// LockedVersions returns the versions of ino locked now, by id.
func (l *Layer) LockedVersions(ino Ino) (map[uint64]LockState, error) {
	var out map[uint64]LockState
	err := l.db.View(func(txn *metaTxn) (err error) { out, err = l.lockedVersions(txn, ino, time.Now()); return })
	return out, err
}

// lockViolation names the rule a purge of a locked version breaks.
func lockViolation(ino Ino, s LockState) error {
	if s.LegalHold {
		return fmt.Errorf("%w: version %d of object %d is under legal hold and cannot be purged", ErrLocked, s.Version, ino)
	}
	return fmt.Errorf("%w: version %d of object %d is under %s retention until %s and cannot be purged",
		ErrLocked, s.Version, ino, s.Mode, s.RetainUntil.Format(time.RFC3339))
}

// checkPurge refuses to drop any locked version. It runs inside the purge
// transaction, so a lock set concurrently is seen.
func (l *Layer) checkPurge(txn *metaTxn, ino Ino, drop map[uint64]bool) error {
	locked, err := l.lockedVersions(txn, ino, time.Now())
	if err != nil {
		return err
	}
	for id := range drop {
		if s, ok := locked[id]; ok {
			return lockViolation(ino, s)
		}
	}
	return nil
}

// CountLocked counts the versions locked now, for ssefs status.
func (l *Layer) CountLocked() (int, error) {
	now, count := time.Now(), 0
	err := l.db.View(func(txn *metaTxn) error {
		it, err := txn.iterate(badger.IteratorOptions{Prefix: prefixKey(pfxLock), PrefetchValues: true})
		if err != nil {
			return err
		}
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			id := keyID(it.Item().Key())
			var s LockState
			if err := it.Item().Value(func(b []byte) (err error) { s, err = unmarshalLock(id, b); return }); err != nil {
				return err
			}
			if s.Locked(now) {
				count++
			}
		}
		return nil
	})
	return count, err
}

// checkKeyDelete refuses to crypto-erase a key that protects a locked
// version: deleting it would destroy what the lock keeps.
func (l *Layer) checkKeyDelete(name string) error {
	now := time.Now()
	return l.db.View(func(txn *metaTxn) error {
		it, err := txn.iterate(badger.IteratorOptions{Prefix: prefixKey(pfxLock), PrefetchValues: true})
		if err != nil {
			return err
		}
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			ino, id := keyIno(k), keyID(k)
			var s LockState
			if err := it.Item().Value(func(b []byte) (err error) { s, err = unmarshalLock(id, b); return }); err != nil {
				return err
			}
			if !s.Locked(now) {
				continue
			}
			n, err := l.getInode(txn, ino)
			if err != nil {
				continue
			}
			if n.SSE.KeyName == name {
				return fmt.Errorf("%w: key %q protects version %d of object %d, which is locked; deleting the key would erase it", ErrLocked, name, id, ino)
			}
		}
		return nil
	})
}
