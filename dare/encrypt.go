package dare

import (
	"crypto/cipher"
	"crypto/rand"
	"fmt"
)

// Encrypt seals plaintext as one DARE 2.0 stream under a fresh random nonce,
// so the same key may seal many streams (see docs/FORMAT.md for the bound).
// Empty plaintext gives an empty stream, as in sio.
func Encrypt(c Cipher, key []byte, plaintext []byte) ([]byte, error) {
	return EncryptTo(nil, c, key, plaintext)
}

// EncryptTo is Encrypt writing into dst when it has the capacity
// (EncryptedSize of the plaintext), so a caller that seals many parts can
// reuse one buffer instead of allocating, and clearing, one per part.
func EncryptTo(dst []byte, c Cipher, key []byte, plaintext []byte) ([]byte, error) {
	var nonce [12]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("dare: reading random nonce: %w", err)
	}
	return encryptWithNonce(dst, c, key, &nonce, plaintext)
}

// EncryptPackagesTo is EncryptTo over plaintext handed over package by
// package: every slice but the last holds exactly PackageSize bytes, the
// last 1 to PackageSize. A caller whose data already sits in package-sized
// buffers (the object layer's 64 KiB chunks) seals it without first
// copying it into one contiguous buffer. The stream is the one EncryptTo
// makes of the concatenation.
func EncryptPackagesTo(dst []byte, c Cipher, key []byte, pkgs [][]byte) ([]byte, error) {
	var nonce [12]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("dare: reading random nonce: %w", err)
	}
	return encryptPackagesWithNonce(dst, c, key, &nonce, pkgs)
}

func encryptPackagesWithNonce(dst []byte, c Cipher, key []byte, nonce *[12]byte, pkgs [][]byte) ([]byte, error) {
	total := int64(0)
	for i, p := range pkgs {
		if len(p) != PackageSize && (i < len(pkgs)-1 || len(p) == 0 || len(p) > PackageSize) {
			return nil, fmt.Errorf("dare: EncryptPackagesTo: package %d of %d holds %d bytes", i, len(pkgs), len(p))
		}
		total += int64(len(p))
	}
	return seal(dst, c, key, nonce, total, func(i int64, n int) []byte { return pkgs[i][:n] })
}

// encryptWithNonce is Encrypt with a caller-chosen stream nonce; tests use it
// to compare bytes with sio.
func encryptWithNonce(dst []byte, c Cipher, key []byte, nonce *[12]byte, plaintext []byte) ([]byte, error) {
	return seal(dst, c, key, nonce, int64(len(plaintext)), func(i int64, n int) []byte {
		return plaintext[i*PackageSize:][:n]
	})
}

// seal writes the stream of plain bytes whose package i (n bytes) is
// plain(i, n).
func seal(dst []byte, c Cipher, key []byte, nonce *[12]byte, plain int64, pkg func(i int64, n int) []byte) ([]byte, error) {
	if !c.valid() {
		return nil, fmt.Errorf("%w: 0x%02x", ErrUnsupportedCipher, uint8(c))
	}
	size := EncryptedSize(plain)
	if size < 0 {
		return nil, fmt.Errorf("%w: %d bytes exceed the format's limit", ErrFormat, plain)
	}
	l, err := layoutOf(size)
	if err != nil {
		return nil, err
	}
	out := dst[:0]
	if int64(cap(out)) >= size {
		out = out[:size] // every byte is written below: no need to clear
	} else {
		out = make([]byte, size)
	}
	err = forRanges(c, key, l.packages, func(aead cipher.AEAD, lo, hi int64) error {
		for i := lo; i < hi; i++ {
			n := l.payloadLen(i)
			p := out[l.encOffset(i):][:n+Overhead]
			h := header(p[:HeaderSize])
			h.setVersion()
			h.setCipher(c)
			h.setPayloadLen(n)
			h.setNonce(nonce, i == l.packages-1)
			an := h.aeadNonce(uint32(i))
			aead.Seal(p[HeaderSize:HeaderSize], an[:], pkg(i, n), h.AAD())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
