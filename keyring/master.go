package keyring

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/crypto/argon2"
)

// MasterKey unlocks the built-in KMS. It never touches the disk: it comes from a
// passphrase (through KDF) or from a key file, and is zeroised as soon as it is used.
type MasterKey [32]byte

// Zero overwrites the key so it does not outlive its use in memory.
func (k *MasterKey) Zero() { clear(k[:]) }

// String redacts the key so that a stray %v in a log line cannot leak it.
func (k MasterKey) String() string { return "keyring.MasterKey(redacted)" }

// GoString redacts the key for %#v as well.
func (k MasterKey) GoString() string { return k.String() }

// KDF algorithms stored in KDF.Algorithm.
const (
	KDFArgon2id = "argon2id"
	KDFKeyFile  = "keyfile"
)

// Default argon2id cost for new stores: RFC 9106's second recommended option
// (t=3, 64 MiB), with 2 lanes.
const (
	defaultArgonTime    = 3
	defaultArgonMemory  = 64 * 1024 // KiB
	defaultArgonThreads = 2
	saltSize            = 16
	minSaltSize         = 8
	maxArgonMemory      = 4 << 20 // KiB (4 GiB): refuse absurd parameters from a doctored store.json
)

// KDF records how the master key is obtained. It is stored in store.json, so it holds
// parameters only, never a secret.
type KDF struct {
	Algorithm string `json:"algorithm"` // "argon2id" | "keyfile"
	Salt      []byte `json:"salt,omitempty"`
	Time      uint32 `json:"time,omitempty"`
	MemoryKiB uint32 `json:"memory_kib,omitempty"`
	Threads   uint8  `json:"threads,omitempty"`
}

// NewPassphraseKDF returns argon2id parameters with a fresh random salt, so that two
// stores with the same passphrase still have unrelated master keys.
func NewPassphraseKDF() (KDF, error) {
	salt := make([]byte, saltSize)
	if _, err := rand.Read(salt); err != nil {
		return KDF{}, fmt.Errorf("keyring: generating KDF salt: %w", err)
	}
	return KDF{
		Algorithm: KDFArgon2id,
		Salt:      salt,
		Time:      defaultArgonTime,
		MemoryKiB: defaultArgonMemory,
		Threads:   defaultArgonThreads,
	}, nil
}

// KeyFileKDF marks a store whose master key is read from a key file (ReadKeyFile).
func KeyFileKDF() KDF { return KDF{Algorithm: KDFKeyFile} }

// Derive stretches a passphrase into the master key. It rejects parameters that would
// make argon2 panic or make the derivation trivially weak.
func (k KDF) Derive(passphrase []byte) (MasterKey, error) {
	var mk MasterKey
	switch {
	case k.Algorithm != KDFArgon2id:
		return mk, fmt.Errorf("keyring: KDF %q does not take a passphrase", k.Algorithm)
	case len(passphrase) == 0:
		return mk, errors.New("keyring: empty passphrase")
	case len(k.Salt) < minSaltSize:
		return mk, fmt.Errorf("keyring: argon2id salt is %d bytes, need at least %d", len(k.Salt), minSaltSize)
	case k.Time < 1:
		return mk, errors.New("keyring: argon2id time must be at least 1")
	case k.Threads < 1:
		return mk, errors.New("keyring: argon2id threads must be at least 1")
	case k.MemoryKiB < 8*uint32(k.Threads) || k.MemoryKiB > maxArgonMemory:
		return mk, fmt.Errorf("keyring: argon2id memory %d KiB out of range [%d, %d]", k.MemoryKiB, 8*uint32(k.Threads), maxArgonMemory)
	}
	out := argon2.IDKey(passphrase, k.Salt, k.Time, k.MemoryKiB, k.Threads, uint32(len(mk)))
	copy(mk[:], out)
	clear(out)
	return mk, nil
}

// maxKeyFileSize bounds what ReadKeyFile reads, so pointing it at /dev/zero or a large
// file fails fast instead of filling memory.
const maxKeyFileSize = 1024

// ReadKeyFile reads a master key file: exactly 32 raw bytes, or 64 hex characters, or
// the standard base64 of 32 bytes, each text form with one optional trailing newline.
// A world-writable file is refused: anyone could have replaced the key.
func ReadKeyFile(path string) (MasterKey, error) {
	var mk MasterKey
	f, err := os.Open(path)
	if err != nil {
		return mk, fmt.Errorf("keyring: key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return mk, fmt.Errorf("keyring: key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return mk, fmt.Errorf("keyring: key file %s is not a regular file", path)
	}
	if fi.Mode().Perm()&0o002 != 0 {
		return mk, fmt.Errorf("keyring: key file %s is world-writable (mode %v); chmod 600 it", path, fi.Mode().Perm())
	}
	buf := make([]byte, maxKeyFileSize+1)
	defer clear(buf)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return mk, fmt.Errorf("keyring: reading key file %s: %w", path, err)
	}
	if n > maxKeyFileSize {
		return mk, fmt.Errorf("keyring: key file %s is too large to be a 32-byte key", path)
	}
	if err := parseKeyFile(buf[:n], &mk); err != nil {
		return mk, fmt.Errorf("keyring: key file %s: %w", path, err)
	}
	return mk, nil
}

// parseKeyFile decodes the content of a key file into mk.
func parseKeyFile(b []byte, mk *MasterKey) error {
	if len(b) == len(mk) {
		copy(mk[:], b)
		return nil
	}
	text := b
	if bytes.HasSuffix(text, []byte("\r\n")) {
		text = text[:len(text)-2]
	} else if bytes.HasSuffix(text, []byte("\n")) {
		text = text[:len(text)-1]
	}
	var dec [64]byte // large enough for either decoding of a valid key; zeroised below
	defer clear(dec[:])
	switch {
	case len(text) == hex.EncodedLen(len(mk)):
		if _, err := hex.Decode(dec[:], text); err != nil {
			return errors.New("64 characters but not hex")
		}
		copy(mk[:], dec[:len(mk)])
		return nil
	case len(text) == base64.StdEncoding.EncodedLen(len(mk)):
		n, err := base64.StdEncoding.Decode(dec[:], text)
		if err != nil || n != len(mk) {
			return errors.New("44 characters but not the base64 of 32 bytes")
		}
		copy(mk[:], dec[:len(mk)])
		return nil
	}
	return fmt.Errorf("%d bytes: want 32 raw bytes, 64 hex characters or 44 base64 characters", len(b))
}
