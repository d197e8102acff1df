package dare

import (
	"crypto/cipher"
	"fmt"
)

// Decrypt opens a whole stream. It returns plaintext only if every package
// authenticated, in order, under one stream nonce, ending in the final
// package; anything else is ErrAuthentication or ErrFormat.
func Decrypt(key []byte, ciphertext []byte) ([]byte, error) {
	l, err := streamLayout(int64(len(ciphertext)))
	if err != nil {
		return nil, err
	}
	if l.packages == 0 {
		return []byte{}, nil
	}
	ref := header(ciphertext[:HeaderSize])
	if err := ref.checkRef(); err != nil {
		return nil, err
	}
	for i := range l.packages {
		if err := header(ciphertext[l.encOffset(i):]).check(ref, l, i); err != nil {
			return nil, err
		}
	}
	out := make([]byte, l.plain)
	err = forRanges(ref.Cipher(), key, l.packages, func(aead cipher.AEAD, lo, hi int64) error {
		for i := lo; i < hi; i++ {
			pkg := ciphertext[l.encOffset(i):][:l.payloadLen(i)+Overhead]
			if err := openPackage(aead, out[i*PackageSize:i*PackageSize], pkg, i); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		clear(out)
		return nil, err
	}
	return out, nil
}

// streamLayout is layoutOf for a stream about to be decrypted: a size no
// stream can have means bytes were cut off or added, so the error matches
// ErrAuthentication as well as ErrFormat.
func streamLayout(enc int64) (layout, error) {
	l, err := layoutOf(enc)
	if err != nil {
		return layout{}, fmt.Errorf("%w: %w", ErrAuthentication, err)
	}
	return l, nil
}

// checkRef validates the reference header (package 0, or the first package
// read) whose cipher the whole stream must use.
func (h header) checkRef() error {
	if h.Version() != version20 {
		return fmt.Errorf("%w: 0x%02x", ErrUnsupportedVersion, h.Version())
	}
	if !h.Cipher().valid() {
		return fmt.Errorf("%w: 0x%02x", ErrUnsupportedCipher, uint8(h.Cipher()))
	}
	return nil
}

// check validates package i's header against the stream's reference header
// and the layout implied by the stream size, before any AEAD work. The
// final flag and the length are also bound by the AEAD, so a mismatch here
// can only mean tampering, truncation or extension.
func (h header) check(ref header, l layout, i int64) error {
	if h.Version() != version20 {
		return fmt.Errorf("%w: package %d: 0x%02x", ErrUnsupportedVersion, i, h.Version())
	}
	if h.Cipher() != ref.Cipher() {
		return authErr(i, "cipher differs from package 0")
	}
	if !h.sameStream(ref) {
		return authErr(i, "nonce of another stream")
	}
	last := i == l.packages-1
	if h.IsFinal() != last {
		if last {
			return authErr(i, "final package missing (stream truncated)")
		}
		return authErr(i, "final package before end of stream")
	}
	if h.PayloadLen() != l.payloadLen(i) {
		return authErr(i, "length does not match stream size")
	}
	return nil
}

// openPackage authenticates and decrypts package i (already checked) and
// appends its plaintext to dst, which must not overlap pkg unless it is
// pkg[HeaderSize:HeaderSize].
func openPackage(aead cipher.AEAD, dst []byte, pkg []byte, i int64) error {
	h := header(pkg[:HeaderSize])
	an := h.aeadNonce(uint32(i))
	if _, err := aead.Open(dst, an[:], pkg[HeaderSize:], h.AAD()); err != nil {
		return authErr(i, "tag mismatch")
	}
	return nil
}
