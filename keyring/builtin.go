package keyring

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/ssefs/ssefs/internal/storefile"
)

// Builtin is the KMS that ships with ssefs: EKs live in dir, one file per key, each
// sealed under the master key. All state needed by GenerateKey and Decrypt is held in
// memory while unsealed, so the hot path does no disk I/O.
type Builtin struct {
	dir string

	mu     sync.RWMutex
	st     *state // nil while sealed
	closed bool

	// hook, when set by a test, runs at named stages of ChangeMasterKey; an error from it
	// aborts the change on the spot with no cleanup, as a crash would.
	hook func(stage string) error
}

var _ KMS = (*Builtin)(nil)

// state is everything the master key unlocks.
type state struct {
	w     *wrapper
	keys  map[string]*ekey   // by name: the newest version, the one GenerateKey uses
	vers  map[string][]*ekey // by name: every live version, oldest first
	byID  map[keyID]*ekey
	tombs map[keyID]struct{}
	meta  *[metaKeyLen]byte // the metadata (Badger) key; nil in a keyring without one
}

func newState(w *wrapper, tombs map[keyID]struct{}) *state {
	return &state{w: w, keys: map[string]*ekey{}, vers: map[string][]*ekey{}, byID: map[keyID]*ekey{}, tombs: tombs}
}

// add registers one key version and makes the newest version of its name current.
// Versions are ordered by creation time, then id, so every open agrees on the newest.
func (st *state) add(k *ekey) {
	vs := append(st.vers[k.name], k)
	slices.SortFunc(vs, func(a, b *ekey) int {
		if c := a.created.Compare(b.created); c != 0 {
			return c
		}
		return bytes.Compare(a.id[:], b.id[:])
	})
	st.vers[k.name] = vs
	st.keys[k.name] = vs[len(vs)-1]
	st.byID[k.id] = k
}

// remove forgets one key version (deleted or retired).
func (st *state) remove(k *ekey) {
	delete(st.byID, k.id)
	vs := slices.DeleteFunc(slices.Clone(st.vers[k.name]), func(v *ekey) bool { return v == k })
	if len(vs) == 0 {
		delete(st.vers, k.name)
		delete(st.keys, k.name)
		return
	}
	st.vers[k.name] = vs
	st.keys[k.name] = vs[len(vs)-1]
}

// ekey is one EK in memory. aead is nil while the key is sealed; material is then zero.
type ekey struct {
	keyRecord
	aead cipher.AEAD
}

func (k *ekey) arm() error {
	block, err := aes.NewCipher(k.material[:])
	if err != nil {
		return fmt.Errorf("keyring: key %s: %w", k.name, err)
	}
	k.aead, err = cipher.NewGCM(block)
	if err != nil {
		return fmt.Errorf("keyring: key %s: %w", k.name, err)
	}
	return nil
}

// disarm zeroises the key material. Go gives no way to wipe the AES key schedule held by
// the cipher, so the reference is dropped for the collector instead.
func (k *ekey) disarm() {
	clear(k.material[:])
	k.aead = nil
}

func (s *state) zero() {
	for _, k := range s.byID {
		k.disarm()
	}
	if s.meta != nil {
		clear(s.meta[:])
		s.meta = nil
	}
	s.w = nil
}

// CreateBuiltin creates a keyring in dir (which must be absent or empty) with the
// DefaultKeyName key. The verifier is written last: a keyring without one is unfinished.
func CreateBuiltin(dir string, mk MasterKey) (*Builtin, error) {
	defer mk.Zero()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keyring: create: %w", err)
	}
	if empty, err := dirEmpty(dir); err != nil {
		return nil, fmt.Errorf("keyring: create: %w", err)
	} else if !empty {
		return nil, fmt.Errorf("keyring: create: %s is not empty", dir)
	}
	w, err := newWrapper(&mk)
	if err != nil {
		return nil, err
	}
	st := newState(w, map[keyID]struct{}{})
	b := &Builtin{dir: dir, st: st}
	if err := b.writeTombstones(st, st.tombs); err != nil {
		return nil, err
	}
	if err := b.createKey(st, DefaultKeyName); err != nil {
		return nil, err
	}
	st.meta = new([metaKeyLen]byte)
	rand.Read(st.meta[:]) // crypto/rand.Read never fails (it crashes the program instead)
	mr, err := w.sealMetaKey(st.meta)
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(dir, metaKeyFile, mr); err != nil {
		return nil, err
	}
	v, err := w.sealVerifier()
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(dir, verifierFile, v); err != nil {
		return nil, err
	}
	return b, nil
}

// OpenBuiltin opens an existing keyring. With a wrong master key it returns
// ErrWrongMasterKey before touching anything; with the right one it first finishes or
// rolls back an interrupted ChangeMasterKey or DeleteKey.
func OpenBuiltin(dir string, mk MasterKey) (*Builtin, error) {
	defer mk.Zero()
	st, err := load(dir, &mk)
	if err != nil {
		return nil, err
	}
	return &Builtin{dir: dir, st: st}, nil
}

// Close seals the KMS for good.
func (b *Builtin) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.st != nil {
		b.st.zero()
		b.st = nil
	}
	b.closed = true
	return nil
}

// Seal zeroises every key held in memory, the wrap key included; Unseal needs the master
// key again.
func (b *Builtin) Seal() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	if b.st != nil {
		b.st.zero()
		b.st = nil
	}
	return nil
}

// Unseal reloads the keyring from disk with mk. A wrong key leaves the KMS as it was.
func (b *Builtin) Unseal(mk MasterKey) error {
	defer mk.Zero()
	// The lock is held across the load: recovery must not race a ChangeMasterKey.
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	st, err := load(b.dir, &mk)
	if err != nil {
		return err
	}
	if b.st != nil {
		b.st.zero()
	}
	b.st = st
	return nil
}

// Status reports the key counts. While sealed the names are unknown; Keys is then the
// number of key files on disk and SealedKeys is 0.
func (b *Builtin) Status() Status {
	b.mu.RLock()
	defer b.mu.RUnlock()
	s := Status{Backend: "builtin", Sealed: b.st == nil}
	if b.st == nil {
		ents, _ := os.ReadDir(b.dir)
		for _, e := range ents {
			if _, ok := parseKeyFileName(e.Name()); ok {
				s.Keys++
			}
		}
		return s
	}
	s.Keys = len(b.st.keys)
	for _, k := range b.st.keys {
		if k.sealed {
			s.SealedKeys++
		}
	}
	return s
}

// unsealed returns the live state or the reason there is none. Callers hold b.mu.
func (b *Builtin) unsealed() (*state, error) {
	if b.closed {
		return nil, ErrClosed
	}
	if b.st == nil {
		return nil, ErrSealed
	}
	return b.st, nil
}

// load verifies mk against the verifier, then recovers unfinished operations and reads
// every key. Nothing in dir is modified unless mk is right.
func load(dir string, mk *MasterKey) (*state, error) {
	w, err := newWrapper(mk)
	if err != nil {
		return nil, err
	}
	v, err := storefile.ReadFile(filepath.Join(dir, verifierFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("keyring: %s is not a keyring (no verifier): %w", dir, err)
		}
		return nil, fmt.Errorf("keyring: open: %w", err)
	}
	if err := w.checkVerifier(v); err != nil {
		if errors.Is(err, errAuth) {
			return nil, ErrWrongMasterKey
		}
		return nil, fmt.Errorf("keyring: verifier: %w", err)
	}
	if err := recoverDir(dir, w); err != nil {
		return nil, err
	}
	t, err := storefile.ReadFile(filepath.Join(dir, tombstonesFile))
	if err != nil {
		return nil, fmt.Errorf("%w: tombstones: %w", ErrCorrupt, err)
	}
	tombs, err := w.openTombstones(t)
	if err != nil {
		return nil, fmt.Errorf("keyring: tombstones: %w", err)
	}
	st := newState(w, tombs)
	switch m, err := storefile.ReadFile(filepath.Join(dir, metaKeyFile)); {
	case err == nil:
		if st.meta, err = w.openMetaKey(m); err != nil {
			return nil, fmt.Errorf("keyring: metadata key: %w", err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("keyring: metadata key: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("keyring: open: %w", err)
	}
	for _, e := range ents {
		id, ok := parseKeyFileName(e.Name())
		if !ok {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if _, dead := tombs[id]; dead {
			// A DeleteKey crashed after recording the tombstone: finish the erase.
			if err := eraseFile(path); err != nil {
				st.zero()
				return nil, err
			}
			continue
		}
		if err := st.addFile(path, id); err != nil {
			st.zero()
			return nil, err
		}
	}
	return st, nil
}

// addFile loads one key file into the state.
func (st *state) addFile(path string, id keyID) error {
	data, err := storefile.ReadFile(path)
	if err != nil {
		return fmt.Errorf("keyring: open: %w", err)
	}
	rec, err := st.w.openKey(data, id)
	if err != nil {
		return fmt.Errorf("keyring: key file %s: %w", filepath.Base(path), err)
	}
	k := &ekey{keyRecord: *rec}
	clear(rec.material[:])
	if k.sealed {
		k.disarm()
	} else if err := k.arm(); err != nil {
		return err
	}
	st.add(k) // two files of one name are two versions of a rotated key
	return nil
}

// recoverDir removes unfinished atomic writes and settles an interrupted
// ChangeMasterKey: a ".new" record that authenticates under the verified key belongs to a
// committed change and replaces its original; any other ".new" is discarded.
func recoverDir(dir string, w *wrapper) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("keyring: open: %w", err)
	}
	changed := false
	for _, e := range ents {
		name := e.Name()
		path := filepath.Join(dir, name)
		switch {
		case strings.HasSuffix(name, tmpSuffix):
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("keyring: recover: %w", err)
			}
			changed = true
		case strings.HasSuffix(name, newSuffix):
			base := strings.TrimSuffix(name, newSuffix)
			data, err := storefile.ReadFile(path)
			if err != nil {
				return fmt.Errorf("keyring: recover: %w", err)
			}
			if authenticates(w, base, data) {
				err = os.Rename(path, filepath.Join(dir, base))
			} else {
				err = os.Remove(path)
			}
			if err != nil {
				return fmt.Errorf("keyring: recover: %w", err)
			}
			changed = true
		}
	}
	if changed {
		return syncDir(dir)
	}
	return nil
}

// authenticates reports whether data is a valid record for file name base under w.
func authenticates(w *wrapper, base string, data []byte) bool {
	switch base {
	case verifierFile:
		return w.checkVerifier(data) == nil
	case tombstonesFile:
		_, err := w.openTombstones(data)
		return err == nil
	case metaKeyFile:
		k, err := w.openMetaKey(data)
		if k != nil {
			clear(k[:])
		}
		return err == nil
	}
	id, ok := parseKeyFileName(base)
	if !ok {
		return false
	}
	rec, err := w.openKey(data, id)
	if err != nil {
		return false
	}
	clear(rec.material[:])
	return true
}

func dirEmpty(dir string) (bool, error) {
	d, err := storefile.OpenDir(dir)
	if err != nil {
		return false, err
	}
	defer d.Close()
	_, err = d.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return false, err
}
