package fs

import (
	"context"
	"errors"
	"time"

	"github.com/ssefs/ssefs/object"
)

// The object-lock state of the current version, read-only: it is changed
// with ssefs retention and ssefs legal-hold, never by setfattr, so that the
// rules and the audit log cannot be bypassed (docs/LOCK.md).
func lockXattrs() virtualXattrTable {
	return virtualXattrTable{
		VirtualPrefix + "retention.mode": {get: func(ctx context.Context, n *Node) ([]byte, error) {
			s, err := n.l.LockOf(n.ino, 0)
			if err != nil || s.Mode == "" {
				return nil, noLockAttr(err)
			}
			return []byte(s.Mode), nil
		}},
		VirtualPrefix + "retention.retain-until": {get: func(ctx context.Context, n *Node) ([]byte, error) {
			s, err := n.l.LockOf(n.ino, 0)
			if err != nil || s.Mode == "" {
				return nil, noLockAttr(err)
			}
			return []byte(s.RetainUntil.UTC().Format(time.RFC3339)), nil
		}},
		VirtualPrefix + "legal-hold": {get: func(ctx context.Context, n *Node) ([]byte, error) {
			s, err := n.l.LockOf(n.ino, 0)
			if err != nil {
				return nil, noLockAttr(err)
			}
			if s.LegalHold {
				return []byte("ON"), nil
			}
			return []byte("OFF"), nil
		}},
	}
}

// noLockAttr reports an absent lock as ENODATA, like any unset attribute.
// Directories, symlinks and a current delete marker have no lock either.
func noLockAttr(err error) error {
	if err != nil && !errors.Is(err, object.ErrInvalid) && !errors.Is(err, object.ErrLockNotVersion) {
		return err
	}
	return object.ErrNoData
}
