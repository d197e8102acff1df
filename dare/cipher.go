package dare

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"runtime"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/sys/cpu"
)

// Cipher is the AEAD a stream uses; its value is the header's cipher byte.
type Cipher uint8

// The two DARE 2.0 ciphers.
const (
	AES256GCM        Cipher = 0x00
	ChaCha20Poly1305 Cipher = 0x01
)

// String returns the name used in store.json and on the command line.
func (c Cipher) String() string {
	switch c {
	case AES256GCM:
		return "aes-256-gcm"
	case ChaCha20Poly1305:
		return "chacha20-poly1305"
	}
	return fmt.Sprintf("cipher(0x%02x)", uint8(c))
}

// ParseCipher reads a cipher name as written by String; "auto" picks the
// fastest cipher for this CPU, so a store can defer the choice to the host.
func ParseCipher(s string) (Cipher, error) {
	switch s {
	case "aes-256-gcm":
		return AES256GCM, nil
	case "chacha20-poly1305":
		return ChaCha20Poly1305, nil
	case "auto":
		return DefaultCipher(), nil
	}
	return 0, fmt.Errorf("%w: %q", ErrUnsupportedCipher, s)
}

// HasAESHardware reports whether AES-GCM runs in constant time and at
// hardware speed here (AES-NI+PCLMULQDQ, or ARMv8 AES+PMULL); without it
// ChaCha20-Poly1305 is both faster and safer.
func HasAESHardware() bool {
	switch runtime.GOARCH {
	case "amd64", "386":
		return cpu.X86.HasAES && cpu.X86.HasPCLMULQDQ
	case "arm64":
		return cpu.ARM64.HasAES && cpu.ARM64.HasPMULL
	case "s390x":
		return cpu.S390X.HasAES && cpu.S390X.HasAESGCM
	}
	return false
}

// DefaultCipher is the cipher new streams use unless configured otherwise.
func DefaultCipher() Cipher {
	if HasAESHardware() {
		return AES256GCM
	}
	return ChaCha20Poly1305
}

// valid reports whether c is one of the two DARE 2.0 ciphers.
func (c Cipher) valid() bool { return c == AES256GCM || c == ChaCha20Poly1305 }

// newAEAD builds the AEAD for c. Callers build one per goroutine rather
// than relying on undocumented concurrency guarantees of cipher.AEAD.
func newAEAD(c Cipher, key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("%w: got %d", ErrKeySize, len(key))
	}
	switch c {
	case AES256GCM:
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("dare: aes: %w", err)
		}
		return cipher.NewGCM(block)
	case ChaCha20Poly1305:
		return chacha20poly1305.New(key)
	}
	return nil, fmt.Errorf("%w: 0x%02x", ErrUnsupportedCipher, uint8(c))
}
