package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/ssefs/ssefs/keyring"
)

// ErrConfig means store.json holds a value outside what this code accepts.
// The store directory is untrusted, so every parameter read from it is
// bounded before use: an absurd argon2 cost would otherwise hang the mount
// or exhaust memory before the passphrase could even be checked.
var ErrConfig = errors.New("store: store.json parameter out of range")

// Bounds of the parameters read from store.json. New stores use argon2id
// with t=3, 64 MiB and 2 lanes (keyring.NewPassphraseKDF), well inside.
const (
	maxConfigSize   = 64 << 10 // bytes of store.json
	minSaltBytes    = 8        // keyring refuses shorter salts too
	maxSaltBytes    = 64       // new stores use 16
	maxArgonTime    = 16       // passes
	maxArgonMemory  = 1 << 20  // KiB (1 GiB)
	maxArgonThreads = 16       // lanes
	maxSealHookPath = 4096     // PATH_MAX
)

func configErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s %s", ErrConfig, ConfigFile, fmt.Sprintf(format, a...))
}

// checkKDF refuses KDF parameters outside the bounds above, and any
// parameter a key-file store does not use.
func checkKDF(k keyring.KDF) error {
	switch k.Algorithm {
	case keyring.KDFKeyFile:
		if len(k.Salt) != 0 || k.Time != 0 || k.MemoryKiB != 0 || k.Threads != 0 {
			return configErr("gives argon2id parameters to a key-file store")
		}
		return nil
	case keyring.KDFArgon2id:
	default:
		return configErr("names an unknown KDF %q", k.Algorithm)
	}
	switch {
	case len(k.Salt) < minSaltBytes || len(k.Salt) > maxSaltBytes:
		return configErr("has an argon2id salt of %d bytes (allowed %d to %d)", len(k.Salt), minSaltBytes, maxSaltBytes)
	case k.Time < 1 || k.Time > maxArgonTime:
		return configErr("has argon2id time %d (allowed 1 to %d)", k.Time, maxArgonTime)
	case k.Threads < 1 || k.Threads > maxArgonThreads:
		return configErr("has argon2id threads %d (allowed 1 to %d)", k.Threads, maxArgonThreads)
	case k.MemoryKiB < 8*uint32(k.Threads) || k.MemoryKiB > maxArgonMemory:
		return configErr("has argon2id memory %d KiB (allowed %d to %d)", k.MemoryKiB, 8*uint32(k.Threads), maxArgonMemory)
	}
	return nil
}

// checkSealHook refuses a seal hook the store's writer could have chosen to
// run code as the mount's user: the hook runs on KMS events with the
// daemon's rights, and store.json is untrusted. It must be an absolute path
// outside the store directory, and if it exists a regular file owned by
// root or by this user that nobody else may write.
func checkSealHook(dir, p string) error {
	switch {
	case p == "":
		return nil
	case len(p) > maxSealHookPath || strings.IndexByte(p, 0) >= 0:
		return configErr("has a malformed seal hook path")
	case !filepath.IsAbs(p):
		return configErr("has a seal hook %q that is not an absolute path", p)
	}
	hook, store := filepath.Clean(p), filepath.Clean(dir)
	if r, err := filepath.EvalSymlinks(hook); err == nil {
		hook = r
	}
	if r, err := filepath.EvalSymlinks(store); err == nil {
		store = r
	}
	if hook == store || strings.HasPrefix(hook, strings.TrimSuffix(store, "/")+"/") {
		return configErr("has a seal hook %q inside the store directory", p)
	}
	fi, err := os.Stat(hook)
	if errors.Is(err, os.ErrNotExist) {
		return nil // running it fails, and is logged and audited
	}
	if err != nil {
		return configErr("has a seal hook %q that cannot be checked: %v", p, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.Mode().IsRegular():
		return configErr("has a seal hook %q that is not a regular file", p)
	case fi.Mode().Perm()&0o022 != 0:
		return configErr("has a seal hook %q that others may write (mode %v)", p, fi.Mode().Perm())
	case ok && st.Uid != 0 && int(st.Uid) != os.Geteuid():
		return configErr("has a seal hook %q owned by uid %d (neither root nor this user)", p, st.Uid)
	}
	return nil
}
