package object

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/ssefs/ssefs/keyring"
)

// marshalDirSSE and unmarshalDirSSE convert between c and its dirSSERecord.
func marshalDirSSE(c *SSEChoice) []byte {
	b, _ := dirSSERecord{Domain: c.Domain, KeyName: c.KeyName, Fingerprint: c.Fingerprint}.MarshalBinary()
	return b
}

func unmarshalDirSSE(b []byte) (*SSEChoice, error) {
	var r dirSSERecord
	if err := r.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return &SSEChoice{Domain: r.Domain, KeyName: r.KeyName, Fingerprint: r.Fingerprint}, nil
}

// DirDefault returns the SSE default of a directory, or nil when it has none (its
// files get SSE-S3).
func (l *Layer) DirDefault(dir Ino) (*SSEChoice, error) {
	l.sse.mu.Lock()
	c, ok := l.sse.dirs[dir]
	l.sse.mu.Unlock()
	if ok {
		return c, nil
	}
	err := l.db.View(func(txn *metaTxn) (err error) { c, err = readDirSSE(txn, dir); return })
	if err != nil {
		return nil, err
	}
	l.cacheDirSSE(dir, c)
	return c, nil
}

func readDirSSE(txn *metaTxn, dir Ino) (*SSEChoice, error) {
	item, err := txn.getItem(dirSSEKey(dir))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var c *SSEChoice
	err = item.Value(func(b []byte) (err error) { c, err = unmarshalDirSSE(b); return })
	return c, err
}

func (l *Layer) cacheDirSSE(dir Ino, c *SSEChoice) {
	l.sse.mu.Lock()
	if l.sse.dirs == nil || len(l.sse.dirs) > 100_000 {
		l.sse.dirs = map[Ino]*SSEChoice{}
	}
	l.sse.dirs[dir] = c
	l.sse.mu.Unlock()
}

func (l *Layer) uncacheDirSSE(dir Ino) {
	l.sse.mu.Lock()
	delete(l.sse.dirs, dir)
	l.sse.mu.Unlock()
}

// dirChoice is the protection a file created in parent gets.
func (l *Layer) dirChoice(parent Ino) (SSEChoice, error) {
	c, err := l.DirDefault(parent)
	if err != nil || c == nil {
		return defaultChoice, err
	}
	return *c, nil
}

// checkChoice fails with a clear error for a key name the KMS does not have.
func (l *Layer) checkChoice(c *SSEChoice) error {
	if c == nil || c.Domain == keyring.DomainSSEC {
		return nil
	}
	if !keyring.ValidKeyName(c.KeyName) {
		return fmt.Errorf("%w: %q", keyring.ErrInvalidKeyName, c.KeyName)
	}
	keys, err := l.kms.ListKeys()
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.Name == c.KeyName {
			return nil
		}
	}
	return fmt.Errorf("%w: %q (create it with: ssefs key create %s)", keyring.ErrKeyNotFound, c.KeyName, c.KeyName)
}

// SetDirDefault sets (c != nil) or removes (nil) the SSE default of directory dir and
// of every directory below it; directories created later inherit it from their
// parent. Files that exist keep their keys (re-wrap them with Rewrap).
func (l *Layer) SetDirDefault(dir Ino, c *SSEChoice) (err error) {
	key := ""
	if c != nil {
		key = c.KeyName
	}
	defer func() { l.audit("sse-dir-default", key, err, fmt.Sprintf("directory %d", dir)) }()
	if err := l.checkChoice(c); err != nil {
		return err
	}
	return l.setDirDefaultTree(dir, c)
}

func (l *Layer) setDirDefaultTree(dir Ino, c *SSEChoice) error {
	n, err := l.Inode(dir)
	if err != nil {
		return err
	}
	if !isDir(n.Mode) {
		return ErrNotDir
	}
	todo := []Ino{dir}
	for len(todo) > 0 {
		d := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		err := l.mutate(commitNow, func(txn *metaTxn) error {
			if c == nil {
				return txn.delete(dirSSEKey(d))
			}
			return txn.putBytes(dirSSEKey(d), marshalDirSSE(c))
		})
		l.uncacheDirSSE(d)
		if err != nil {
			return err
		}
		ents, err := l.ReadDir(d)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if isDir(e.Mode) {
				todo = append(todo, e.Ino)
			}
		}
	}
	return nil
}

// inheritDirSSE gives a new directory its parent's SSE default (inside the
// transaction that creates it).
func (l *Layer) inheritDirSSE(txn *metaTxn, parent, child Ino) error {
	c, err := readDirSSE(txn, parent)
	if err != nil || c == nil {
		return err
	}
	return txn.putBytes(dirSSEKey(child), marshalDirSSE(c))
}

// dropDirSSE removes a deleted directory's default.
func (l *Layer) dropDirSSE(txn *metaTxn, dir Ino) error {
	l.uncacheDirSSE(dir)
	return txn.delete(dirSSEKey(dir))
}
