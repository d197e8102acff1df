package keyring

import (
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/ssefs/ssefs/internal/storefile"
)

// ErrNoMetaKey means the keyring holds no metadata key (one made before it existed).
var ErrNoMetaKey = errors.New("keyring: no metadata key in this keyring")

// RotateKey adds a new version of an EK under a fresh id: GenerateKey uses it from now
// on, while DEKs of older versions still decrypt until RetireOldVersions. It returns
// the new version's id.
func (b *Builtin) RotateKey(name string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st, k, err := b.lookupForAdmin(name)
	if err != nil {
		return "", err
	}
	if k.sealed {
		return "", fmt.Errorf("%w: %q", ErrKeySealed, name)
	}
	if err := b.newVersion(st, name); err != nil {
		return "", err
	}
	return st.keys[name].id.String(), nil
}

// RetireOldVersions crypto-erases every version of name except the newest, as
// DeleteKey does for the whole key. A DEK of a retired version is ErrKeyDeleted.
func (b *Builtin) RetireOldVersions(name string) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st, cur, err := b.lookupForAdmin(name)
	if err != nil {
		return 0, err
	}
	old := slices.DeleteFunc(slices.Clone(st.vers[name]), func(k *ekey) bool { return k == cur })
	if len(old) == 0 {
		return 0, nil
	}
	return len(old), b.erase(st, name, old)
}

// KeyVersionIDs returns the ids of every live version of name, oldest first.
func (b *Builtin) KeyVersionIDs(name string) ([]string, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	st, _, err := b.lookupForAdmin(name)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, k := range st.vers[name] {
		ids = append(ids, k.id.String())
	}
	return ids, nil
}

// DEKKeyID returns the id (hex) of the EK version a DEK ciphertext was made under, so
// a rotation can tell which objects still need a re-wrap without any decryption.
func DEKKeyID(ciphertext []byte) (string, bool) {
	c := dekCiphertext(ciphertext)
	if !c.valid() {
		return "", false
	}
	return hex.EncodeToString(c.keyID()), true
}

// Erased reports whether a DEK ciphertext was made under a deleted (or retired) EK,
// i.e. whether its object is unrecoverable. It needs the KMS unsealed.
func (b *Builtin) Erased(ciphertext []byte) (bool, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	st, err := b.unsealed()
	if err != nil {
		return false, err
	}
	c := dekCiphertext(ciphertext)
	if !c.valid() {
		return false, fmt.Errorf("%w: malformed ciphertext", ErrDecrypt)
	}
	var id keyID
	copy(id[:], c.keyID())
	_, dead := st.tombs[id]
	return dead, nil
}

// MetadataKey returns a copy of the store's random metadata key (the Badger
// encryption key). It lives in the keyring, sealed under the master key, so a master
// key change re-seals it and the metadata database never needs re-keying. The caller
// zeroises the copy.
func (b *Builtin) MetadataKey() ([]byte, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	st, err := b.unsealed()
	if err != nil {
		return nil, err
	}
	if st.meta == nil {
		return nil, ErrNoMetaKey
	}
	return append([]byte(nil), st.meta[:]...), nil
}

// CheckMasterKey reports whether mk opens this keyring (ErrWrongMasterKey if not),
// without changing anything; admin operations use it to authorise a caller.
func (b *Builtin) CheckMasterKey(mk MasterKey) error {
	defer mk.Zero()
	w, err := newWrapper(&mk)
	if err != nil {
		return err
	}
	v, err := storefile.ReadFile(filepath.Join(b.dir, verifierFile))
	if err != nil {
		return fmt.Errorf("keyring: verifier: %w", err)
	}
	if err := w.checkVerifier(v); err != nil {
		if errors.Is(err, errAuth) {
			return ErrWrongMasterKey
		}
		return err
	}
	return nil
}
