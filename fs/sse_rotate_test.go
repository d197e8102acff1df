package fs

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ssefs/ssefs/keyring"
	"github.com/ssefs/ssefs/object"
	"github.com/ssefs/ssefs/store"
)

func sysInoOf(t *testing.T, p string) object.Ino {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return object.Ino(st.Ino)
}

func waitRotation(t *testing.T, l *object.Layer, name string) object.RotationStatus {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, s := range l.Rotations() {
			if s.Name == name && !s.Running {
				if !s.Finished {
					t.Fatalf("rotation of %s ended unfinished: %+v", name, s)
				}
				return s
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("rotation of %s did not finish", name)
	return object.RotationStatus{}
}

func TestKeyRotation(t *testing.T) {
	m := newTestMount(t)
	if err := m.l.KeyCreate("k"); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(m.path("k"), 0o755)
	mustSetx(t, m.path("k"), xattrSSEKMSKeyID, "k")
	want := map[string]string{}
	for i := 0; i < 30; i++ {
		want[fmt.Sprintf("k/f%d", i)] = fmt.Sprintf("kms file %d", i)
		want[fmt.Sprintf("s%d", i)] = fmt.Sprintf("s3 file %d", i)
	}
	big := bytes.Repeat([]byte("rotate me "), 100000)
	want["k/big"] = string(big)
	for p, c := range want {
		writeFile(t, m.path(p), c)
	}
	oldDEKs := map[string][]byte{}
	for p := range want {
		n, err := m.l.Inode(sysInoOf(t, m.path(p)))
		if err != nil {
			t.Fatal(err)
		}
		oldDEKs[p] = n.SSE.SealedDEK
	}
	parts := treeHash(t, filepath.Join(m.dir, "parts"))
	for _, name := range []string{"k", keyring.DefaultKeyName} {
		if _, err := m.l.KeyRotate(name); err != nil {
			t.Fatal(err)
		}
	}
	sk := waitRotation(t, m.l, "k")
	ss := waitRotation(t, m.l, keyring.DefaultKeyName)
	if sk.Done != 31 || ss.Done != 30 || sk.Retired != 1 || ss.Retired != 1 {
		t.Fatalf("rotations %+v %+v", sk, ss)
	}
	if treeHash(t, filepath.Join(m.dir, "parts")) != parts {
		t.Fatal("rotation rewrote data")
	}
	for p, c := range want {
		if err := readErr(t, m.path(p), c); err != nil {
			t.Fatal(err)
		}
		n, _ := m.l.Inode(sysInoOf(t, m.path(p)))
		newID, _ := keyring.DEKKeyID(n.SSE.SealedDEK)
		if newID != sk.NewID && newID != ss.NewID {
			t.Fatalf("%s still under key version %s", p, newID)
		}
		// The old key version is useless: crypto-erased.
		if dead, err := m.st.KMS.(store.KeyVersions).Erased(oldDEKs[p]); err != nil || !dead {
			t.Fatalf("%s: old DEK's key version not retired: %v %v", p, dead, err)
		}
	}
	keys, _ := m.l.KeyList()
	for _, k := range keys {
		if k.Versions != 1 {
			t.Fatalf("key %s has %d versions after rotation", k.Name, k.Versions)
		}
	}
	m.remount()
	for p, c := range want {
		if err := readErr(t, m.path(p), c); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPassphraseChange(t *testing.T) {
	m := newTestMount(t)
	writeFile(t, m.path("f"), "survives a master key change")
	old := m.mk
	var newMK keyring.MasterKey
	rand.Read(newMK[:])
	if err := m.l.ChangeMasterKey(keyring.MasterKey{9}, newMK); !errors.Is(err, keyring.ErrWrongMasterKey) {
		t.Fatalf("change with a wrong old key: %v", err)
	}
	if err := m.l.ChangeMasterKey(old, newMK); err != nil {
		t.Fatal(err)
	}
	if err := readErr(t, m.path("f"), "survives a master key change"); err != nil {
		t.Fatal(err)
	}
	m.unmount()
	if _, err := store.Open(m.dir, old); !errors.Is(err, keyring.ErrWrongMasterKey) {
		t.Fatalf("old master key still opens the store: %v", err)
	}
	m.mk = newMK
	m.mount()
	if err := readErr(t, m.path("f"), "survives a master key change"); err != nil {
		t.Fatal(err)
	}
	if err := m.l.KMSSeal(); err != nil {
		t.Fatal(err)
	}
	if err := m.l.KMSUnseal(old); !errors.Is(err, keyring.ErrWrongMasterKey) {
		t.Fatalf("old master key unseals: %v", err)
	}
	if err := m.l.KMSUnseal(newMK); err != nil {
		t.Fatal(err)
	}
}

// TestNoKeyInPlaintextOnDisk scans every byte of the store (parts, Badger, keyring)
// for every secret the test used: master keys and their wrap keys, the metadata key,
// every EK, every DEK and OEK of every file, the SSE-C keys (raw, base64) and file
// content.
func TestNoKeyInPlaintextOnDisk(t *testing.T) {
	m := newTestMount(t)
	if err := m.l.KeyCreate("scan-key"); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(m.path("kms"), 0o755)
	os.MkdirAll(m.path("c"), 0o755)
	mustSetx(t, m.path("kms"), xattrSSEKMSKeyID, "scan-key")
	raw, key, _ := newCustomerKey(t)
	mustSetx(t, m.path("c"), xattrSSECustomerKey, key)
	content := "TOP-SECRET-PLAINTEXT-MARKER "
	paths := []string{"s3", "kms/a", "kms/b", "c/x", "c/y"}
	for _, p := range paths {
		writeFile(t, m.path(p), strings.Repeat(content+p, 50))
	}
	if _, err := m.l.KeyRotate("scan-key"); err != nil {
		t.Fatal(err)
	}
	waitRotation(t, m.l, "scan-key")
	var newMK keyring.MasterKey
	rand.Read(newMK[:])
	if err := m.l.ChangeMasterKey(m.mk, newMK); err != nil {
		t.Fatal(err)
	}
	secrets := map[string][]byte{
		"old master key": bytes.Clone(m.mk[:]), "new master key": bytes.Clone(newMK[:]),
		"old wrap key": wrapKey(m.mk), "new wrap key": wrapKey(newMK),
		"SSE-C key": raw, "SSE-C key base64": []byte(key),
	}
	mk, err := m.st.KMS.(*keyring.Builtin).MetadataKey()
	if err != nil {
		t.Fatal(err)
	}
	secrets["metadata key"] = mk
	for name, ek := range eksOnDisk(t, filepath.Join(m.dir, "keyring"), newMK) {
		secrets["EK "+name] = ek
	}
	for _, p := range paths {
		n, err := m.l.Inode(sysInoOf(t, m.path(p)))
		if err != nil {
			t.Fatal(err)
		}
		var ext []byte
		if n.SSE.Domain == "SSE-C" {
			ext = raw
		} else {
			dek, err := m.st.KMS.Decrypt(n.SSE.KeyName, n.SSE.SealedDEK, keyring.DEKContext(m.st.Config.IDBytes(), uint64(n.Ino)))
			if err != nil {
				t.Fatal(err)
			}
			secrets["DEK of "+p] = dek
			ext = dek
		}
		var sk keyring.SealedKey
		sk.UnmarshalBinary(n.SSE.SealedOEK)
		oek, err := sk.Unseal(ext, keyring.Domain(n.SSE.Domain), m.st.Config.IDBytes(), uint64(n.Ino))
		if err != nil {
			t.Fatal(err)
		}
		secrets["OEK of "+p] = bytes.Clone(oek[:])
	}
	if len(secrets) < 15 {
		t.Fatalf("only %d secrets collected", len(secrets))
	}
	scan := func(when string) {
		filepath.Walk(m.dir, func(p string, fi os.FileInfo, err error) error {
			if err != nil || !fi.Mode().IsRegular() {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(data, []byte(content)) {
				t.Errorf("%s: %s holds file content in plaintext", when, p)
			}
			for what, s := range secrets {
				for off := 0; off+16 <= len(s); off += 8 {
					if bytes.Contains(data, s[off:off+16]) {
						t.Errorf("%s: %s holds bytes of the %s", when, p, what)
						break
					}
				}
			}
			return nil
		})
	}
	scan("mounted")
	m.mk = newMK
	m.remount() // Badger flushed and reopened
	scan("after remount")
}

func wrapKey(mk keyring.MasterKey) []byte {
	h := hmac.New(sha256.New, mk[:])
	h.Write([]byte("ssefs keyring v1"))
	return h.Sum(nil)
}

// eksOnDisk decodes every key file with nothing but docs/FORMAT.md: envelope header 22
// bytes, GCM nonce 12, AES-256-GCM under the wrap key with the header as AAD; EK at
// payload offset 9.
func eksOnDisk(t *testing.T, dir string, mk keyring.MasterKey) map[string][]byte {
	t.Helper()
	blk, _ := aes.NewCipher(wrapKey(mk))
	gcm, _ := cipher.NewGCM(blk)
	out := map[string][]byte{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".key") {
			continue
		}
		rec, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		p, err := gcm.Open(nil, rec[22:34], rec[34:], rec[:22])
		if err != nil {
			t.Fatalf("key file %s: %v", e.Name(), err)
		}
		out[string(p[42:42+p[41]])+" "+e.Name()] = p[9:41]
	}
	if len(out) < 2 {
		t.Fatalf("decoded %d EKs", len(out))
	}
	return out
}
