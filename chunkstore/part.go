package chunkstore

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/ssefs/ssefs/dare"
)

// PartID names a part within a store. The object layer allocates ids from a
// counter and never reuses one, so each part key seals exactly one stream.
type PartID uint64

// String is the 16-hex-digit form used in file names and logs.
func (id PartID) String() string { return fmt.Sprintf("%016x", uint64(id)) }

// PartKey derives the part's DARE key as HMAC-SHA256(OEK, big-endian id):
// binding the key to the id makes a part copied under another id, or from
// another object, fail authentication.
func PartKey(oek []byte, id PartID) [32]byte {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(id))
	m := hmac.New(sha256.New, oek)
	m.Write(msg[:])
	var k [32]byte
	m.Sum(k[:0])
	return k
}

// SealPart encrypts plaintext as part id of the object whose key is oek.
func SealPart(c dare.Cipher, oek []byte, id PartID, plaintext []byte) ([]byte, error) {
	return SealPartTo(nil, c, oek, id, plaintext)
}

// SealPartTo is SealPart writing into dst when it is large enough, for
// callers that recycle buffers of parts already written out.
func SealPartTo(dst []byte, c dare.Cipher, oek []byte, id PartID, plaintext []byte) ([]byte, error) {
	return sealPart(oek, id, func(key []byte) ([]byte, error) { return dare.EncryptTo(dst, c, key, plaintext) })
}

// SealPartPackagesTo is SealPartTo over plaintext given package by package
// (see dare.EncryptPackagesTo), for callers whose data sits in 64 KiB
// buffers.
func SealPartPackagesTo(dst []byte, c dare.Cipher, oek []byte, id PartID, pkgs [][]byte) ([]byte, error) {
	return sealPart(oek, id, func(key []byte) ([]byte, error) { return dare.EncryptPackagesTo(dst, c, key, pkgs) })
}

// sealPart runs seal under part id's key, which it clears afterwards.
func sealPart(oek []byte, id PartID, seal func(key []byte) ([]byte, error)) ([]byte, error) {
	key, err := partKey(oek, id)
	if err != nil {
		return nil, err
	}
	defer clear(key[:])
	sealed, err := seal(key[:])
	if err != nil {
		return nil, fmt.Errorf("chunkstore: sealing part %v: %w", id, err)
	}
	return sealed, nil
}

// ResealPart seals the part sealed as from again as part to of the same
// object, for a part whose file name turned out to be taken. The plaintext
// lives only inside this call and is cleared before it returns.
func ResealPart(c dare.Cipher, oek []byte, from, to PartID, sealed []byte) ([]byte, error) {
	pt, err := OpenPart(oek, from, sealed)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	return SealPart(c, oek, to, pt)
}

// OpenPart decrypts a whole part. Errors match dare.ErrAuthentication or
// dare.ErrFormat when the bytes are not part id of this object.
func OpenPart(oek []byte, id PartID, sealed []byte) ([]byte, error) {
	key, err := partKey(oek, id)
	if err != nil {
		return nil, err
	}
	defer clear(key[:])
	pt, err := dare.Decrypt(key[:], sealed)
	if err != nil {
		return nil, fmt.Errorf("chunkstore: opening part %v: %w", id, err)
	}
	return pt, nil
}

// ReadPartAt decrypts plaintext [off, off+len(p)) of a part of encSize
// sealed bytes read from r, touching only the packages it needs; see
// dare.DecryptAt for the io.EOF and truncation rules.
func ReadPartAt(oek []byte, id PartID, r io.ReaderAt, encSize int64, p []byte, off int64) (int, error) {
	key, err := partKey(oek, id)
	if err != nil {
		return 0, err
	}
	defer clear(key[:])
	n, err := dare.DecryptAt(key[:], r, encSize, p, off)
	if err != nil && err != io.EOF {
		return n, fmt.Errorf("chunkstore: reading part %v at %d: %w", id, off, err)
	}
	return n, err
}

func partKey(oek []byte, id PartID) ([32]byte, error) {
	if len(oek) != 32 {
		return [32]byte{}, fmt.Errorf("%w: got %d bytes", ErrObjectKey, len(oek))
	}
	return PartKey(oek, id), nil
}
