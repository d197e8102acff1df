// Package store owns the layout of an ssefs store directory: the store.json
// configuration, the encrypted Badger metadata database under meta/, the part
// files under parts/ and the built-in keyring under keyring/. It creates a
// store (Init) and opens one (Open); what lives inside is the object layer's job.
package store

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/ssefs/ssefs/dare"
	"github.com/ssefs/ssefs/internal/storefile"
	"github.com/ssefs/ssefs/keyring"
)

// FormatVersion is the on-disk format this code writes; MinFormatVersion
// is the oldest it reads (and upgrades on open). Opening a store of any
// other version is refused rather than guessed at. Format 2 may hold
// version records of record version 2 (byte runs), which format-1 code
// cannot read, and format 3 those of record version 3 (each version's
// owner and mode), which format-2 code cannot read: each bump makes older
// code refuse the store instead.
const (
	FormatVersion    = 3
	MinFormatVersion = 1
)

// Names of the entries of a store directory.
const (
	ConfigFile  = "store.json"
	MetaDir     = "meta"
	PartsDir    = "parts"
	KeyringDir  = "keyring"
	LockFile    = "store.lock"
	SocketFile  = "control.sock"
	idByteCount = 16
)

// Errors returned by Init and Open.
var (
	ErrExists          = errors.New("store: a store already exists here")
	ErrNotStore        = errors.New("store: not an ssefs store (no store.json)")
	ErrFormat          = errors.New("store: unsupported store format version")
	ErrLocked          = errors.New("store: store is in use by another process (mounted?)")
	ErrObjectLockFixed = errors.New("store: object lock is fixed at init and can never be changed")
)

// Config is store.json. It holds no secret: everything in it may be read by
// anyone who can list the store directory.
type Config struct {
	Format     int         `json:"format"`
	ID         string      `json:"id"`
	Cipher     string      `json:"cipher"`
	ObjectLock bool        `json:"object_lock"`
	KDF        keyring.KDF `json:"kdf"`
	Created    time.Time   `json:"created"`
	// SealHook is an optional executable run on KMS seal, unseal and key
	// deletion events (event name and key name as arguments).
	SealHook string `json:"seal_hook,omitempty"`
}

// IDBytes returns the store id as the raw bytes that key derivations bind to.
func (c *Config) IDBytes() []byte {
	b, err := hex.DecodeString(c.ID)
	if err != nil {
		panic("store: config id validated at load is not hex: " + err.Error())
	}
	return b
}

// CipherSuite returns the parsed cipher of the store.
func (c *Config) CipherSuite() dare.Cipher {
	ciph, err := dare.ParseCipher(c.Cipher)
	if err != nil {
		panic("store: config cipher validated at load is invalid: " + err.Error())
	}
	return ciph
}

func newConfig(cipher dare.Cipher, objectLock bool, kdf keyring.KDF) (*Config, error) {
	id := make([]byte, idByteCount)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("store: generating store id: %w", err)
	}
	return &Config{
		Format:     FormatVersion,
		ID:         hex.EncodeToString(id),
		Cipher:     cipher.String(),
		ObjectLock: objectLock,
		KDF:        kdf,
		Created:    time.Now().UTC().Truncate(time.Second),
	}, nil
}

// LoadConfig reads and validates store.json of the store at dir.
func LoadConfig(dir string) (*Config, error) {
	b, err := readConfigFile(filepath.Join(dir, ConfigFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotStore, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("store: reading config: %w", err)
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("store: parsing %s: %w", ConfigFile, err)
	}
	if c.Format < MinFormatVersion || c.Format > FormatVersion {
		return nil, fmt.Errorf("%w: %d (this ssefs reads %d to %d)", ErrFormat, c.Format, MinFormatVersion, FormatVersion)
	}
	if id, err := hex.DecodeString(c.ID); err != nil || len(id) != idByteCount {
		return nil, fmt.Errorf("store: %s has a malformed store id %q", ConfigFile, c.ID)
	}
	if _, err := dare.ParseCipher(c.Cipher); err != nil || c.Cipher == "auto" {
		return nil, fmt.Errorf("store: %s names an unknown cipher %q", ConfigFile, c.Cipher)
	}
	if err := checkKDF(c.KDF); err != nil {
		return nil, err
	}
	if err := checkSealHook(dir, c.SealHook); err != nil {
		return nil, err
	}
	return &c, nil
}

// readConfigFile reads store.json, refusing one larger than any config.
func readConfigFile(path string) ([]byte, error) {
	f, err := storefile.Open(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxConfigSize {
		return nil, configErr("is larger than %d bytes", maxConfigSize)
	}
	return b, nil
}

// writeConfig writes store.json atomically so a crash never leaves half a config.
func writeConfig(dir string, c *Config) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("store: encoding config: %w", err)
	}
	return writeFileAtomic(filepath.Join(dir, ConfigFile), append(b, '\n'), 0o600)
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	f, err := storefile.Open(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return fmt.Errorf("store: writing %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("store: writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("store: syncing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store: closing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("store: renaming %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := storefile.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("store: opening %s for sync: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("store: syncing %s: %w", dir, err)
	}
	return nil
}

// SetSealHook records (or, with "", clears) the seal hook in store.json. It holds
// no secret, so it may change while the store is open.
func (c *Config) SetSealHook(dir, path string) error {
	if err := checkSealHook(dir, path); err != nil {
		return err
	}
	n := *c
	n.SealHook = path
	if err := writeConfig(dir, &n); err != nil {
		return err
	}
	c.SealHook = path
	return nil
}
