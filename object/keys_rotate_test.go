package object

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssefs/ssefs/dare"
	"github.com/ssefs/ssefs/keyring"
	"github.com/ssefs/ssefs/store"
)

// reopenable is a store that a test can close (as a crash or unmount would) and open.
type reopenable struct {
	dir string
	mk  keyring.MasterKey
	st  *store.Store
	l   *Layer
}

func newReopenable(t *testing.T) *reopenable {
	t.Helper()
	r := &reopenable{dir: filepath.Join(t.TempDir(), "store")}
	rand.Read(r.mk[:])
	if err := store.Init(r.dir, r.mk, store.InitOptions{Cipher: dare.DefaultCipher(), KDF: keyring.KeyFileKDF()}); err != nil {
		t.Fatal(err)
	}
	r.open(t)
	t.Cleanup(func() { r.close(t) })
	return r
}

func (r *reopenable) open(t *testing.T) {
	t.Helper()
	var err error
	if r.st, err = store.Open(r.dir, r.mk); err != nil {
		t.Fatal(err)
	}
	if r.l, err = OpenWith(r.st, Options{SealHook: execSealHook}); err != nil {
		t.Fatal(err)
	}
}

func (r *reopenable) close(t *testing.T) {
	if r.l == nil {
		return
	}
	r.l.Close()
	r.st.Close()
	r.l = nil
}

func writeObj(t *testing.T, l *Layer, name, content string) Ino {
	t.Helper()
	n := createFile(t, l, RootIno, name)
	f, err := l.OpenFile(n.Ino)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte(content), 0)
	if err := f.Release(); err != nil {
		t.Fatal(err)
	}
	return n.Ino
}

func readObj(t *testing.T, l *Layer, ino Ino) (string, error) {
	t.Helper()
	f, err := l.OpenFile(ino)
	if err != nil {
		return "", err
	}
	defer f.Release()
	b := make([]byte, 1024)
	n, err := f.ReadAt(b, 0)
	if err != nil && err != io.EOF {
		return "", err
	}
	return string(b[:n]), nil
}

// A rotation cut short (after its record, after re-wrapping half the objects)
// finishes when the store is opened again, and only then retires the old version.
func TestRotationResumesAfterCrash(t *testing.T) {
	for _, rewrapFirst := range []int{0, 5} {
		t.Run(fmt.Sprintf("rewrapped-%d", rewrapFirst), func(t *testing.T) {
			r := newReopenable(t)
			inos := map[Ino]string{}
			var oldDEK []byte
			for i := 0; i < 10; i++ {
				c := fmt.Sprintf("content %d", i)
				ino := writeObj(t, r.l, fmt.Sprintf("f%d", i), c)
				inos[ino] = c
				n, _ := r.l.Inode(ino)
				oldDEK = n.SSE.SealedDEK
			}
			rec, err := r.l.beginRotation(keyring.DefaultKeyName)
			if err != nil {
				t.Fatal(err)
			}
			done := 0
			for ino := range inos {
				if done == rewrapFirst {
					break
				}
				if ok, err := r.l.Rewrap(ino, defaultChoice); err != nil || !ok {
					t.Fatalf("rewrap: %v %v", ok, err)
				}
				done++
			}
			r.close(t) // the crash: no pass ran to the end
			r.open(t)
			if dead, _ := r.st.KMS.(store.KeyVersions).Erased(oldDEK); dead {
				t.Fatal("old version retired before the rotation finished")
			}
			for ino, c := range inos {
				if got, err := readObj(t, r.l, ino); err != nil || got != c {
					t.Fatalf("mid-rotation read: %q %v", got, err)
				}
			}
			r.l.ResumeRotations()
			var s RotationStatus
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				if rs := r.l.Rotations(); len(rs) == 1 && !rs[0].Running {
					s = rs[0]
					break
				}
			}
			if !s.Finished || s.NewID != rec.NewID || s.Done != int64(len(inos)-rewrapFirst) || s.Retired != 1 {
				t.Fatalf("resumed rotation %+v", s)
			}
			if dead, err := r.st.KMS.(store.KeyVersions).Erased(oldDEK); err != nil || !dead {
				t.Fatalf("old version not retired: %v %v", dead, err)
			}
			r.close(t)
			r.open(t)
			for ino, c := range inos {
				if got, err := readObj(t, r.l, ino); err != nil || got != c {
					t.Fatalf("after rotation: %q %v", got, err)
				}
			}
			if rec, _ := r.l.rotationRecord(keyring.DefaultKeyName); rec != nil {
				t.Fatal("rotation record left behind")
			}
		})
	}
}

func TestAuditHasNoKeyMaterial(t *testing.T) {
	r := newReopenable(t)
	ino := writeObj(t, r.l, "f", "x")
	var ck [32]byte
	rand.Read(ck[:])
	if err := r.l.SupplyCustomerKey(ino, ck[:]); err != nil {
		t.Fatal(err)
	}
	r.l.KeyCreate("bad name!")
	recs, err := r.l.Audit(0)
	if err != nil || len(recs) != 2 || recs[0].Op != "sse-c-supply" || recs[0].Result != "ok" || recs[1].Result == "ok" {
		t.Fatalf("audit %+v %v", recs, err)
	}
	if dump := fmt.Sprintf("%+v", recs); strings.Contains(dump, b64(ck[:])) || strings.Contains(dump, string(ck[:8])) {
		t.Fatal("audit holds the SSE-C key")
	}
	if recs, _ := r.l.Audit(1); len(recs) != 1 || recs[0].Op != "key-create" {
		t.Fatalf("audit limit: %+v", recs)
	}
}

func TestParseCustomerKey(t *testing.T) {
	raw := make([]byte, 32)
	rand.Read(raw)
	good := []byte(" " + b64(raw) + "\n")
	for _, tc := range []struct {
		name  string
		value []byte
		md5   string
		ok    bool
	}{
		{"base64", good, "", true},
		{"raw", raw, "", true},
		{"md5 ok", good, md5b64(raw), true},
		{"md5 wrong", good, md5b64(raw[1:]), false},
		{"short", []byte(b64(raw[:16])), "", false},
		{"garbage", []byte("not a key"), "", false},
		// 44 base64 characters without padding hold 33 bytes (it used to panic).
		{"33 bytes in 44 characters", []byte(strings.Repeat("A", 44)), "", false},
		{"33 raw bytes", append(raw[:32:32], 1), "", false},
		{"base64 of 33 bytes", []byte(b64(append(raw[:32:32], 1))), "", false},
	} {
		k, err := ParseCustomerKey(tc.value, tc.md5)
		if (err == nil) != tc.ok || (tc.ok && string(k[:]) != string(raw)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func md5b64(b []byte) string {
	s := md5.Sum(b)
	return b64(s[:])
}

// execSealHook runs the hook executable as cmd/ssefs does: the library
// itself never starts a process.
func execSealHook(ctx context.Context, run SealHookRun) ([]byte, error) {
	return exec.CommandContext(ctx, run.Path, run.Event, run.Key).CombinedOutput()
}

// A failing seal hook is logged and audited; the seal itself stands.
func TestSealHookFailureIsNotFatal(t *testing.T) {
	r := newReopenable(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "events")
	hook := filepath.Join(dir, "hook")
	os.WriteFile(hook, []byte("#!/bin/sh\necho \"$1 $2\" >> "+out+"\nexit 3\n"), 0o755)
	if err := r.l.SetSealHook(hook); err != nil {
		t.Fatal(err)
	}
	if err := r.l.KeyCreate("k"); err != nil {
		t.Fatal(err)
	}
	if err := r.l.KeySeal("k"); err != nil {
		t.Fatalf("seal with a failing hook: %v", err)
	}
	if r.l.KMSStatus().SealedKeys != 1 {
		t.Fatal("key not sealed")
	}
	if b, _ := os.ReadFile(out); string(b) != "seal k\n" {
		t.Fatalf("hook saw %q", b)
	}
	recs, _ := r.l.Audit(0)
	if last := recs[len(recs)-1]; last.Op != "hook" || last.Result == "ok" {
		t.Fatalf("failed hook not audited: %+v", recs)
	}
	if cfg, _ := store.LoadConfig(r.dir); cfg.SealHook != hook {
		t.Fatalf("store.json seal_hook = %q", cfg.SealHook)
	}
}
