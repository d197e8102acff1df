package object

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/ssefs/ssefs/keyring"
)

// pfxDirSSE keys a directory's SSE default: 'E' ino → dirSSERecord.
const pfxDirSSE = 'E'

func dirSSEKey(ino Ino) []byte { return inoKey(pfxDirSSE, ino) }

// dirSSE record: ver u8 ‖ domain bytes ‖ key-name bytes ‖ fingerprint bytes
// (bytes = len u32 ‖ data), the SSEChoice of files created in the directory.
func marshalChoice(c *SSEChoice) []byte {
	e := make(enc, 0, 64)
	e.u8(recordVersion1)
	e.str(string(c.Domain))
	e.str(c.KeyName)
	e.bytes(c.Fingerprint)
	return e
}

func unmarshalChoice(b []byte) (*SSEChoice, error) {
	d := dec{b: b}
	if v := d.u8(); d.err == nil && v != recordVersion1 {
		return nil, fmt.Errorf("object: directory SSE record version %d unsupported", v)
	}
	c := &SSEChoice{Domain: keyring.Domain(d.str()), KeyName: d.str(), Fingerprint: d.bytes()}
	if d.err != nil {
		return nil, fmt.Errorf("object: decoding directory SSE record: %w", d.err)
	}
	if len(c.Fingerprint) == 0 {
		c.Fingerprint = nil
	}
	return c, nil
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
	err := l.db.View(func(txn *badger.Txn) (err error) { c, err = readDirSSE(txn, dir); return })
	if err != nil {
		return nil, err
	}
	l.cacheDirSSE(dir, c)
	return c, nil
}

func readDirSSE(txn *badger.Txn, dir Ino) (*SSEChoice, error) {
	item, err := txn.Get(dirSSEKey(dir))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var c *SSEChoice
	err = item.Value(func(b []byte) (err error) { c, err = unmarshalChoice(b); return })
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
		err := l.mutate(func(txn *badger.Txn) error {
			if c == nil {
				return txn.Delete(dirSSEKey(d))
			}
			return txn.Set(dirSSEKey(d), marshalChoice(c))
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
func (l *Layer) inheritDirSSE(txn *badger.Txn, parent, child Ino) error {
	c, err := readDirSSE(txn, parent)
	if err != nil || c == nil {
		return err
	}
	return txn.Set(dirSSEKey(child), marshalChoice(c))
}

// dropDirSSE removes a deleted directory's default.
func (l *Layer) dropDirSSE(txn *badger.Txn, dir Ino) error {
	l.uncacheDirSSE(dir)
	return txn.Delete(dirSSEKey(dir))
}
