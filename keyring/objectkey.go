package keyring

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/ssefs/ssefs/dare"
)

// Domain separates the three ways an OEK can be sealed, so a sealed key made for one
// (say SSE-S3) can never be unsealed as another (SSE-C) even with equal key bytes.
type Domain string

// The sealing domains, as in MinIO.
const (
	DomainSSES3  Domain = "SSE-S3"
	DomainSSEKMS Domain = "SSE-KMS"
	DomainSSEC   Domain = "SSE-C"
)

func (d Domain) valid() bool { return d == DomainSSES3 || d == DomainSSEKMS || d == DomainSSEC }

// sealAlgorithm is MinIO's label for this KEK derivation.
const sealAlgorithm = "DAREv2-HMAC-SHA256"

// ObjectKey is the OEK: one random key per object (inode), shared by its versions, from
// which every part key is derived.
type ObjectKey [32]byte

// NewObjectKey returns a fresh random OEK.
func NewObjectKey() (ObjectKey, error) {
	var k ObjectKey
	if _, err := rand.Read(k[:]); err != nil {
		return k, fmt.Errorf("keyring: generating object key: %w", err)
	}
	return k, nil
}

// Zero overwrites the key once the object's handles are gone or a seal takes effect.
func (k *ObjectKey) Zero() { clear(k[:]) }

// String redacts the key so that a stray %v cannot leak it.
func (k ObjectKey) String() string { return "keyring.ObjectKey(redacted)" }

// GoString redacts the key for %#v as well.
func (k ObjectKey) GoString() string { return k.String() }

// SealedKey is an OEK sealed under a KEK derived from an external key (a DEK or an SSE-C
// client key). It is bound to the store and object id, not the path, so a rename needs no
// re-seal.
type SealedKey struct {
	IV     [32]byte
	Sealed [64]byte // DARE 2.0 stream: 16-byte header ‖ 32-byte OEK ciphertext ‖ 16-byte tag
}

// Sizes of the sealed OEK record.
const (
	sealedKeyVersion = 1
	SealedKeySize    = 1 + 32 + 64 // 97
	extKeyLen        = 32
)

// SealObjectKey seals oek for one object. c is the store's cipher preference (the DARE
// header records it, so Unseal needs no cipher argument).
func SealObjectKey(c dare.Cipher, extKey []byte, d Domain, storeID []byte, objectID uint64, oek ObjectKey) (SealedKey, error) {
	var s SealedKey
	if _, err := rand.Read(s.IV[:]); err != nil {
		return s, fmt.Errorf("keyring: seal object key: %w", err)
	}
	return sealWithIV(c, extKey, d, storeID, objectID, &oek, s.IV)
}

// sealWithIV is SealObjectKey with a caller-chosen IV, for golden tests.
func sealWithIV(c dare.Cipher, extKey []byte, d Domain, storeID []byte, objectID uint64, oek *ObjectKey, iv [32]byte) (SealedKey, error) {
	s := SealedKey{IV: iv}
	kek, err := deriveKEK(extKey, &iv, d, storeID, objectID)
	if err != nil {
		return s, err
	}
	defer clear(kek[:])
	out, err := dare.Encrypt(c, kek[:], oek[:])
	if err != nil {
		return s, fmt.Errorf("keyring: seal object key: %w", err)
	}
	if len(out) != len(s.Sealed) {
		return s, fmt.Errorf("keyring: seal object key: sealed length %d, want %d", len(out), len(s.Sealed))
	}
	copy(s.Sealed[:], out)
	return s, nil
}

// Unseal recovers the OEK. Any mismatch (external key, domain, store, object, tamper)
// is ErrUnseal.
func (s SealedKey) Unseal(extKey []byte, d Domain, storeID []byte, objectID uint64) (ObjectKey, error) {
	var oek ObjectKey
	kek, err := deriveKEK(extKey, &s.IV, d, storeID, objectID)
	if err != nil {
		return oek, err
	}
	defer clear(kek[:])
	pt, err := dare.Decrypt(kek[:], s.Sealed[:])
	if err != nil {
		return oek, fmt.Errorf("%w: %w", ErrUnseal, err)
	}
	defer clear(pt)
	if len(pt) != len(oek) {
		return oek, fmt.Errorf("%w: sealed key holds %d bytes", ErrUnseal, len(pt))
	}
	copy(oek[:], pt)
	return oek, nil
}

// deriveKEK computes KEK = HMAC-SHA256(extKey, IV ‖ domain ‖ "DAREv2-HMAC-SHA256" ‖
// storeID ‖ BE uint64 objectID). The domain strings and the label are fixed and the
// object id has a fixed width, so the concatenation is unambiguous.
func deriveKEK(extKey []byte, iv *[32]byte, d Domain, storeID []byte, objectID uint64) ([32]byte, error) {
	var kek [32]byte
	if len(extKey) != extKeyLen {
		return kek, fmt.Errorf("keyring: external key is %d bytes, want %d", len(extKey), extKeyLen)
	}
	if !d.valid() {
		return kek, fmt.Errorf("keyring: unknown sealing domain %q", d)
	}
	// HMAC-SHA256 (RFC 2104) spelled out over stack buffers: crypto/hmac costs five heap
	// allocations per call on the file create/open path and leaves its key-dependent
	// state where it cannot be zeroised.
	var kb [sha256.BlockSize]byte
	copy(kb[:], extKey)
	var buf [256]byte // fits every store id up to 93 bytes; longer ones spill to the heap
	m := buf[:0]
	for _, c := range kb {
		m = append(m, c^0x36)
	}
	m = append(m, iv[:]...)
	m = append(m, d...)
	m = append(m, sealAlgorithm...)
	m = append(m, storeID...)
	m = binary.BigEndian.AppendUint64(m, objectID)
	inner := sha256.Sum256(m)
	clear(m)
	var outer [sha256.BlockSize + sha256.Size]byte
	for i, c := range kb {
		outer[i] = c ^ 0x5c
	}
	copy(outer[sha256.BlockSize:], inner[:])
	kek = sha256.Sum256(outer[:])
	clear(outer[:])
	clear(kb[:])
	clear(inner[:])
	return kek, nil
}

// MarshalBinary encodes the record stored in the object's metadata:
// version byte (1) ‖ IV (32) ‖ sealed OEK (64).
func (s SealedKey) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, SealedKeySize)
	b = append(b, sealedKeyVersion)
	b = append(b, s.IV[:]...)
	b = append(b, s.Sealed[:]...)
	return b, nil
}

// UnmarshalBinary decodes a record written by MarshalBinary.
func (s *SealedKey) UnmarshalBinary(b []byte) error {
	if len(b) != SealedKeySize {
		return fmt.Errorf("keyring: sealed object key is %d bytes, want %d", len(b), SealedKeySize)
	}
	if b[0] != sealedKeyVersion {
		return fmt.Errorf("keyring: sealed object key version %d not supported", b[0])
	}
	copy(s.IV[:], b[1:33])
	copy(s.Sealed[:], b[33:SealedKeySize])
	return nil
}

// dekContextLabel versions the DEK context so a future layout cannot collide with it.
const dekContextLabel = "ssefs-dek-v1"

// DEKContext is the KMS context that binds a DEK to one object of one store:
// "ssefs-dek-v1" ‖ BE uint16 len(storeID) ‖ storeID ‖ BE uint64 objectID.
func DEKContext(storeID []byte, objectID uint64) []byte {
	return AppendDEKContext(make([]byte, 0, len(dekContextLabel)+2+len(storeID)+8), storeID, objectID)
}

// AppendDEKContext appends DEKContext to dst, for callers that reuse a buffer. A store
// id of 64 KiB or more is a programming error and panics.
func AppendDEKContext(dst, storeID []byte, objectID uint64) []byte {
	if len(storeID) > 0xffff {
		panic("keyring: store id longer than 65535 bytes")
	}
	dst = append(dst, dekContextLabel...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(storeID)))
	dst = append(dst, storeID...)
	return binary.BigEndian.AppendUint64(dst, objectID)
}
