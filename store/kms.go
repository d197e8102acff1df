package store

import (
	"errors"
	"fmt"

	"github.com/ssefs/ssefs/keyring"
)

// ErrKMSUnsupported means the store's KMS lacks a feature that only some
// KMS backends (today the built-in one) have.
var ErrKMSUnsupported = errors.New("store: the KMS does not support this operation")

// KeyVersions is what key rotation and re-wrapping need beyond keyring.KMS:
// several versions of one EK, the retirement of the old ones, and whether a
// DEK was made under a version that is gone.
type KeyVersions interface {
	// RotateKey adds a new version of the EK and returns its id.
	RotateKey(name string) (string, error)
	// KeyVersionIDs lists the ids of the EK's live versions, oldest first.
	KeyVersionIDs(name string) ([]string, error)
	// RetireOldVersions crypto-erases every version but the newest.
	RetireOldVersions(name string) (int, error)
	// Erased reports whether a DEK ciphertext's EK version was deleted.
	Erased(dekCiphertext []byte) (bool, error)
}

// MasterKeyChanger is what a passphrase change needs: a KMS that the
// store's master key protects.
type MasterKeyChanger interface {
	// CheckMasterKey reports keyring.ErrWrongMasterKey unless mk is current.
	CheckMasterKey(mk keyring.MasterKey) error
	// ChangeMasterKey re-seals the KMS under newMK.
	ChangeMasterKey(newMK keyring.MasterKey) error
}

// The built-in KMS has every optional feature.
var (
	_ keyring.KMS      = (*keyring.Builtin)(nil)
	_ KeyVersions      = (*keyring.Builtin)(nil)
	_ MasterKeyChanger = (*keyring.Builtin)(nil)
)

// KeyVersions returns the store's KMS as KeyVersions, or ErrKMSUnsupported.
func (s *Store) KeyVersions() (KeyVersions, error) {
	return kmsFeature[KeyVersions](s.KMS, "keep versions of a key")
}

// MasterKeyChanger returns the store's KMS as MasterKeyChanger, or
// ErrKMSUnsupported.
func (s *Store) MasterKeyChanger() (MasterKeyChanger, error) {
	return kmsFeature[MasterKeyChanger](s.KMS, "change the master key")
}

// kmsFeature is the one place a KMS is asked for a feature beyond
// keyring.KMS; what names the feature in the error.
func kmsFeature[F any](kms keyring.KMS, what string) (F, error) {
	f, ok := kms.(F)
	if !ok {
		return f, fmt.Errorf("%w: the %s KMS cannot %s", ErrKMSUnsupported, kms.Status().Backend, what)
	}
	return f, nil
}
