package keyring

import (
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ssefs/ssefs/internal/storefile"
)

// CreateKey adds a new EK under a fresh random id, never reusing a deleted key's id.
func (b *Builtin) CreateKey(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	st, err := b.unsealedFor(name)
	if err != nil {
		return err
	}
	return b.createKey(st, name)
}

func (b *Builtin) createKey(st *state, name string) error {
	if _, ok := st.keys[name]; ok {
		return fmt.Errorf("%w: %q", ErrKeyExists, name)
	}
	return b.newVersion(st, name)
}

// newVersion writes a fresh EK named name under a new random id and makes it the
// name's current version.
func (b *Builtin) newVersion(st *state, name string) error {
	var id keyID
	for {
		var err error
		if id, err = newKeyID(); err != nil {
			return err
		}
		_, live := st.byID[id]
		_, dead := st.tombs[id]
		if !live && !dead {
			break
		}
	}
	created := time.Now().UTC()
	if cur, ok := st.keys[name]; ok && !created.After(cur.created) {
		created = cur.created.Add(time.Nanosecond) // a new version must sort last
	}
	k := &ekey{keyRecord: keyRecord{id: id, name: name, created: created, version: recordVersion}}
	if _, err := rand.Read(k.material[:]); err != nil {
		return fmt.Errorf("keyring: generating key: %w", err)
	}
	if err := b.writeKey(st, &k.keyRecord); err != nil {
		k.disarm()
		return err
	}
	if err := k.arm(); err != nil {
		k.disarm()
		return err
	}
	st.add(k)
	return nil
}

// DeleteKey crypto-erases an EK: the tombstone is made durable first (from then on the
// key is gone), then the key file is overwritten and removed. If the erase fails after
// the tombstone, the key is still deleted and the next open finishes the erase.
func (b *Builtin) DeleteKey(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	st, _, err := b.lookupForAdmin(name)
	if err != nil {
		return err
	}
	return b.erase(st, name, slices.Clone(st.vers[name]))
}

// erase tombstones the given versions of one key (durably, first) and then overwrites
// and removes their files. From the tombstone write on they are gone for good.
func (b *Builtin) erase(st *state, name string, vs []*ekey) error {
	tombs := make(map[keyID]struct{}, len(st.tombs)+len(vs))
	for id := range st.tombs {
		tombs[id] = struct{}{}
	}
	for _, k := range vs {
		tombs[k.id] = struct{}{}
	}
	if err := b.writeTombstones(st, tombs); err != nil {
		return err
	}
	st.tombs = tombs
	var errs []error
	for _, k := range vs {
		st.remove(k)
		k.disarm()
		if err := eraseFile(filepath.Join(b.dir, keyFileName(k.id))); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("keyring: key %q deleted, but a file was not erased (retried at next open): %w", name, err)
	}
	return nil
}

// ListKeys returns every EK, sorted by name.
func (b *Builtin) ListKeys() ([]KeyInfo, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	st, err := b.unsealed()
	if err != nil {
		return nil, err
	}
	out := make([]KeyInfo, 0, len(st.keys))
	for _, k := range st.keys {
		out = append(out, KeyInfo{Name: k.name, ID: k.id.String(), Created: k.created, Sealed: k.sealed, Version: k.version, Versions: len(st.vers[k.name])})
	}
	slices.SortFunc(out, func(a, b KeyInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// SealKey locks one EK: the sealed flag is persisted (it survives a reopen) and the key
// material is zeroised in memory. Sealing a sealed key is a no-op.
func (b *Builtin) SealKey(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	st, _, err := b.lookupForAdmin(name)
	if err != nil {
		return err
	}
	for _, k := range st.vers[name] {
		if k.sealed {
			continue
		}
		rec := k.keyRecord
		rec.sealed = true
		err = b.writeKey(st, &rec)
		clear(rec.material[:])
		if err != nil {
			return err
		}
		k.sealed = true
		k.disarm()
	}
	return nil
}

// UnsealKey reloads one sealed EK from its file and clears its sealed flag.
func (b *Builtin) UnsealKey(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	st, _, err := b.lookupForAdmin(name)
	if err != nil {
		return err
	}
	for _, k := range st.vers[name] {
		if k.sealed {
			if err := b.unsealVersion(st, name, k); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *Builtin) unsealVersion(st *state, name string, k *ekey) error {
	data, err := storefile.ReadFile(filepath.Join(b.dir, keyFileName(k.id)))
	if err != nil {
		return fmt.Errorf("keyring: unseal key %q: %w", name, err)
	}
	rec, err := st.w.openKey(data, k.id)
	if err != nil {
		return fmt.Errorf("keyring: unseal key %q: %w", name, err)
	}
	defer clear(rec.material[:])
	rec.sealed = false
	if err := b.writeKey(st, rec); err != nil {
		return err
	}
	k.material = rec.material
	k.sealed = false
	if err := k.arm(); err != nil {
		k.disarm()
		return err
	}
	return nil
}

// unsealedFor is unsealed for an operation on the key name: a bad name is
// refused first, so it is reported as such even while the keyring is
// sealed. Callers hold b.mu.
func (b *Builtin) unsealedFor(name string) (*state, error) {
	if !ValidKeyName(name) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidKeyName, name)
	}
	return b.unsealed()
}

// lookupForAdmin is unsealedFor for a key that must exist, and returns its
// current version. state.add and remove keep st.keys and st.vers to the
// same names, so callers that act on every version find them in st.vers.
func (b *Builtin) lookupForAdmin(name string) (*state, *ekey, error) {
	st, err := b.unsealedFor(name)
	if err != nil {
		return nil, nil, err
	}
	k, ok := st.keys[name]
	if !ok {
		return nil, nil, fmt.Errorf("%w: %q", ErrKeyNotFound, name)
	}
	return st, k, nil
}

// writeKey atomically (re)writes one key file.
func (b *Builtin) writeKey(st *state, rec *keyRecord) error {
	r, err := st.w.sealKey(rec)
	if err != nil {
		return err
	}
	return writeAtomic(b.dir, keyFileName(rec.id), r)
}

// writeTombstones atomically rewrites the tombstones record.
func (b *Builtin) writeTombstones(st *state, tombs map[keyID]struct{}) error {
	r, err := st.w.sealTombstones(tombs)
	if err != nil {
		return err
	}
	return writeAtomic(b.dir, tombstonesFile, r)
}
