package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ssefsWithin runs ssefs like ssefs() but kills it after d: a hang is a
// test failure, not a stuck test.
func ssefsWithin(t *testing.T, d time.Duration, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return string(out), fmt.Errorf("ssefs %s did not finish within %v", strings.Join(args, " "), d)
	}
	return string(out), err
}

// TestSpecialFileInPartPlace: through the real daemon, a FIFO, a symbolic
// link to /dev/zero and a directory each put in a part file's place read
// as EIO at once (a FIFO used to block the read, and the daemon, for
// good), mount.log names the object and the part as an integrity failure,
// and ssefs umount works afterwards.
func TestSpecialFileInPartPlace(t *testing.T) {
	dir, mnt, pass := daemonMount(t)
	t.Cleanup(func() { stopDaemon(t, dir, mnt) })
	names := []string{"fifo", "devzero", "directory"}
	inos, fileParts := writeWithParts(t, dir, mnt, pass, 1<<20, names...)
	parts := make([]uint64, len(fileParts))
	for i, ps := range fileParts {
		parts[i] = ps[0]
	}
	mustSsefs(t, nil, "umount", mnt)
	files := partFiles(t, dir)
	for i, name := range names {
		p := files[parts[i]]
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		var err error
		switch name {
		case "fifo":
			err = syscall.Mkfifo(p, 0o600)
		case "devzero":
			err = os.Symlink("/dev/zero", p)
		case "directory":
			err = os.Mkdir(p, 0o700)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	mustSsefs(t, nil, "mount", "--passphrase-file", pass, dir, mnt)
	for _, name := range names {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		start := time.Now()
		out, err := exec.CommandContext(ctx, "cat", filepath.Join(mnt, name)).CombinedOutput()
		timedOut := ctx.Err() != nil
		cancel()
		switch {
		case timedOut:
			t.Errorf("cat %s: no answer within 10s (the daemon blocks on the special file)", name)
		case err == nil || !strings.Contains(string(out), "Input/output error"):
			t.Errorf("cat %s: %v, %d bytes of output; want EIO", name, err, len(out))
		default:
			t.Logf("cat %s: EIO after %v", name, time.Since(start).Round(time.Millisecond))
		}
	}
	if out, err := ssefsWithin(t, 20*time.Second, "umount", mnt); err != nil {
		t.Fatalf("umount after reading special part files: %v\n%s", err, out)
	}
	logb, err := os.ReadFile(filepath.Join(dir, "mount.log"))
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range names {
		want := fmt.Sprintf("object %d part %d", inos[i], parts[i])
		found := false
		for _, line := range strings.Split(string(logb), "\n") {
			if strings.Contains(line, "INTEGRITY") && strings.Contains(line, want) && strings.Contains(line, "not a regular file") {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: mount.log has no integrity line naming %q as not a regular file:\n%s", name, want, logb)
		}
	}
}

// TestSpecialMountLog: a FIFO, a symbolic link or a directory at
// STORE/mount.log makes ssefs mount fail at once with an error, instead of
// blocking in the open of a FIFO until someone reads it.
func TestSpecialMountLog(t *testing.T) {
	requireFUSE(t)
	base := t.TempDir()
	dir, mnt, pass := filepath.Join(base, "store"), filepath.Join(base, "mnt"), filepath.Join(base, "pass")
	os.Mkdir(mnt, 0o755)
	os.WriteFile(pass, []byte("special files\n"), 0o600)
	mustSsefs(t, nil, "init", "--passphrase-file", pass, dir)
	t.Cleanup(func() { stopDaemon(t, dir, mnt) })
	victim := filepath.Join(base, "victim")
	os.WriteFile(victim, []byte("victim\n"), 0o600)
	logPath := filepath.Join(dir, "mount.log")
	for _, kind := range []string{"fifo", "symlink", "directory"} {
		os.Remove(logPath)
		var err error
		switch kind {
		case "fifo":
			err = syscall.Mkfifo(logPath, 0o600)
		case "symlink":
			err = os.Symlink(victim, logPath)
		case "directory":
			err = os.Mkdir(logPath, 0o700)
		}
		if err != nil {
			t.Fatal(err)
		}
		out, err := ssefsWithin(t, 20*time.Second, "mount", "--passphrase-file", pass, dir, mnt)
		if err == nil {
			t.Errorf("mount with a %s as mount.log succeeded; want an error", kind)
			ssefsWithin(t, 20*time.Second, "umount", mnt)
		} else if !strings.Contains(out, "mount.log") {
			t.Errorf("mount with a %s as mount.log: %v\n%s\nwant an error naming mount.log", kind, err, out)
		}
	}
	if b, _ := os.ReadFile(victim); !bytes.Equal(b, []byte("victim\n")) {
		t.Errorf("the symlink's target was written to: %q", b)
	}
}

// TestPlantedNextPartIDs: files planted at the next part ids (symbolic
// links to a victim, a FIFO, a directory, a plain file) neither block
// writes nor get overwritten: each write skips the taken names, logs
// them, and the content reads back intact.
func TestPlantedNextPartIDs(t *testing.T) {
	dir, mnt, pass := daemonMount(t)
	t.Cleanup(func() { stopDaemon(t, dir, mnt) })
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("victim\n"), 0o600)

	// The part ids a write uses come from a counter: after a first write
	// is committed, the next ones follow its highest part id.
	first := make([]byte, 1<<20)
	rand.Read(first)
	if err := os.WriteFile(filepath.Join(mnt, "first"), first, 0o644); err != nil {
		t.Fatal(err)
	}
	mustSsefs(t, nil, "umount", mnt)
	var high uint64
	for id := range partFiles(t, dir) {
		high = max(high, id)
	}
	if high == 0 {
		t.Fatal("no part file after the first write")
	}
	mustSsefs(t, nil, "mount", "--passphrase-file", pass, dir, mnt)
	const planted = 40
	var plantedPaths []string
	for i := range uint64(planted) {
		id := high + 1 + i
		shard := filepath.Join(dir, "parts", fmt.Sprintf("%02x", uint8(id>>16)), fmt.Sprintf("%02x", uint8(id>>8)))
		if err := os.MkdirAll(shard, 0o700); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(shard, fmt.Sprintf("%016x", id))
		var err error
		switch i % 4 {
		case 0, 1:
			err = os.Symlink(victim, p)
		case 2:
			err = syscall.Mkfifo(p, 0o600)
		case 3:
			err = os.WriteFile(p, []byte("planted"), 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
		plantedPaths = append(plantedPaths, p)
	}
	data := make([]byte, 9<<20) // three 4 MiB parts
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(mnt, "second"), data, 0o644); err != nil {
		t.Fatalf("writing with planted part files: %v", err)
	}
	small := []byte("a small file goes inline\n")
	if err := os.WriteFile(filepath.Join(mnt, "small"), small, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := ssefsWithin(t, 20*time.Second, "umount", mnt); err != nil {
		t.Fatalf("umount: %v\n%s", err, out)
	}
	mustSsefs(t, nil, "mount", "--passphrase-file", pass, dir, mnt)
	for name, want := range map[string][]byte{"first": first, "second": data, "small": small} {
		got, err := os.ReadFile(filepath.Join(mnt, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, %v; want the %d bytes written", name, len(got), err, len(want))
		}
	}
	if b, _ := os.ReadFile(victim); !bytes.Equal(b, []byte("victim\n")) {
		t.Errorf("a planted symlink's target was written to: %q", b)
	}
	if out, err := ssefsWithin(t, 20*time.Second, "umount", mnt); err != nil {
		t.Fatalf("umount: %v\n%s", err, out)
	}
	logb, err := os.ReadFile(filepath.Join(dir, "mount.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(logb), plantedPaths[0]+" already exists") {
		t.Errorf("mount.log does not name the planted %s:\n%s", plantedPaths[0], logb)
	}
}
