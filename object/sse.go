package object

import (
	"fmt"

	"github.com/ssefs/ssefs/keyring"
)

// newObjectKey makes the OEK of a new regular file and seals it under a
// fresh DEK of the SSE-S3 deployment key, bound to this store and object.
func (l *Layer) newObjectKey(parent, ino Ino) (SSE, error) {
	_ = parent // directory defaults (SSE-KMS, SSE-C) are resolved here once they exist
	name := keyring.DefaultKeyName
	dek, err := l.kms.GenerateKey(name, keyring.DEKContext(l.storeID, uint64(ino)))
	if err != nil {
		return SSE{}, fmt.Errorf("object: generating data key for object %d: %w", ino, err)
	}
	defer clear(dek.Plaintext)
	oek, err := keyring.NewObjectKey()
	if err != nil {
		return SSE{}, err
	}
	sealed, err := keyring.SealObjectKey(l.cipher, dek.Plaintext, keyring.DomainSSES3, l.storeID, uint64(ino), oek)
	if err != nil {
		return SSE{}, fmt.Errorf("object: sealing key of object %d: %w", ino, err)
	}
	b, err := sealed.MarshalBinary()
	if err != nil {
		return SSE{}, err
	}
	l.keysMu.Lock()
	l.oeks[ino] = oek
	l.keysMu.Unlock()
	return SSE{Domain: string(keyring.DomainSSES3), KeyName: name, SealedDEK: dek.Ciphertext, SealedOEK: b}, nil
}

// objectKey returns the unsealed OEK of n, asking the KMS when it is not cached.
func (l *Layer) objectKey(n *Inode) (keyring.ObjectKey, error) {
	l.keysMu.Lock()
	oek, ok := l.oeks[n.Ino]
	l.keysMu.Unlock()
	if ok {
		return oek, nil
	}
	if n.SSE.Domain == "" {
		return oek, fmt.Errorf("object %d has no key: %w", n.Ino, ErrInvalid)
	}
	dek, err := l.kms.Decrypt(n.SSE.KeyName, n.SSE.SealedDEK, keyring.DEKContext(l.storeID, uint64(n.Ino)))
	if err != nil {
		return oek, fmt.Errorf("object: unsealing data key of object %d: %w", n.Ino, err)
	}
	defer clear(dek)
	var sk keyring.SealedKey
	if err := sk.UnmarshalBinary(n.SSE.SealedOEK); err != nil {
		return oek, fmt.Errorf("object: sealed key of object %d: %w", n.Ino, err)
	}
	oek, err = sk.Unseal(dek, keyring.Domain(n.SSE.Domain), l.storeID, uint64(n.Ino))
	if err != nil {
		return oek, fmt.Errorf("object: unsealing key of object %d: %w", n.Ino, err)
	}
	l.keysMu.Lock()
	l.oeks[n.Ino] = oek
	l.keysMu.Unlock()
	return oek, nil
}

func (l *Layer) forgetKey(ino Ino) {
	l.keysMu.Lock()
	if k, ok := l.oeks[ino]; ok {
		k.Zero()
		delete(l.oeks, ino)
	}
	l.keysMu.Unlock()
}

// ForgetKeys zeroises every cached object key, so that a sealed KMS takes
// effect at once: the next access must ask the KMS again.
func (l *Layer) ForgetKeys() {
	l.keysMu.Lock()
	for ino, k := range l.oeks {
		k.Zero()
		delete(l.oeks, ino)
	}
	l.keysMu.Unlock()
}
