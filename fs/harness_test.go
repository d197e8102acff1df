package fs

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

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
	conn  uint64 // the kernel's FUSE connection id (/sys/fs/fuse/connections/<conn>)
	alive bool

	// teardown says how the last unmount ended (see stop), for the
	// harness's own tests.
	teardown teardown
}

// teardown is how a test mount went away.
type teardown string

const (
	tornUnmount teardown = "unmount" // a plain unmount
	tornLazy    teardown = "lazy"    // MNT_DETACH, then the server ended
	tornAbort   teardown = "abort"   // the FUSE connection was aborted
	tornHung    teardown = "hung"    // the server still runs: the layer is left open
)

// How long each step of a teardown may take before the next, harsher one.
// They bound a broken test's teardown; no test asserts on them.
const (
	unmountWait = 10 * time.Second
	lazyWait    = 2 * time.Second
	abortWait   = 10 * time.Second
)

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
		m.st.Close()
		m.t.Fatal(err)
	}
	if m.srv, err = Mount(m.l, m.mnt, m.cfg); err != nil {
		m.l.Close()
		m.st.Close()
		m.t.Fatal(err)
	}
	m.alive = true
	var st unix.Stat_t
	if err := unix.Stat(m.mnt, &st); err != nil {
		m.t.Fatalf("stat of the new mount: %v", err)
	}
	// The kernel names a connection by its superblock's dev_t in the
	// kernel's own encoding (major<<20 | minor), not stat's.
	m.conn = uint64(unix.Major(st.Dev))<<20 | uint64(unix.Minor(st.Dev))
}

// unmount tears the mount down whatever state the test left it in, and
// never hangs: it first closes the descriptors the test left open under
// the mountpoint, then unmounts, falling back to a lazy unmount and then
// to aborting the FUSE connection (stop). A mount that does not go away
// even then is reported as an error and its layer left open.
func (m *testMount) unmount() {
	m.t.Helper()
	if !m.alive {
		return
	}
	m.alive = false
	if left := closeFilesUnder(m.mnt); len(left) > 0 {
		m.t.Logf("harness: closed %d descriptor(s) the test left open: %s", len(left), strings.Join(left, ", "))
	}
	m.teardown = m.stop()
	if m.teardown == tornHung {
		m.t.Errorf("harness: the mount on %s did not go away (unmount, lazy unmount and abort all failed); leaving its store open", m.mnt)
		return
	}
	if err := m.l.Close(); err != nil {
		m.t.Errorf("closing object layer: %v", err)
	}
	if err := m.st.Close(); err != nil {
		m.t.Errorf("closing store: %v", err)
	}
}

// stop ends the FUSE server: a normal unmount first; if the kernel refuses
// (EBUSY: something still uses the mount) or it takes too long, a lazy
// unmount, which detaches the mount at once and ends the connection when
// its last user goes; if the server still runs, an abort of the
// connection, which fails every pending and later request and ends the
// server's read loops.
func (m *testMount) stop() teardown {
	done := make(chan error, 1)
	go func() { done <- m.srv.Unmount() }()
	select {
	case err := <-done:
		if err == nil {
			return tornUnmount
		}
		m.t.Logf("harness: unmount %s: %v; unmounting lazily", m.mnt, err)
	case <-time.After(unmountWait):
		m.t.Logf("harness: unmount %s still running after %v; unmounting lazily", m.mnt, unmountWait)
	}
	if err := lazyUnmount(m.mnt); err != nil {
		m.t.Logf("harness: lazy unmount %s: %v", m.mnt, err)
	}
	if serverDone(m.srv, lazyWait) {
		return tornLazy
	}
	if err := abortConnection(m.conn); err != nil {
		m.t.Logf("harness: aborting FUSE connection %d: %v", m.conn, err)
	}
	if serverDone(m.srv, abortWait) {
		return tornAbort
	}
	return tornHung
}

// serverDone reports whether srv's loops ended within d.
func serverDone(srv *fuse.Server, d time.Duration) bool {
	done := make(chan struct{})
	go func() { srv.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// lazyUnmount detaches mnt (umount2 MNT_DETACH as root, fusermount3 -u -z
// otherwise).
func lazyUnmount(mnt string) error {
	err := unix.Unmount(mnt, unix.MNT_DETACH)
	if err == nil || !errors.Is(err, unix.EPERM) {
		return err
	}
	if out, err := exec.Command("fusermount3", "-u", "-z", mnt).CombinedOutput(); err != nil {
		return fmt.Errorf("fusermount3 -u -z: %w: %s", err, out)
	}
	return nil
}

// fusectl is where the kernel lists FUSE connections.
const fusectl = "/sys/fs/fuse/connections"

// abortConnection aborts FUSE connection conn, as `echo 1 >
// /sys/fs/fuse/connections/<conn>/abort` does, mounting the fusectl
// filesystem there first if nothing has (as root only).
func abortConnection(conn uint64) error {
	abort := filepath.Join(fusectl, fmt.Sprint(conn), "abort")
	if _, err := os.Stat(abort); errors.Is(err, os.ErrNotExist) {
		if err := unix.Mount("fusectl", fusectl, "fusectl", 0, ""); err != nil && !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("mounting fusectl on %s: %w", fusectl, err)
		}
	}
	return os.WriteFile(abort, []byte("1"), 0)
}

// closeFilesUnder makes every descriptor of this process that refers to a
// file under mnt let go of it, and returns their paths. A test that failed
// half-way (or forgot a Close) leaves such descriptors, and the kernel
// refuses to unmount while they are open. Each is replaced by /dev/null
// with dup3 rather than closed, because an *os.File still owns the number:
// closing it would let the number be reused and that File's eventual Close
// (or finalizer) would then close someone else's descriptor.
func closeFilesUnder(mnt string) []string {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	null, err := unix.Open(os.DevNull, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(null)
	var left []string
	for _, e := range ents {
		var fd int
		if _, err := fmt.Sscan(e.Name(), &fd); err != nil || fd == null {
			continue
		}
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil || (target != mnt && !strings.HasPrefix(target, mnt+"/")) {
			continue
		}
		if unix.Dup3(null, fd, unix.O_CLOEXEC) == nil {
			left = append(left, fmt.Sprintf("fd %d → %s", fd, target))
		}
	}
	return left
}

// remount unmounts and mounts the same store again, dropping every cache.
func (m *testMount) remount() {
	m.t.Helper()
	m.unmount()
	m.mount()
}

func (m *testMount) path(rel string) string { return filepath.Join(m.mnt, rel) }
