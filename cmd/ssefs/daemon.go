package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/ssefs/ssefs/internal/storefile"
	"github.com/ssefs/ssefs/keyring"
)

// The daemon child gets the master key on fd 3 and reports readiness on fd 4,
// so the passphrase is asked once, by the parent, on the user's terminal.
const (
	envDaemon  = "SSEFS_DAEMON_CHILD"
	childKeyFD = 3
	childOKFD  = 4
	// envDaemonFault makes the daemon child panic before the mount is
	// ready; tests use it to check that a dying daemon leaves its trace in
	// mount.log and that `ssefs mount` shows it.
	envDaemonFault = "SSEFS_TEST_DAEMON_PANIC"
	// logTailLines is how much of mount.log a failed mount prints.
	logTailLines = 20
)

// mountLogName is the daemon's log inside the store directory.
const mountLogName = "mount.log"

// openMountLog opens STORE/mount.log for appending. The store directory is
// untrusted: a symlink planted there must not make a root daemon append to
// some other file, nor a FIFO block the mount (storefile.Open refuses
// anything but a regular file, at once).
func openMountLog(dir string) (*os.File, error) {
	f, err := storefile.Open(filepath.Join(dir, mountLogName), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", mountLogName, err)
	}
	return f, nil
}

// daemonize starts this command again in the foreground as a detached child
// and waits until it reports that the mount is ready, or why it failed. The
// child's stdout and stderr are STORE/mount.log, so a panic or a fatal
// runtime error leaves its trace there; if the child dies before reporting,
// the error carries the lines it added to the log.
func daemonize(dir string, mk *keyring.MasterKey, args []string) error {
	logf, err := openMountLog(dir)
	if err != nil {
		return err
	}
	defer logf.Close()
	logStart, _ := logf.Seek(0, io.SeekEnd)
	keyR, keyW, err := os.Pipe()
	if err != nil {
		return err
	}
	okR, okW, err := os.Pipe()
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, append([]string{"mount", "-f"}, args...)...)
	cmd.Env = append(childEnv(os.Environ()), envDaemon+"=1")
	cmd.ExtraFiles = []*os.File{keyR, okW}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting mount daemon: %w", err)
	}
	keyR.Close()
	okW.Close()
	keyW.Write(mk[:])
	keyW.Close()
	line, _ := bufio.NewReader(okR).ReadString('\n')
	okR.Close()
	if line == "ok\n" {
		cmd.Process.Release()
		return nil
	}
	werr := cmd.Wait()
	if line = strings.TrimSpace(line); line != "" {
		return errors.New(line)
	}
	msg := "mount daemon exited before the mount was ready"
	if werr != nil {
		msg += " (" + werr.Error() + ")"
	}
	if tail := logTail(filepath.Join(dir, mountLogName), logStart, logTailLines); tail != "" {
		msg += "; last lines of " + filepath.Join(dir, mountLogName) + ":\n" + tail
	}
	return errors.New(msg)
}

// childEnv is the daemon's environment: this one without any variable that
// may hold a passphrase (the child gets the derived key through a pipe).
func childEnv(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(secretEnv, name) || name == envDaemon
	})
}

// logTail returns the last n lines the log gained after offset from.
func logTail(path string, from int64, n int) string {
	f, err := storefile.Open(path, os.O_RDONLY, 0)
	if err != nil {
		return ""
	}
	defer f.Close()
	const maxTail = 64 << 10
	if end, err := f.Seek(0, io.SeekEnd); err == nil && end-from > maxTail {
		from = end - maxTail
	}
	b, err := io.ReadAll(io.NewSectionReader(f, from, maxTail))
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(bytes.ToValidUTF8(b, []byte("?"))), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// readChildKey reads the master key from the parent into mk (in place: no
// copy of the key is left behind on the stack).
func readChildKey(mk *keyring.MasterKey) error {
	f := os.NewFile(childKeyFD, "key")
	defer f.Close()
	if _, err := io.ReadFull(f, mk[:]); err != nil {
		return fmt.Errorf("reading master key from parent: %w", err)
	}
	return nil
}

// reported is set once the parent has been told; fd 4 is closed then and
// its number may belong to another file.
var reported bool

// report tells a waiting parent how the mount went, once; a no-op in the
// foreground.
func report(err error) {
	if os.Getenv(envDaemon) != "1" || reported {
		return
	}
	reported = true
	f := os.NewFile(childOKFD, "ready")
	if err == nil {
		f.WriteString("ok\n")
	} else {
		f.WriteString(strings.ReplaceAll(err.Error(), "\n", " ") + "\n")
	}
	f.Close()
}
