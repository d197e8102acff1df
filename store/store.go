package store

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
	"golang.org/x/sys/unix"

	"github.com/ssefs/ssefs/chunkstore"
	"github.com/ssefs/ssefs/dare"
	"github.com/ssefs/ssefs/internal/storefile"
	"github.com/ssefs/ssefs/keyring"
)

// InitOptions chooses what a new store is created with.
type InitOptions struct {
	Cipher     dare.Cipher
	ObjectLock bool
	KDF        keyring.KDF
}

// Store is an opened store directory: its config, its metadata database, its
// part files and its KMS. Only one process may hold a store open.
type Store struct {
	Dir    string
	Config *Config
	DB     *badger.DB
	Parts  *chunkstore.Dir
	// KMS is the store's key management. Features beyond keyring.KMS are
	// reached through KeyVersions and MasterKeyChanger (kms.go).
	KMS   keyring.KMS
	Space *Space // free-space guard of the filesystem holding the store (space.go)

	kmsCloser io.Closer // what Close releases of the KMS
	lock      *os.File
}

// Init creates a new store at dir, protected by mk. It refuses a directory
// that already holds anything, so a second init can never damage a store.
func Init(dir string, mk keyring.MasterKey, opts InitOptions) (err error) {
	if _, err := os.Stat(filepath.Join(dir, ConfigFile)); err == nil {
		return fmt.Errorf("%w: %s", ErrExists, dir)
	}
	created := false
	switch entries, err := os.ReadDir(dir); {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("store: creating %s: %w", dir, err)
		}
		created = true
	case err != nil:
		return fmt.Errorf("store: reading %s: %w", dir, err)
	case len(entries) > 0:
		return fmt.Errorf("store: %s is not empty; refusing to init there", dir)
	}
	defer func() {
		if err == nil {
			return
		}
		// Undo a half-made store so init can be retried; only what we made.
		for _, name := range []string{MetaDir, PartsDir, KeyringDir, LockFile, ReserveFile, ConfigFile + ".tmp"} {
			os.RemoveAll(filepath.Join(dir, name))
		}
		if created {
			os.Remove(dir)
		}
	}()
	cfg, err := newConfig(opts.Cipher, opts.ObjectLock, opts.KDF)
	if err != nil {
		return err
	}
	kms, err := keyring.CreateBuiltin(filepath.Join(dir, KeyringDir), mk)
	if err != nil {
		return fmt.Errorf("store: creating keyring: %w", err)
	}
	metaKey, err := kms.MetadataKey()
	kms.Close()
	if err != nil {
		return fmt.Errorf("store: creating keyring: %w", err)
	}
	defer clear(metaKey)
	parts, err := chunkstore.OpenDir(filepath.Join(dir, PartsDir))
	if err != nil {
		return err
	}
	parts.Close()
	space, err := newSpace(dir)
	if err != nil {
		return err
	}
	if err := space.prepareOpen(); err != nil {
		return err
	}
	db, err := openDB(filepath.Join(dir, MetaDir), metaKey)
	if err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("store: closing new metadata db: %w", err)
	}
	space.Headroom() // the reserve, if there is room
	// store.json last: its presence is what makes the directory a store.
	return writeConfig(dir, cfg)
}

// Open opens the store at dir with master key mk. A wrong key is reported as
// keyring.ErrWrongMasterKey before anything is written.
func Open(dir string, mk keyring.MasterKey) (*Store, error) {
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	lock, err := lockStore(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{Dir: dir, Config: cfg, lock: lock}
	builtin, err := keyring.OpenBuiltin(filepath.Join(dir, KeyringDir), mk)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("store: opening keyring: %w", err)
	}
	s.KMS, s.kmsCloser = builtin, builtin
	metaKey, err := builtin.MetadataKey()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("store: opening keyring: %w", err)
	}
	defer clear(metaKey)
	if s.Parts, err = chunkstore.OpenDir(filepath.Join(dir, PartsDir)); err != nil {
		s.Close()
		return nil, err
	}
	if s.Space, err = newSpace(dir); err != nil {
		s.Close()
		return nil, err
	}
	s.Parts.SetRoom(s.Space.CheckPart)
	// Badger dies (SIGBUS) rather than fails when it cannot extend its
	// mapped files: make room first, or refuse clearly.
	if err := s.Space.prepareOpen(); err != nil {
		s.Close()
		return nil, err
	}
	if s.DB, err = openDB(filepath.Join(dir, MetaDir), metaKey); err != nil {
		s.Close()
		return nil, err
	}
	s.Space.afterOpen(s.DB)
	if cfg.Format < FormatVersion {
		// Everything older is read as is; the bump keeps older code, which
		// cannot read what this code writes, from opening the store.
		cfg.Format = FormatVersion
		if err := writeConfig(dir, cfg); err != nil {
			s.Close()
			return nil, fmt.Errorf("store: upgrading to format %d: %w", FormatVersion, err)
		}
	}
	return s, nil
}

// Close releases everything Open acquired, syncing metadata first.
func (s *Store) Close() error {
	var errs []error
	if s.DB != nil {
		// Closing flushes the memtable into a new table; the prepared log
		// is no use any more (nothing writes now), and Badger would refuse
		// to open with it: its blocks go to that flush.
		s.Space.closeWAL()
		s.Space.beforeClose()
		if err := s.DB.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("store: syncing metadata: %w", err))
		}
		if err := s.DB.Close(); err != nil {
			errs = append(errs, fmt.Errorf("store: closing metadata: %w", err))
		}
	}
	if s.Parts != nil {
		errs = append(errs, s.Parts.Close())
	}
	if s.kmsCloser != nil {
		errs = append(errs, s.kmsCloser.Close())
	}
	if s.lock != nil {
		errs = append(errs, s.lock.Close())
	}
	return errors.Join(errs...)
}

// SocketPath is where a mounted store serves its control socket.
func (s *Store) SocketPath() string { return filepath.Join(s.Dir, SocketFile) }

func lockStore(dir string) (*os.File, error) {
	f, err := storefile.Open(filepath.Join(dir, LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: opening lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		return nil, fmt.Errorf("store: locking %s: %w", dir, err)
	}
	return f, nil
}

// openDB opens Badger with the random metadata key kept in the keyring (not one
// derived from the master key), so a passphrase change never re-keys the database.
// The memtable and value-log sizes also size the free-space reserve (space.go).
func openDB(path string, metaKey []byte) (*badger.DB, error) {
	opts := badger.DefaultOptions(path).
		WithEncryptionKey(metaKey).
		WithIndexCacheSize(8 << 20).
		WithBlockCacheSize(16 << 20).
		WithMemTableSize(metaMemTableSize).
		WithNumMemtables(2).
		WithNumLevelZeroTables(4).
		WithNumLevelZeroTablesStall(8).
		// Inline parts (sealed small files) bigger than this go to the
		// value log, which LSM compactions never rewrite (only gc's
		// value-log GC does), instead of the LSM tree:
		// with the 4 KiB of before, a store holding a few hundred MiB of
		// small files had compactions rewriting them that took both cores
		// and 100+ MiB for table builders, tripling a tree walk's time.
		WithValueThreshold(512).
		WithValueLogFileSize(metaValueLogFileSize).
		WithNumCompactors(2).
		WithSyncWrites(false).
		WithLogger(quietLogger{})
	db, err := badger.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("store: opening metadata db: %w", err)
	}
	return db, nil
}

// Badger sizes that the free-space reserve is derived from (space.go).
const (
	metaMemTableSize     = 8 << 20
	metaValueLogFileSize = 32 << 20
)

// quietLogger keeps Badger's info chatter out of the mount's log but lets
// warnings and errors through.
type quietLogger struct{}

func (quietLogger) Errorf(f string, a ...interface{})   { log.Printf("badger: error: "+f, a...) }
func (quietLogger) Warningf(f string, a ...interface{}) { log.Printf("badger: warning: "+f, a...) }
func (quietLogger) Infof(string, ...interface{})        {}
func (quietLogger) Debugf(string, ...interface{})       {}
