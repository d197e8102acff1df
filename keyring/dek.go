package keyring

import (
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
)

// dekCiphertext is a DEK sealed under an EK, as returned by GenerateKey and stored with
// the object. The key id tells a DEK of a deleted (then maybe re-created) key apart.
//
//	offset  size  field
//	0       1     version (dekVersion)
//	1       16    key id of the EK
//	17      12    GCM nonce (random)
//	29      48    AES-256-GCM(EK, nonce, DEK, AAD = context ‖ key id)
type dekCiphertext []byte

const (
	dekVersion       = 1
	dekLen           = 32
	dekHeaderLen     = 1 + 16 + 12
	dekCiphertextLen = dekHeaderLen + dekLen + 16 // 77
)

func (c dekCiphertext) version() byte  { return c[0] }
func (c dekCiphertext) keyID() []byte  { return c[1:17] }
func (c dekCiphertext) nonce() []byte  { return c[17:29] }
func (c dekCiphertext) sealed() []byte { return c[dekHeaderLen:] }
func (c dekCiphertext) valid() bool {
	return len(c) == dekCiphertextLen && c.version() == dekVersion
}

// aadPool recycles the context ‖ key id buffers, keeping the hot path to the two
// allocations the caller keeps (DEK plaintext and ciphertext).
var aadPool = sync.Pool{New: func() any { b := make([]byte, 0, 128); return &b }}

func getAAD(context, id []byte) *[]byte {
	p := aadPool.Get().(*[]byte)
	*p = append(append((*p)[:0], context...), id...)
	return p
}

func putAAD(p *[]byte) {
	if cap(*p) > 4096 {
		return // do not let one huge context pin memory in the pool
	}
	aadPool.Put(p)
}

// usableKey returns the named EK if it can be used now. Callers hold b.mu (read).
func (b *Builtin) usableKey(name string) (*state, *ekey, error) {
	st, err := b.unsealed()
	if err != nil {
		return nil, nil, err
	}
	k, ok := st.keys[name]
	if !ok {
		if !ValidKeyName(name) {
			return nil, nil, fmt.Errorf("%w: %q", ErrInvalidKeyName, name)
		}
		return nil, nil, fmt.Errorf("%w: %q", ErrKeyNotFound, name)
	}
	if k.sealed {
		return nil, nil, fmt.Errorf("%w: %q", ErrKeySealed, name)
	}
	return st, k, nil
}

// GenerateKey returns a fresh DEK sealed under the named EK and bound to context.
func (b *Builtin) GenerateKey(name string, context []byte) (DEK, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	_, k, err := b.usableKey(name)
	if err != nil {
		return DEK{}, err
	}
	pt := make([]byte, dekLen)
	ct := make(dekCiphertext, dekHeaderLen, dekCiphertextLen)
	rand.Read(pt) // crypto/rand.Read never returns an error (it crashes the program instead)
	ct[0] = dekVersion
	copy(ct.keyID(), k.id[:])
	rand.Read(ct.nonce())
	aad := getAAD(context, k.id[:])
	ct = k.aead.Seal(ct, ct.nonce(), pt, *aad)
	putAAD(aad)
	return DEK{Plaintext: pt, Ciphertext: ct, KeyName: name}, nil
}

// Decrypt opens a DEK ciphertext. A DEK of a deleted key is ErrKeyDeleted even if a key
// of the same name exists again; any other mismatch (context, tampering, another key of
// that name) is ErrDecrypt.
func (b *Builtin) Decrypt(name string, ciphertext []byte, context []byte) ([]byte, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	st, err := b.unsealed()
	if err != nil {
		return nil, err
	}
	c := dekCiphertext(ciphertext)
	if !c.valid() {
		return nil, fmt.Errorf("%w: malformed ciphertext (%d bytes)", ErrDecrypt, len(ciphertext))
	}
	var id keyID
	copy(id[:], c.keyID())
	if _, dead := st.tombs[id]; dead {
		return nil, fmt.Errorf("%w: %q (id %s)", ErrKeyDeleted, name, id)
	}
	if _, _, err := b.usableKey(name); err != nil && !errors.Is(err, ErrKeySealed) {
		return nil, err
	}
	// The id picks the version: after a rotation, DEKs of the old version still open
	// until the rotation retires it.
	k, ok := st.byID[id]
	if !ok || k.name != name {
		return nil, fmt.Errorf("%w: ciphertext was made under key id %s, not %q", ErrDecrypt, id, name)
	}
	if k.sealed {
		return nil, fmt.Errorf("%w: %q", ErrKeySealed, name)
	}
	aad := getAAD(context, k.id[:])
	pt, err := k.aead.Open(make([]byte, 0, dekLen), c.nonce(), c.sealed(), *aad)
	putAAD(aad)
	if err != nil {
		return nil, fmt.Errorf("%w: key %q: authentication failed (wrong context or tampered)", ErrDecrypt, name)
	}
	return pt, nil
}
