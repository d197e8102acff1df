package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/ssefs/ssefs/control"
	"github.com/ssefs/ssefs/keyring"
	"github.com/ssefs/ssefs/object"
	"github.com/ssefs/ssefs/store"
)

// changeMKReq carries the current and the new master key to the mount over the
// 0600 control socket.
type changeMKReq struct {
	Old []byte `json:"old"`
	New []byte `json:"new"`
}

// passphraseRoutes serve `ssefs passphrase` on a mount.
func passphraseRoutes() routeTable {
	return routeTable{
		"POST /passphrase/change": func(mc *mountCtx) http.Handler {
			return control.Handle(func(in changeMKReq) (struct{}, error) {
				defer clear(in.Old)
				defer clear(in.New)
				var o, n keyring.MasterKey
				if len(in.Old) != len(o) || len(in.New) != len(n) {
					return struct{}{}, errors.New("malformed master key")
				}
				copy(o[:], in.Old)
				copy(n[:], in.New)
				return struct{}{}, mc.l.ChangeMasterKey(o, n)
			})
		},
	}
}

func runPassphrase(env *cliEnv, args []string) error {
	fs := newFlags(env, "passphrase", "change [PATH]")
	storeFlag := fs.String("store", "", "the store or a path in its mount (default: PATH or the current directory)")
	newPassFile := fs.String("new-passphrase-file", "", "read the new passphrase from `FILE` (else $SSEFS_NEW_PASSPHRASE, else a prompt)")
	newKeyFile := fs.String("new-key-file", "", "key-file stores: the new 32-byte master key `FILE`")
	var ks keySource
	ks.register(fs)
	pos, err := parse(fs, args, 1, 2)
	if err != nil {
		return err
	}
	if pos[0] != "change" {
		fs.Usage()
		return errUsage
	}
	loc, err := locateArg(*storeFlag, pos[1:])
	if err != nil {
		return err
	}
	cfg, err := store.LoadConfig(loc.store)
	if err != nil {
		return err
	}
	oldMK, err := ks.masterKey(cfg)
	if err != nil {
		return err
	}
	defer oldMK.Zero()
	newMK, err := newMasterKey(cfg, *newPassFile, *newKeyFile)
	if err != nil {
		return err
	}
	defer newMK.Zero()
	err = withStore(loc, &ks,
		func(c *control.Client) error {
			return c.Call("POST", "/passphrase/change", changeMKReq{Old: oldMK[:], New: newMK[:]}, nil)
		},
		func(l *object.Layer) error { return l.ChangeMasterKey(oldMK, newMK) })
	if err != nil {
		if errors.Is(err, keyring.ErrWrongMasterKey) || err.Error() == keyring.ErrWrongMasterKey.Error() {
			return errors.New("wrong current passphrase or key file (nothing was changed)")
		}
		return err
	}
	fmt.Fprintln(env.stdout, "master key changed; the old passphrase or key file no longer opens this store")
	return nil
}

// newMasterKey derives the new master key with the store's KDF parameters (same
// salt and cost: store.json does not change, so the keyring's commit is the only
// commit point and a crash can never leave the two disagreeing).
func newMasterKey(cfg *store.Config, passFile, keyFile string) (keyring.MasterKey, error) {
	if cfg.KDF.Algorithm == keyring.KDFKeyFile {
		if keyFile == "" {
			return keyring.MasterKey{}, errors.New("this store uses a key file: pass --new-key-file")
		}
		return keyring.ReadKeyFile(keyFile)
	}
	if keyFile != "" {
		return keyring.MasterKey{}, errors.New("this store uses a passphrase: a key file cannot replace it")
	}
	var p []byte
	if env := os.Getenv("SSEFS_NEW_PASSPHRASE"); passFile == "" && env != "" {
		p = []byte(env)
	} else {
		if passFile == "" {
			// Prompt (with confirmation) even if SSEFS_PASSPHRASE holds the old one.
			if old, ok := os.LookupEnv("SSEFS_PASSPHRASE"); ok {
				os.Unsetenv("SSEFS_PASSPHRASE")
				defer os.Setenv("SSEFS_PASSPHRASE", old)
			}
		}
		var err error
		src := keySource{passphraseFile: passFile}
		if p, err = src.passphrase(true); err != nil {
			return keyring.MasterKey{}, fmt.Errorf("new passphrase: %w", err)
		}
	}
	defer clear(p)
	return cfg.KDF.Derive(p)
}
