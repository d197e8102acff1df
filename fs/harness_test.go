package fs

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ssefs/ssefs/dare"
	"github.com/ssefs/ssefs/keyring"
	"github.com/ssefs/ssefs/object"
	"github.com/ssefs/ssefs/store"
)

// requireFUSE skips a mount test where FUSE cannot work, unless CI demands it.
func requireFUSE(t testing.TB) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		if os.Getenv("SSEFS_REQUIRE_FUSE") == "1" {
			t.Fatalf("SSEFS_REQUIRE_FUSE=1 but /dev/fuse is missing: %v", err)
		}
		t.Skip("no /dev/fuse")
	}
}

// testMount is a real ssefs mount of a fresh store in a temporary directory.
type testMount struct {
	t     testing.TB
	dir   string // the store
	mnt   string // the mountpoint
	mk    keyring.MasterKey
	st    *store.Store
	l     *object.Layer
	srv   *fuse.Server
	cfg   MountConfig
	alive bool
}

func newTestMount(t testing.TB) *testMount {
	t.Helper()
	requireFUSE(t)
	base := t.TempDir()
	m := &testMount{t: t, dir: filepath.Join(base, "store"), mnt: filepath.Join(base, "mnt")}
	if _, err := rand.Read(m.mk[:]); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(m.mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := store.Init(m.dir, m.mk, store.InitOptions{Cipher: dare.DefaultCipher(), KDF: keyring.KeyFileKDF()}); err != nil {
		t.Fatal(err)
	}
	m.mount()
	t.Cleanup(m.unmount)
	return m
}

func (m *testMount) mount() {
	m.t.Helper()
	var err error
	if m.st, err = store.Open(m.dir, m.mk); err != nil {
		m.t.Fatal(err)
	}
	if m.l, err = object.Open(m.st); err != nil {
		m.t.Fatal(err)
	}
	if m.srv, err = Mount(m.l, m.mnt, m.cfg); err != nil {
		m.t.Fatal(err)
	}
	m.alive = true
}

func (m *testMount) unmount() {
	m.t.Helper()
	if !m.alive {
		return
	}
	m.alive = false
	if err := m.srv.Unmount(); err != nil {
		m.t.Errorf("unmount: %v", err)
	}
	m.srv.Wait()
	if err := m.l.Close(); err != nil {
		m.t.Errorf("closing object layer: %v", err)
	}
	if err := m.st.Close(); err != nil {
		m.t.Errorf("closing store: %v", err)
	}
}

// remount unmounts and mounts the same store again, dropping every cache.
func (m *testMount) remount() {
	m.t.Helper()
	m.unmount()
	m.mount()
}

func (m *testMount) path(rel string) string { return filepath.Join(m.mnt, rel) }
