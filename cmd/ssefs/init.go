package main

import (
	"fmt"

	"github.com/ssefs/ssefs/dare"
	"github.com/ssefs/ssefs/keyring"
	"github.com/ssefs/ssefs/store"
)

func runInit(env *cliEnv, args []string) error {
	fs := newFlags(env, "init", "STORE")
	objectLock := fs.Bool("object-lock", false, "enable object lock (WORM); can never be disabled")
	cipherName := fs.String("cipher", "auto", "part cipher: auto, aes-256-gcm or chacha20-poly1305")
	var ks keySource
	ks.register(fs)
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	cipher, err := dare.ParseCipher(*cipherName)
	if err != nil {
		return err
	}
	var kdf keyring.KDF
	var mk keyring.MasterKey
	if ks.keyFile != "" {
		kdf = keyring.KeyFileKDF()
		if mk, err = keyring.ReadKeyFile(ks.keyFile); err != nil {
			return err
		}
	} else {
		if kdf, err = keyring.NewPassphraseKDF(); err != nil {
			return err
		}
		p, err := ks.passphrase(true)
		if err != nil {
			return err
		}
		mk, err = kdf.Derive(p)
		clear(p)
		if err != nil {
			return err
		}
	}
	defer mk.Zero()
	privateFiles()
	if err := store.Init(pos[0], mk, store.InitOptions{Cipher: cipher, ObjectLock: *objectLock, KDF: kdf}); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "created store %s (cipher %s, object lock %v)\n", pos[0], cipher, *objectLock)
	return nil
}
