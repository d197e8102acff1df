package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// passStore inits a passphrase store for a mount test and returns it, a
// mountpoint and the passphrase.
func passStore(t *testing.T) (dir, mnt, pass string) {
	t.Helper()
	requireFUSE(t)
	base := t.TempDir()
	dir, mnt = filepath.Join(base, "store"), filepath.Join(base, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	pass = fmt.Sprintf("pass-%d-%d", os.Getpid(), time.Now().UnixNano())
	mustSsefs(t, []string{"SSEFS_PASSPHRASE=" + pass}, "init", dir)
	t.Cleanup(func() {
		if mounted(mnt) {
			exec.Command("fusermount3", "-uz", mnt).Run()
		}
	})
	return dir, mnt, pass
}

// mounted reports whether mnt is a mountpoint of an ssefs mount.
func mounted(mnt string) bool {
	loc, ok := findMount(mnt)
	return ok && loc.mountpoint == mnt
}

// waitMounted waits until the foreground mount cmd serves mnt.
func waitMounted(t *testing.T, mnt string, cmd *exec.Cmd, out *bytes.Buffer) {
	t.Helper()
	for i := 0; i < 600; i++ {
		if mounted(mnt) {
			return
		}
		if cmd.ProcessState != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("foreground mount never came up:\n%s", out)
}

// memoryHolds reports whether any readable mapping of process pid holds b.
func memoryHolds(t *testing.T, pid int, b []byte) bool {
	t.Helper()
	maps, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer maps.Close()
	mem, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[1][0] != 'r' || (len(f) > 5 && strings.HasPrefix(f[5], "[v")) {
			continue // unreadable, [vvar], [vsyscall]
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		start, _ := strconv.ParseUint(lo, 16, 64)
		end, _ := strconv.ParseUint(hi, 16, 64)
		buf := make([]byte, end-start)
		n, _ := mem.ReadAt(buf, int64(start))
		if bytes.Contains(buf[:n], b) {
			return true
		}
	}
	return false
}

// TestMountScrubsPassphrase: a passphrase given in $SSEFS_PASSPHRASE is not
// in the mount daemon's /proc/PID/environ, nor anywhere in its memory (the
// daemon only ever gets the derived key), and a foreground mount removes it
// from its own environ block once the key is derived.
func TestMountScrubsPassphrase(t *testing.T) {
	dir, mnt, pass := passStore(t)
	env := []string{"SSEFS_PASSPHRASE=" + pass}
	mustSsefs(t, env, "mount", dir, mnt)
	pid := daemonPID(t, dir)
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(environ, []byte(pass)) || bytes.Contains(environ, []byte("SSEFS_PASSPHRASE")) {
		t.Errorf("daemon environ holds the passphrase:\n%q", environ)
	}
	if memoryHolds(t, pid, []byte(pass)) {
		t.Errorf("daemon memory holds the passphrase")
	}
	mustSsefs(t, nil, "umount", mnt)

	cmd := exec.Command(binary, "mount", "-f", dir, mnt)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Signal(syscall.SIGTERM)
	waitMounted(t, mnt, cmd, &out)
	environ, err = os.ReadFile(fmt.Sprintf("/proc/%d/environ", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(environ, []byte(pass)) || bytes.Contains(environ, []byte("SSEFS_PASSPHRASE=")) {
		t.Errorf("foreground mount's environ holds the passphrase:\n%q", environ)
	}
	if !bytes.Contains(environ, []byte("PATH=")) {
		t.Errorf("foreground mount's environ lost other variables:\n%q", environ)
	}
}

// TestMountShowsDaemonDeath: a daemon that dies before the mount is ready
// (here a panic) leaves its stderr in STORE/mount.log, and `ssefs mount`
// prints the log's last lines instead of a bare "exited".
func TestMountShowsDaemonDeath(t *testing.T) {
	dir, mnt, pass := passStore(t)
	out, err := ssefs(t, []string{"SSEFS_PASSPHRASE=" + pass, envDaemonFault + "=1"}, "mount", dir, mnt)
	if err == nil {
		t.Fatalf("mount with a dying daemon succeeded:\n%s", out)
	}
	for _, want := range []string{"exited before the mount was ready", "last lines of " + filepath.Join(dir, "mount.log"), "dying before the mount is ready"} {
		if !strings.Contains(out, want) {
			t.Errorf("mount output lacks %q:\n%s", want, out)
		}
	}
	log, err := os.ReadFile(filepath.Join(dir, "mount.log"))
	if err != nil || !bytes.Contains(log, []byte("panic: ssefs: "+envDaemonFault)) || !bytes.Contains(log, []byte("goroutine ")) {
		t.Errorf("mount.log lacks the panic and its stack: %v\n%s", err, log)
	}
	if mounted(mnt) {
		t.Error("mounted anyway")
	}
	// The next mount works and reports readiness as before.
	mustSsefs(t, []string{"SSEFS_PASSPHRASE=" + pass}, "mount", dir, mnt)
	mustSsefs(t, nil, "umount", mnt)
}

// TestMountRefusesNesting: a mountpoint inside the store, or a store inside
// the mountpoint, also through a symlink, is refused before anything is
// mounted (mounting a store on its own directory used to succeed and then
// could not be unmounted).
func TestMountRefusesNesting(t *testing.T) {
	dir, mnt, pass := passStore(t)
	env := []string{"SSEFS_PASSPHRASE=" + pass}
	base := filepath.Dir(dir)
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	link := filepath.Join(base, "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	// A store inside the mountpoint: a second store under base/outer.
	outer := filepath.Join(base, "outer")
	os.Mkdir(outer, 0o755)
	inner := filepath.Join(outer, "store")
	mustSsefs(t, env, "init", inner)
	for _, tc := range []struct{ store, mnt, want string }{
		{dir, dir, "is inside the store"},
		{dir, sub, "is inside the store"},
		{dir, link, "is inside the store"},
		{link, filepath.Join(link, "sub"), "is inside the store"},
		{inner, outer, "is inside the mountpoint"},
		{inner, base, "is inside the mountpoint"},
	} {
		for _, fg := range []bool{false, true} {
			args := []string{"mount", tc.store, tc.mnt}
			if fg {
				args = []string{"mount", "-f", tc.store, tc.mnt}
			}
			out, err := ssefs(t, env, args...)
			if err == nil || !strings.Contains(out, tc.want) {
				t.Errorf("ssefs %v: err=%v, output %q; want a refusal saying %q", args, err, out, tc.want)
			}
			if mounted(tc.mnt) {
				exec.Command("fusermount3", "-uz", tc.mnt).Run()
				t.Fatalf("ssefs %v mounted", args)
			}
		}
	}
	// The same store mounts fine elsewhere.
	mustSsefs(t, env, "mount", dir, mnt)
	mustSsefs(t, nil, "umount", mnt)
}

// TestSigtermUnmountsBusyMount: SIGTERM unmounts even while a file is held
// open in the mount (lazily, and the log says so), the daemon exits and
// releases the store, and the data closed before is there at the next
// mount. The daemon used to retry for 10 s and then keep running.
func TestSigtermUnmountsBusyMount(t *testing.T) {
	dir, mnt, pass := passStore(t)
	env := []string{"SSEFS_PASSPHRASE=" + pass}
	mustSsefs(t, env, "mount", dir, mnt)
	if err := os.WriteFile(filepath.Join(mnt, "kept"), []byte("kept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	held, err := os.Open(filepath.Join(mnt, "kept"))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	pid := daemonPID(t, dir)
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
	if mounted(mnt) {
		t.Fatal("still mounted after SIGTERM")
	}
	if _, err := io.ReadAll(held); err == nil {
		t.Error("a file held open in the detached mount still reads")
	}
	log, _ := os.ReadFile(filepath.Join(dir, "mount.log"))
	if !bytes.Contains(log, []byte("detaching it lazily")) {
		t.Errorf("mount.log does not say the unmount was lazy:\n%s", log)
	}
	mustSsefs(t, env, "mount", dir, mnt)
	if b, err := os.ReadFile(filepath.Join(mnt, "kept")); err != nil || string(b) != "kept\n" {
		t.Errorf("after remount: %q, %v", b, err)
	}
	mustSsefs(t, nil, "umount", mnt)
}
