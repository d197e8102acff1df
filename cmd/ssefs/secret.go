package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"golang.org/x/term"

	"github.com/ssefs/ssefs/keyring"
	"github.com/ssefs/ssefs/store"
)

// keySource says where the master key comes from, shared by every command
// that opens or creates a store.
type keySource struct {
	passphraseFile string
	keyFile        string
}

func (k *keySource) register(fs interface {
	StringVar(*string, string, string, string)
}) {
	fs.StringVar(&k.passphraseFile, "passphrase-file", "", "read the passphrase from `FILE` (else $SSEFS_PASSPHRASE, else a prompt)")
	fs.StringVar(&k.keyFile, "key-file", "", "use the 32-byte master key in `FILE` instead of a passphrase")
}

// passphrase returns the passphrase from the file, the environment or a
// terminal prompt, in that order. confirm asks twice, for init.
func (k *keySource) passphrase(confirm bool) ([]byte, error) {
	if k.passphraseFile != "" {
		b, err := os.ReadFile(k.passphraseFile)
		if err != nil {
			return nil, fmt.Errorf("reading passphrase file: %w", err)
		}
		b = bytes.TrimRight(b, "\r\n")
		if len(b) == 0 {
			return nil, errors.New("passphrase file is empty")
		}
		return b, nil
	}
	if p := os.Getenv("SSEFS_PASSPHRASE"); p != "" {
		return []byte(p), nil
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil || !term.IsTerminal(int(tty.Fd())) {
		return nil, errors.New("no passphrase: use --passphrase-file, $SSEFS_PASSPHRASE or run on a terminal")
	}
	defer tty.Close()
	fmt.Fprint(tty, "Passphrase: ")
	p, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(tty)
	if err != nil {
		return nil, fmt.Errorf("reading passphrase: %w", err)
	}
	if len(p) == 0 {
		return nil, errors.New("empty passphrase")
	}
	if confirm {
		fmt.Fprint(tty, "Repeat passphrase: ")
		q, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(tty)
		if err != nil {
			return nil, fmt.Errorf("reading passphrase: %w", err)
		}
		if !bytes.Equal(p, q) {
			return nil, errors.New("passphrases do not match")
		}
	}
	return p, nil
}

// masterKey derives the master key of an existing store.
func (k *keySource) masterKey(cfg *store.Config) (keyring.MasterKey, error) {
	if cfg.KDF.Algorithm == keyring.KeyFileKDF().Algorithm {
		if k.keyFile == "" {
			k.keyFile = os.Getenv("SSEFS_KEY_FILE")
		}
		if k.keyFile == "" {
			return keyring.MasterKey{}, errors.New("this store uses a key file: pass --key-file")
		}
		return keyring.ReadKeyFile(k.keyFile)
	}
	if k.keyFile != "" {
		return keyring.MasterKey{}, errors.New("this store uses a passphrase, not a key file: drop --key-file (the passphrase comes from --passphrase-file, $SSEFS_PASSPHRASE or a prompt)")
	}
	p, err := k.passphrase(false)
	if err != nil {
		return keyring.MasterKey{}, err
	}
	defer clear(p)
	return cfg.KDF.Derive(p)
}

// openStore opens the store at dir, turning a wrong key into a clear message.
func (k *keySource) openStore(dir string) (*store.Store, error) {
	cfg, err := store.LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	mk, err := k.masterKey(cfg)
	if err != nil {
		return nil, err
	}
	defer mk.Zero()
	privateFiles()
	st, err := store.Open(dir, mk)
	if errors.Is(err, keyring.ErrWrongMasterKey) {
		return nil, errors.New("wrong passphrase or key file for this store (nothing was changed)")
	}
	return st, err
}
