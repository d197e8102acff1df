package fs

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// vfsCap is a valid security.capability value (VFS_CAP_REVISION_2,
// CAP_CHOWN permitted).
var vfsCap = []byte{0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

// asNobody runs a shell command as uid/gid 65534, without capabilities.
func asNobody(t *testing.T, script string) {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("as nobody: %s: %v\n%s", script, err, out)
	}
}

func modeOf(t *testing.T, p string) os.FileMode {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return os.FileMode(st.Mode & 0o7777)
}

// TestKillPriv: writes, truncates and chowns clear set-user-ID and
// set-group-ID bits (set-group-ID when group-executable or the writer is
// not in the group) as the VFS does, unless the writer has CAP_FSETID; any
// write removes the security.capability xattr.
func TestKillPriv(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a writer without CAP_FSETID")
	}
	m := newTestMount(t)
	m.cfg.AllowOther = true // the writer without CAP_FSETID is another user
	m.remount()
	for d := filepath.Dir(m.mnt); d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755) // t.TempDir's directories are private
	}
	if err := os.Chmod(m.mnt, 0o777); err != nil {
		t.Fatal(err)
	}
	p := m.path("prog")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o777); err != nil {
		t.Fatal(err)
	}
	set := func(mode uint32) {
		t.Helper()
		if err := unix.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	// Root keeps the bits (CAP_FSETID).
	set(0o6777)
	if err := appendTo(p, "x"); err != nil {
		t.Fatal(err)
	}
	if got := modeOf(t, p); got != 0o6777 {
		t.Fatalf("after a write by root: mode %o, want 6777", got)
	}
	// Anyone else loses them.
	asNobody(t, "echo x >> "+p)
	if got := modeOf(t, p); got != 0o777 {
		t.Fatalf("after a write by nobody: mode %o, want 777", got)
	}
	// Set-group-ID without group execute goes only when the writer is not
	// in the file's group (Linux 6.x, setattr_should_drop_sgid).
	set(0o6767)
	asNobody(t, "echo x >> "+p)
	if got := modeOf(t, p); got != 0o767 {
		t.Fatalf("after a write by nobody, not in the group: mode %o, want 767", got)
	}
	if err := os.Chown(p, 0, 65534); err != nil {
		t.Fatal(err)
	}
	set(0o6767)
	asNobody(t, "echo x >> "+p)
	if got := modeOf(t, p); got != 0o2767 {
		t.Fatalf("after a write by nobody, in the group: mode %o, want 2767", got)
	}
	// Truncate by nobody.
	set(0o6777)
	asNobody(t, "truncate -s 1 "+p)
	if got := modeOf(t, p); got != 0o777 {
		t.Fatalf("after a truncate by nobody: mode %o, want 777", got)
	}
	// chown clears set-user-ID even for root.
	set(0o4777)
	if err := os.Chown(p, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if got := modeOf(t, p); got&0o4000 != 0 {
		t.Fatalf("after chown: mode %o, set-user-ID kept", got)
	}
	// Any write removes file capabilities, root's too.
	if err := unix.Setxattr(p, "security.capability", vfsCap, 0); err != nil {
		t.Fatalf("setting security.capability: %v", err)
	}
	if err := appendTo(p, "y"); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Getxattr(p, "security.capability", make([]byte, 64)); !errors.Is(err, unix.ENODATA) {
		t.Fatalf("security.capability after a write: %v, want ENODATA", err)
	}
	// Twice through one descriptor: the second write checks again.
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write([]byte("1"))
	if err := unix.Setxattr(p, "security.capability", vfsCap, 0); err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("2"))
	if _, err := unix.Getxattr(p, "security.capability", make([]byte, 64)); !errors.Is(err, unix.ENODATA) {
		t.Fatalf("security.capability after a second write: %v, want ENODATA", err)
	}
}

func appendTo(p, s string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
