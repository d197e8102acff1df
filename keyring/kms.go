// Package keyring is the key-management side of ssefs: the master key, the KMS that
// holds external keys (EKs) and hands out data encryption keys (DEKs), and the sealing
// of per-object keys (OEKs) under a DEK or an SSE-C client key.
//
// The hierarchy mirrors MinIO's: EK (in the KMS) → DEK (per object, stored sealed
// under the EK) → KEK = HMAC(DEK, IV ‖ domain ‖ ...) → sealed OEK → part keys.
// docs/FORMAT.md describes every byte this package writes.
package keyring

import (
	"errors"
	"regexp"
	"time"
)

// Sentinel errors. The FUSE edge maps ErrSealed and ErrKeySealed to ENOKEY, ErrKeyDeleted
// to EKEYREVOKED, and ErrDecrypt/ErrUnseal to EIO (or EACCES for a wrong SSE-C key).
var (
	ErrSealed         = errors.New("keyring: KMS is sealed")
	ErrKeySealed      = errors.New("keyring: key is sealed")
	ErrKeyNotFound    = errors.New("keyring: key not found")
	ErrKeyExists      = errors.New("keyring: key already exists")
	ErrKeyDeleted     = errors.New("keyring: key was deleted")
	ErrWrongMasterKey = errors.New("keyring: wrong master key")
	ErrInvalidKeyName = errors.New("keyring: invalid key name")
	ErrDecrypt        = errors.New("keyring: cannot decrypt data key")
	ErrUnseal         = errors.New("keyring: cannot unseal object key")
	ErrCorrupt        = errors.New("keyring: corrupt keyring record")
	ErrClosed         = errors.New("keyring: KMS is closed")
)

// DefaultKeyName is the SSE-S3 deployment key, created with the store.
const DefaultKeyName = "sse-s3"

// DEK is a fresh data encryption key: the plaintext is used once to seal an OEK and then
// zeroised; the ciphertext is stored with the object and handed back to Decrypt later.
type DEK struct {
	Plaintext  []byte
	Ciphertext []byte
	KeyName    string
}

// KeyInfo describes an EK without revealing it.
type KeyInfo struct {
	Name    string
	ID      string // random, unique for the life of the KMS, hex; a re-created name gets a new ID
	Created time.Time
	Sealed  bool
	Version int // format version of the key's on-disk record
	// Versions counts the live versions of the key: more than one while a rotation
	// has not retired the old ones yet. ID and Created are the newest version's.
	Versions int
}

// Status is the KMS summary shown by `ssefs kms status`.
type Status struct {
	Backend    string
	Sealed     bool
	Keys       int
	SealedKeys int
}

// KMS is the KES-shaped interface the object layer uses; the built-in KMS implements it
// and PKCS#11 or KMIP backends can later. Every DEK is bound to a caller-chosen context
// (see DEKContext) that Decrypt must repeat exactly.
type KMS interface {
	// CreateKey adds a new EK with a fresh random ID.
	CreateKey(name string) error
	// DeleteKey crypto-erases an EK: every DEK sealed under it becomes undecryptable.
	DeleteKey(name string) error
	// ListKeys lists every EK, sorted by name.
	ListKeys() ([]KeyInfo, error)
	// GenerateKey returns a fresh random 32-byte DEK and its ciphertext under the named EK.
	GenerateKey(name string, context []byte) (DEK, error)
	// Decrypt returns the plaintext of a DEK ciphertext made by GenerateKey with the same
	// name and context.
	Decrypt(name string, ciphertext []byte, context []byte) ([]byte, error)
	// Seal zeroises all key material held in memory; nothing works until Unseal.
	Seal() error
	// Unseal reloads the keys with the master key (ErrWrongMasterKey if it is wrong).
	Unseal(mk MasterKey) error
	// SealKey locks one EK (persistently) and zeroises it in memory.
	SealKey(name string) error
	// UnsealKey reverses SealKey.
	UnsealKey(name string) error
	// Status summarises the KMS.
	Status() Status
}

// maxKeyNameLen is the longest key name; the on-disk record reserves exactly this much.
const maxKeyNameLen = 64

var keyNameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ValidKeyName reports whether name may name an EK. Names are restricted so they are safe
// in CLI output, logs and S3 headers.
func ValidKeyName(name string) bool { return keyNameRE.MatchString(name) }
