package fs

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
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

// openMountToOthers remounts m with --allow-other and opens the path to it
// to every user, for tests that run commands as another user.
func openMountToOthers(t *testing.T, m *testMount) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to act as other users")
	}
	m.cfg.AllowOther = true
	m.remount()
	for d := filepath.Dir(m.mnt); d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755) // t.TempDir's directories are private
	}
	if err := os.Chmod(m.mnt, 0o777); err != nil {
		t.Fatal(err)
	}
}

// makeNode creates an object of the given type at p, as root.
func makeNode(t *testing.T, typ, p string) {
	t.Helper()
	var err error
	switch typ {
	case "regular":
		err = os.WriteFile(p, nil, 0o644)
	case "dir":
		err = os.Mkdir(p, 0o755)
	case "symlink":
		err = os.Symlink("target", p)
	case "fifo":
		err = unix.Mknod(p, unix.S_IFIFO|0o644, 0)
	case "socket":
		err = unix.Mknod(p, unix.S_IFSOCK|0o644, 0)
	case "char":
		err = unix.Mknod(p, unix.S_IFCHR|0o644, int(unix.Mkdev(1, 3)))
	case "block":
		err = unix.Mknod(p, unix.S_IFBLK|0o644, int(unix.Mkdev(7, 0)))
	default:
		t.Fatalf("unknown type %s", typ)
	}
	if err != nil {
		t.Fatalf("creating %s %s: %v", typ, p, err)
	}
}

func lmodeOf(t *testing.T, p string) (mode, uid, gid uint32) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Mode & 0o7777, st.Uid, st.Gid
}

// TestChownSetID checks what chown(2) does to set-user-ID and
// set-group-ID of every file type, called by root and by the owner, as
// Linux 6.x does on ext4 (and tmpfs): on anything but a directory,
// set-user-ID always goes; set-group-ID goes when group-executable, or
// when the caller is neither in the file's group nor holds CAP_FSETID.
// Directories keep both. This is what pjdfstest chown/00.t checks (its 32
// fifo, socket and device cases failed while only regular files were
// cleared) and more: the non-executable set-group-ID cases.
func TestChownSetID(t *testing.T) {
	m := newTestMount(t)
	openMountToOthers(t, m)
	// The owner-caller is pjdfstest's: uid 65534, groups 65533 and 65532.
	owner := &syscall.Credential{Uid: 65534, Gid: 65533, Groups: []uint32{65532, 65533}}
	cases := []struct {
		name      string
		root      bool   // caller: root, else the owner
		fromGID   uint32 // the file's group before the chown
		mode      uint32
		toGID     uint32
		want      uint32 // for every type but directories and symlinks
		wantOnDir uint32
	}{
		{"root/6555", true, 65533, 0o6555, 65531, 0o555, 0o6555},
		{"root/6545", true, 65533, 0o6545, 65531, 0o2545, 0o6545},
		{"root/4555", true, 65533, 0o4555, 65531, 0o555, 0o4555},
		{"owner/6555", false, 65533, 0o6555, 65532, 0o555, 0o6555},
		{"owner/6545 in old group", false, 65533, 0o6545, 65532, 0o2545, 0o6545},
		{"owner/6545 not in old group", false, 0, 0o6545, 65532, 0o545, 0o6545},
		{"owner/2545 not in old group", false, 0, 0o2545, 65533, 0o545, 0o2545},
		{"owner/0555", false, 65533, 0o555, 65532, 0o555, 0o555},
	}
	types := []string{"regular", "dir", "symlink", "fifo", "socket", "char", "block"}
	for _, c := range cases {
		for _, typ := range types {
			t.Run(c.name+"/"+typ, func(t *testing.T) {
				p := m.path("n")
				makeNode(t, typ, p)
				defer os.RemoveAll(p)
				if err := os.Lchown(p, 65534, int(c.fromGID)); err != nil {
					t.Fatal(err)
				}
				want := c.want
				switch typ {
				case "symlink": // no mode of its own to set: the test is that chown works and changes nothing
					want, _, _ = lmodeOf(t, p)
				case "dir":
					want = c.wantOnDir
					fallthrough
				default:
					if err := unix.Chmod(p, c.mode); err != nil {
						t.Fatal(err)
					}
				}
				if c.root {
					if err := os.Lchown(p, -1, int(c.toGID)); err != nil {
						t.Fatal(err)
					}
				} else {
					cmd := exec.Command("chown", "-h", ":"+strconv.Itoa(int(c.toGID)), p)
					cmd.SysProcAttr = &syscall.SysProcAttr{Credential: owner}
					if out, err := cmd.CombinedOutput(); err != nil {
						t.Fatalf("chown as the owner: %v\n%s", err, out)
					}
				}
				mode, uid, gid := lmodeOf(t, p)
				if mode != want || uid != 65534 || gid != c.toGID {
					t.Fatalf("after chown: %04o %d:%d, want %04o 65534:%d", mode, uid, gid, want, c.toGID)
				}
			})
		}
	}
}

// TestCreateModeZero: objects created with mode 0 have mode 0 (pjdfstest
// open/26.t; go-fuse showed 0644 for them unless told NullPermissions).
func TestCreateModeZero(t *testing.T) {
	m := newTestMount(t)
	old := unix.Umask(0)
	defer unix.Umask(old)
	for _, flag := range []int{os.O_WRONLY, os.O_RDWR, os.O_RDONLY} {
		p := m.path("f")
		fd, err := unix.Open(p, flag|unix.O_CREAT|unix.O_EXCL, 0)
		if err != nil {
			t.Fatalf("open(O_CREAT|%d, 0): %v", flag, err)
		}
		unix.Close(fd)
		if mode, _, _ := lmodeOf(t, p); mode != 0 {
			t.Fatalf("file created with mode 0 (flags %d) shows %04o", flag, mode)
		}
		os.Remove(p)
	}
	if err := unix.Mkdir(m.path("d"), 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mknod(m.path("p"), unix.S_IFIFO, 0); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"d", "p"} {
		if mode, _, _ := lmodeOf(t, m.path(n)); mode != 0 {
			t.Fatalf("%s created with mode 0 shows %04o", n, mode)
		}
	}
	// Mode 0 survives a remount (it is the stored mode, not a default).
	m.remount()
	if mode, _, _ := lmodeOf(t, m.path("d")); mode != 0 {
		t.Fatalf("after remount: mode %04o", mode)
	}
}
