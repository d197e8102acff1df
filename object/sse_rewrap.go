package object

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/ssefs/ssefs/keyring"
)

// errRaced means the object's key record changed between reading and re-wrapping it.
var errRaced = errors.New("object: key record changed concurrently")

// SSEInfo describes an object's protection for `ssefs sse show` and the read-only
// xattrs; it never holds key material.
type SSEInfo struct {
	Type        string `json:"type"`                  // SSE-S3, SSE-KMS, SSE-C ("" for non-files without a default)
	KeyName     string `json:"key_name,omitempty"`    // SSE-S3 / SSE-KMS
	KeyID       string `json:"key_id,omitempty"`      // the EK version (hex) the DEK was made under
	Fingerprint string `json:"fingerprint,omitempty"` // SSE-C: hex key fingerprint
	Status      string `json:"status"`                // available, sealed, kms-sealed, deleted, no-key, wrong-key, missing
	Default     bool   `json:"default,omitempty"`     // a directory's default for new files
}

// SSEInfo reports how ino is protected (a directory: its default for new files).
func (l *Layer) SSEInfo(ino Ino) (SSEInfo, error) {
	n, err := l.Inode(ino)
	if err != nil {
		return SSEInfo{}, err
	}
	if isDir(n.Mode) {
		c, err := l.dirChoice(ino)
		if err != nil {
			return SSEInfo{}, err
		}
		info := SSEInfo{Type: string(c.Domain), KeyName: c.KeyName, Default: true, Status: "available"}
		if c.Domain == keyring.DomainSSEC {
			info.Fingerprint = fmt.Sprintf("%x", c.Fingerprint)
			if _, err := l.customerKey(c.Fingerprint); err != nil {
				info.Status = "no-key"
			}
		}
		return info, nil
	}
	if !isReg(n.Mode) {
		return SSEInfo{Type: "", Status: "available"}, nil
	}
	info := SSEInfo{Type: n.SSE.Domain, KeyName: n.SSE.KeyName}
	if keyring.Domain(n.SSE.Domain) == keyring.DomainSSEC {
		info.Fingerprint = fmt.Sprintf("%x", n.SSE.SealedDEK)
	} else if id, ok := keyring.DEKKeyID(n.SSE.SealedDEK); ok {
		info.KeyID = id
	}
	_, err = l.unsealKey(n)
	info.Status = keyStatus(err)
	return info, nil
}

// keyStatus names why an object key is or is not usable.
func keyStatus(err error) string {
	switch {
	case err == nil:
		return "available"
	case errors.Is(err, keyring.ErrKeyDeleted):
		return "deleted"
	case errors.Is(err, keyring.ErrSealed):
		return "kms-sealed"
	case errors.Is(err, keyring.ErrKeySealed):
		return "sealed"
	case errors.Is(err, ErrNoCustomerKey):
		return "no-key"
	case errors.Is(err, keyring.ErrKeyNotFound):
		return "missing"
	case errors.Is(err, keyring.ErrUnseal):
		return "wrong-key"
	}
	return "error: " + err.Error()
}

// SetFileSSE re-wraps a regular file's OEK onto another key (SSE-KMS key name,
// SSE-S3, or a supplied SSE-C key), recording an audit entry. Data is not touched.
func (l *Layer) SetFileSSE(ino Ino, c SSEChoice) (changed bool, err error) {
	defer func() { l.audit("sse-rewrap", c.KeyName, err, fmt.Sprintf("object %d to %s", ino, c.Domain)) }()
	if err := l.checkChoice(&c); err != nil {
		return false, err
	}
	return l.Rewrap(ino, c)
}

// Rewrap seals a regular file's OEK again under c: a fresh DEK of the named key (its
// newest version) or a client key. Only the key record in the inode changes, in one
// transaction; the parts and version MACs depend on the OEK alone, so no data is
// rewritten. It reports false when the file already is under c's current key.
func (l *Layer) Rewrap(ino Ino, c SSEChoice) (bool, error) {
	var curID string
	if c.Domain != keyring.DomainSSEC {
		kv, err := l.st.KeyVersions()
		if err != nil {
			return false, err
		}
		ids, err := kv.KeyVersionIDs(c.KeyName)
		if err != nil {
			return false, err
		}
		curID = ids[len(ids)-1]
	}
	for attempt := 0; ; attempt++ {
		n, err := l.Inode(ino)
		if err != nil {
			return false, err
		}
		if !isReg(n.Mode) {
			return false, ErrInvalid
		}
		if protectedBy(n, c, curID) {
			return false, nil
		}
		oek, err := l.objectKey(n)
		if err != nil {
			return false, err
		}
		sse, err := l.sealFor(ino, c, oek)
		if err != nil {
			return false, err
		}
		err = l.mutate(commitNow, func(txn *metaTxn) error {
			m, err := l.getInode(txn, ino)
			if err != nil {
				return err
			}
			if !bytes.Equal(m.SSE.SealedOEK, n.SSE.SealedOEK) {
				return errRaced
			}
			m.SSE = sse
			m.Ctime = time.Now().UnixNano()
			return l.putInode(txn, m)
		})
		if errors.Is(err, errRaced) && attempt < 5 {
			continue
		}
		return err == nil, err
	}
}

// protectedBy reports whether n is already sealed as c asks, under the key version
// curID for SSE-S3/SSE-KMS.
func protectedBy(n *Inode, c SSEChoice, curID string) bool {
	if keyring.Domain(n.SSE.Domain) != c.Domain {
		return false
	}
	if c.Domain == keyring.DomainSSEC {
		return bytes.Equal(n.SSE.SealedDEK, c.Fingerprint)
	}
	id, _ := keyring.DEKKeyID(n.SSE.SealedDEK)
	return n.SSE.KeyName == c.KeyName && id == curID
}

// Unrecoverable lists the objects whose key was crypto-erased (their EK, or the EK
// version their DEK was made under, was deleted). Their content can never be read
// again; a garbage collector may reclaim their parts. It needs the KMS unsealed.
func (l *Layer) Unrecoverable() ([]Ino, error) {
	kv, err := l.st.KeyVersions()
	if err != nil {
		return nil, err
	}
	var out []Ino
	err = l.db.View(func(txn *metaTxn) error {
		it, err := txn.iterate(badger.IteratorOptions{Prefix: prefixKey(pfxInode)})
		if err != nil {
			return err
		}
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var n Inode
			if err := it.Item().Value(n.UnmarshalBinary); err != nil {
				return err
			}
			if !isReg(n.Mode) || n.SSE.Domain == "" || keyring.Domain(n.SSE.Domain) == keyring.DomainSSEC {
				continue
			}
			dead, err := kv.Erased(n.SSE.SealedDEK)
			if err != nil {
				return err
			}
			if dead {
				out = append(out, n.Ino)
			}
		}
		return nil
	})
	return out, err
}
