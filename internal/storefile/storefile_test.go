package storefile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestOpenRefusesSpecialFiles: every kind of special file fails at once
// with ErrNotRegular (a FIFO would block a plain open), for reading and
// for writing, and a regular file opens in blocking mode.
func TestOpenRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "regular")
	if err := os.WriteFile(reg, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	special := map[string]func(p string) error{
		"fifo":             func(p string) error { return syscall.Mkfifo(p, 0o600) },
		"symlink to file":  func(p string) error { return os.Symlink(reg, p) },
		"symlink to zero":  func(p string) error { return os.Symlink("/dev/zero", p) },
		"symlink dangling": func(p string) error { return os.Symlink(filepath.Join(dir, "nowhere"), p) },
		"directory":        func(p string) error { return os.Mkdir(p, 0o700) },
	}
	if os.Geteuid() == 0 {
		special["char device"] = func(p string) error { return syscall.Mknod(p, syscall.S_IFCHR|0o600, 1<<8|5) } // /dev/zero
	}
	for name, mk := range special {
		p := filepath.Join(dir, name)
		if err := mk(p); err != nil {
			t.Fatal(err)
		}
		for _, flag := range []int{os.O_RDONLY, os.O_WRONLY | os.O_APPEND, os.O_RDWR | os.O_CREATE, os.O_WRONLY | os.O_CREATE | os.O_TRUNC} {
			f, err := Open(p, flag, 0o600)
			if err == nil {
				f.Close()
				t.Errorf("%s: Open(%#x) succeeded", name, flag)
				continue
			}
			if !errors.Is(err, ErrNotRegular) {
				t.Errorf("%s: Open(%#x) = %v, want ErrNotRegular", name, flag, err)
			}
		}
		if _, err := ReadFile(p); !errors.Is(err, ErrNotRegular) {
			t.Errorf("%s: ReadFile = %v, want ErrNotRegular", name, err)
		}
		if _, err := Lstat(p); !errors.Is(err, ErrNotRegular) {
			t.Errorf("%s: Lstat = %v, want ErrNotRegular", name, err)
		}
	}
	if b, _ := os.ReadFile(reg); string(b) != "data" {
		t.Errorf("a symlink's target changed: %q", b)
	}

	f, err := Open(reg, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fl, _, errno := syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), syscall.F_GETFL, 0)
	if errno != 0 || fl&syscall.O_NONBLOCK != 0 {
		t.Errorf("a regular file stays non-blocking: flags %#x, %v", fl, errno)
	}
	if b, err := ReadFile(reg); err != nil || string(b) != "data" {
		t.Errorf("ReadFile(regular) = %q, %v", b, err)
	}
	if _, err := Open(filepath.Join(dir, "missing"), os.O_RDONLY, 0); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want ErrNotExist", err)
	}
	nf, err := Open(filepath.Join(dir, "new"), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	nf.Close()
}

// TestOpenDirRefusesFIFO: a FIFO where a directory should be fails at once.
func TestOpenDirRefusesFIFO(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if d, err := OpenDir(p); err == nil {
		d.Close()
		t.Fatal("OpenDir(fifo) succeeded")
	}
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Sync(); err != nil {
		t.Error(err)
	}
	d.Close()
}
