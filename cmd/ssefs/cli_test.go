package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ssefs-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "ssefs")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		panic("building ssefs: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func requireFUSE(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		if os.Getenv("SSEFS_REQUIRE_FUSE") == "1" {
			t.Fatalf("SSEFS_REQUIRE_FUSE=1 but /dev/fuse is missing: %v", err)
		}
		t.Skip("no /dev/fuse")
	}
}

// ssefs runs the built binary and returns its combined output and error.
func ssefs(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	// A session of its own: no controlling terminal, so prompts fail
	// instead of waiting for a developer who runs the tests in a shell.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func mustSsefs(t *testing.T, env []string, args ...string) string {
	t.Helper()
	out, err := ssefs(t, env, args...)
	if err != nil {
		t.Fatalf("ssefs %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func TestInitRefusesExistingAndWrongPassphrase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	env := []string{"SSEFS_PASSPHRASE=correct horse"}
	mustSsefs(t, env, "init", dir)
	before := treeDigest(t, dir)
	out, err := ssefs(t, env, "init", dir)
	if err == nil || !strings.Contains(out, "already exists") {
		t.Fatalf("second init: err=%v out=%s", err, out)
	}
	out, err = ssefs(t, []string{"SSEFS_PASSPHRASE=wrong"}, "status", "--store", dir)
	if err == nil || !strings.Contains(out, "wrong passphrase") {
		t.Fatalf("status with wrong passphrase: err=%v out=%s", err, out)
	}
	if after := treeDigest(t, dir); after != before {
		t.Fatalf("a refused init or a wrong passphrase changed the store:\n%s\n---\n%s", before, after)
	}
	out = mustSsefs(t, env, "status", "--json", dir)
	var s struct{ Cipher string }
	if err := json.Unmarshal([]byte(out), &s); err != nil || s.Cipher == "" {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
}

// treeDigest lists every file under dir with size and content.
func treeDigest(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || fi.Name() == "store.lock" {
			return nil
		}
		data, _ := os.ReadFile(p)
		b.WriteString(p + " " + string(rune(len(data))) + " " + string(data) + "\n")
		return nil
	})
	return b.String()
}

// TestMountDaemonStatusUmount mounts in the background, uses the mount, asks
// for status through the control socket, and unmounts both ways.
func TestMountDaemonStatusUmount(t *testing.T) {
	requireFUSE(t)
	base := t.TempDir()
	dir, mnt := filepath.Join(base, "store"), filepath.Join(base, "mnt")
	os.Mkdir(mnt, 0o755)
	pf := filepath.Join(base, "pass")
	os.WriteFile(pf, []byte("a passphrase\n"), 0o600)
	mustSsefs(t, nil, "init", "--passphrase-file", pf, dir)

	out, err := ssefs(t, []string{"SSEFS_PASSPHRASE=nope"}, "mount", dir, mnt)
	if err == nil || !strings.Contains(out, "wrong passphrase") {
		t.Fatalf("mount with wrong passphrase: err=%v out=%s", err, out)
	}
	mustSsefs(t, nil, "mount", "--passphrase-file", pf, dir, mnt)
	t.Cleanup(func() { exec.Command("fusermount3", "-u", mnt).Run() })
	if err := os.WriteFile(filepath.Join(mnt, "hello"), []byte("hello, world\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = mustSsefs(t, nil, "status", "--json", mnt)
	var s struct {
		Mountpoint string
		Files      int64
		PlainBytes int64 `json:"plaintext_bytes"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	if s.Mountpoint != mnt || s.Files != 1 || s.PlainBytes != 13 {
		t.Fatalf("status through socket = %+v", s)
	}
	// The store is locked while mounted; an admin command still works
	// through the socket when run from the store directory itself.
	mustSsefs(t, nil, "status", "--store", dir)
	mustSsefs(t, nil, "umount", mnt)
	if b, err := os.ReadFile(filepath.Join(mnt, "hello")); err == nil {
		t.Fatalf("still mounted after umount: read %q", b)
	}

	// Mount again: data is there; SIGTERM to the daemon unmounts cleanly.
	mustSsefs(t, nil, "mount", "--passphrase-file", pf, dir, mnt)
	if b, err := os.ReadFile(filepath.Join(mnt, "hello")); err != nil || string(b) != "hello, world\n" {
		t.Fatalf("after remount: %q, %v", b, err)
	}
	pid := daemonPID(t, dir)
	syscall.Kill(pid, syscall.SIGTERM)
	waitGone(t, pid)
	out = mustSsefs(t, []string{"SSEFS_PASSPHRASE=a passphrase"}, "status", dir)
	if !strings.Contains(out, "(not mounted)") {
		t.Fatalf("status after SIGTERM:\n%s", out)
	}
	// fusermount3 -u works too.
	mustSsefs(t, nil, "mount", "--passphrase-file", pf, dir, mnt)
	pid = daemonPID(t, dir)
	if out, err := exec.Command("fusermount3", "-u", mnt).CombinedOutput(); err != nil {
		t.Fatalf("fusermount3 -u: %v %s", err, out)
	}
	waitGone(t, pid)
}

// daemonPID finds the mount daemon by the store it holds locked.
func daemonPID(t *testing.T, dir string) int {
	t.Helper()
	out, err := exec.Command("pgrep", "-f", "ssefs mount -f .*"+dir).Output()
	if err != nil {
		t.Fatalf("no mount daemon for %s: %v", dir, err)
	}
	var pid int
	for _, f := range strings.Fields(string(out)) {
		var p int
		if _, err := fmt.Sscan(f, &p); err == nil {
			pid = p
		}
	}
	return pid
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("daemon %d still running", pid)
}
