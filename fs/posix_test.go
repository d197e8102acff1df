package fs

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/hanwen/go-fuse/v2/posixtest"
	"golang.org/x/sys/unix"
)

// TestPosix runs go-fuse's posixtest suite, every test, against one real
// ssefs mount, each in its own directory.
func TestPosix(t *testing.T) {
	m := newTestMount(t)
	names := make([]string, 0, len(posixtest.All))
	for name := range posixtest.All {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			sub := filepath.Join(m.mnt, name)
			if err := os.Mkdir(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			if name == "FcntlFlockLocksFile" {
				// The upstream test expects two descriptors of one process
				// to conflict on fcntl record locks; POSIX says they do not
				// (go-fuse's own suite skips it). TestLocks checks the
				// real semantics instead.
				t.Skip("expects non-POSIX same-process fcntl conflict; see TestLocks")
			}
			posixtest.All[name](t, sub)
		})
	}
}

// TestLocks checks kernel-local locking through the mount: flock and OFD
// locks conflict between open file descriptions, process-associated fcntl
// locks of one process do not.
func TestLocks(t *testing.T) {
	m := newTestMount(t)
	p := m.path("locked")
	f1, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f1.Close()
	f2, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	if err := unix.Flock(int(f1.Fd()), unix.LOCK_EX); err != nil {
		t.Fatalf("flock: %v", err)
	}
	if err := unix.Flock(int(f2.Fd()), unix.LOCK_EX|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
		t.Fatalf("second flock = %v, want EWOULDBLOCK", err)
	}
	unix.Flock(int(f1.Fd()), unix.LOCK_UN)
	wr := unix.Flock_t{Type: unix.F_WRLCK}
	if err := unix.FcntlFlock(f1.Fd(), unix.F_OFD_SETLK, &wr); err != nil {
		t.Fatalf("OFD lock: %v", err)
	}
	rd := unix.Flock_t{Type: unix.F_RDLCK}
	if err := unix.FcntlFlock(f2.Fd(), unix.F_OFD_SETLK, &rd); !errors.Is(err, unix.EAGAIN) {
		t.Fatalf("conflicting OFD lock = %v, want EAGAIN", err)
	}
	if err := unix.FcntlFlock(f2.Fd(), unix.F_SETLK, &rd); !errors.Is(err, unix.EAGAIN) {
		t.Fatalf("process lock over another description's OFD write lock = %v, want EAGAIN", err)
	}
	wr.Type = unix.F_UNLCK
	unix.FcntlFlock(f1.Fd(), unix.F_OFD_SETLK, &wr)
	// Same process, two descriptors: POSIX record locks do not conflict.
	w := unix.Flock_t{Type: unix.F_WRLCK}
	if err := unix.FcntlFlock(f1.Fd(), unix.F_SETLK, &w); err != nil {
		t.Fatal(err)
	}
	if err := unix.FcntlFlock(f2.Fd(), unix.F_SETLK, &rd); err != nil {
		t.Fatalf("same-process fcntl lock = %v, want success", err)
	}
}
