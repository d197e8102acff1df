package store

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ssefs/ssefs/dare"
	"github.com/ssefs/ssefs/keyring"
)

// TestOpenWithFIFOs: a FIFO in place of any file Open reads (store.json,
// the lock file, the keyring's records, the metadata reserve) makes Open
// fail at once instead of blocking in open(2) for a writer that never
// comes.
func TestOpenWithFIFOs(t *testing.T) {
	var mk keyring.MasterKey
	rand.Read(mk[:])
	for _, name := range []string{
		ConfigFile,
		LockFile,
		filepath.Join(KeyringDir, "verifier"),
		filepath.Join(KeyringDir, "tombstones"),
		filepath.Join(KeyringDir, "metakey"),
		ReserveFile,
	} {
		t.Run(filepath.Base(name), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "s")
			if err := Init(dir, mk, InitOptions{Cipher: dare.AES256GCM, KDF: keyring.KeyFileKDF()}); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, name)
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				s, err := Open(dir, mk)
				if err == nil {
					s.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil {
					t.Errorf("Open with a FIFO as %s succeeded", name)
				} else {
					t.Logf("%s: %v", name, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("Open with a FIFO as %s blocks", name)
			}
		})
	}
}
