package fs

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ssefs/ssefs/dare"
	"github.com/ssefs/ssefs/keyring"
	"github.com/ssefs/ssefs/object"
	"github.com/ssefs/ssefs/store"
)

// newLockMount is newTestMount on a store created with object lock.
func newLockMount(t *testing.T) *testMount {
	t.Helper()
	requireFUSE(t)
	base := t.TempDir()
	m := &testMount{t: t, dir: filepath.Join(base, "store"), mnt: filepath.Join(base, "mnt")}
	rand.Read(m.mk[:])
	os.Mkdir(m.mnt, 0o755)
	if err := store.Init(m.dir, m.mk, store.InitOptions{Cipher: dare.DefaultCipher(), KDF: keyring.KeyFileKDF(), ObjectLock: true}); err != nil {
		t.Fatal(err)
	}
	m.mount()
	t.Cleanup(m.unmount)
	return m
}

func lockx(path, name string) (string, error) {
	buf := make([]byte, 128)
	n, err := unix.Getxattr(path, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

func TestLockThroughMount(t *testing.T) {
	m := newLockMount(t)
	f := filepath.Join(m.mnt, "f")
	os.WriteFile(f, []byte("locked\n"), 0o644)
	if _, err := lockx(f, "user.ssefs.retention.mode"); !errors.Is(err, syscall.ENODATA) {
		t.Fatalf("unlocked file: retention.mode err %v, want ENODATA", err)
	}
	if _, err := lockx(m.mnt, "user.ssefs.legal-hold"); !errors.Is(err, syscall.ENODATA) {
		t.Fatalf("directory: legal-hold err %v, want ENODATA", err)
	}
	n, err := m.l.ResolvePath("f")
	if err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour)
	s, err := m.l.SetRetention(n.Ino, 0, object.ModeCompliance, until, false)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := lockx(f, "user.ssefs.retention.mode"); v != "COMPLIANCE" || err != nil {
		t.Fatalf("retention.mode = %q, %v", v, err)
	}
	if v, err := lockx(f, "user.ssefs.legal-hold"); v != "OFF" || err != nil {
		t.Fatalf("legal-hold = %q, %v", v, err)
	}
	if err := unix.Setxattr(f, "user.ssefs.retention.retain-until", []byte("2000-01-01T00:00:00Z"), 0); !errors.Is(err, syscall.EPERM) {
		t.Fatalf("setfattr retain-until: %v, want EPERM", err)
	}
	// S3 mapping: truncate, overwrite, rm -rf of its directory all keep the locked version.
	if err := os.Truncate(f, 0); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(f, []byte("new\n"), 0o644)
	if _, _, err := m.l.Purge(n.Ino, s.Version, false); !errors.Is(err, object.ErrLocked) {
		t.Fatalf("purge: %v", err)
	}
	d := filepath.Join(m.mnt, "d")
	os.Mkdir(d, 0o755)
	g := filepath.Join(d, "g")
	os.WriteFile(g, []byte("g"), 0o644)
	gn, _ := m.l.ResolvePath("d/g")
	if _, err := m.l.SetLegalHold(gn.Ino, 0, true); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(d); err != nil {
		t.Fatalf("rm -rf: %v", err)
	}
	// Survives a remount.
	m.unmount()
	m.mount()
	got, err := m.l.LockOf(n.Ino, s.Version)
	if err != nil || got.Mode != object.ModeCompliance || !got.RetainUntil.Equal(s.RetainUntil) {
		t.Fatalf("after remount: %+v, %v", got, err)
	}
	if locked, err := m.l.LockedVersions(gn.Ino); err != nil || len(locked) != 1 {
		t.Fatalf("rm -rf'd file after remount: locked %v, %v", locked, err)
	}
	of, err := m.l.OpenVersion(n.Ino, s.Version)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if _, err := of.ReadAt(buf, 0); err != nil || string(buf) != "locked\n" {
		t.Fatalf("locked version reads %q, %v", buf, err)
	}
}

func TestLockErrno(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", object.ErrLocked)
	if e := toErrno(context.Background(), "test", err); e != syscall.EPERM {
		t.Fatalf("ErrLocked -> %v, want EPERM", e)
	}
	if e := toErrno(context.Background(), "test", object.ErrLockDisabled); e != syscall.EOPNOTSUPP {
		t.Fatalf("ErrLockDisabled -> %v", e)
	}
}
