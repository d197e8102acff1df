package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// partFiles lists the part files of a store by id.
func partFiles(t *testing.T, dir string) map[uint64]string {
	t.Helper()
	out := map[uint64]string{}
	err := filepath.WalkDir(filepath.Join(dir, "parts"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		var id uint64
		if _, err := fmt.Sscanf(d.Name(), "%x", &id); err != nil {
			return err
		}
		out[id] = p
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// stopDaemon ends a test's mount daemon whatever state it is in: ssefs
// umount (bounded), then a lazy unmount, then SIGKILL to the daemon, so a
// failing test never leaves a hung mount behind.
func stopDaemon(t *testing.T, dir, mnt string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if exec.CommandContext(ctx, binary, "umount", mnt).Run() == nil {
		return
	}
	if syscall.Unmount(mnt, syscall.MNT_DETACH) != nil {
		exec.Command("fusermount3", "-uz", mnt).Run()
	}
	if out, err := exec.Command("pgrep", "-f", "ssefs mount -f .*"+dir).Output(); err == nil {
		for _, f := range strings.Fields(string(out)) {
			var pid int
			if _, err := fmt.Sscan(f, &pid); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

// writeWithParts writes a random file of size bytes under each name
// through the daemon, unmounting after each (which commits it) to learn
// the part files it added, and mounting again. It returns each file's
// inode and its part ids, sorted.
func writeWithParts(t *testing.T, dir, mnt, pass string, size int, names ...string) (inos []uint64, parts [][]uint64) {
	t.Helper()
	for _, name := range names {
		before := partFiles(t, dir)
		data := make([]byte, size)
		rand.Read(data)
		if err := os.WriteFile(filepath.Join(mnt, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(mnt, name), &st); err != nil {
			t.Fatal(err)
		}
		inos = append(inos, st.Ino)
		mustSsefs(t, nil, "umount", mnt) // commits and releases every part
		var mine []uint64
		for id := range partFiles(t, dir) {
			if _, ok := before[id]; !ok {
				mine = append(mine, id)
			}
		}
		if len(mine) == 0 {
			t.Fatalf("%s has no part file", name)
		}
		slices.Sort(mine)
		parts = append(parts, mine)
		mustSsefs(t, nil, "mount", "--passphrase-file", pass, dir, mnt)
	}
	return inos, parts
}

// TestTamperedPartInMountLog: through the real daemon, a part file with a
// byte appended and a part file removed both read as EIO, and mount.log
// names the object and the part as an integrity failure.
func TestTamperedPartInMountLog(t *testing.T) {
	dir, mnt, pass := daemonMount(t)
	t.Cleanup(func() { stopDaemon(t, dir, mnt) })
	inos, parts := writeWithParts(t, dir, mnt, pass, 2<<20, "appended", "removed")
	mustSsefs(t, nil, "umount", mnt)
	files := partFiles(t, dir)
	f, err := os.OpenFile(files[parts[0][0]], os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0})
	f.Close()
	if err := os.Remove(files[parts[1][0]]); err != nil {
		t.Fatal(err)
	}
	mustSsefs(t, nil, "mount", "--passphrase-file", pass, dir, mnt)
	for _, name := range []string{"appended", "removed"} {
		out, err := exec.Command("cat", filepath.Join(mnt, name)).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "Input/output error") {
			t.Errorf("cat %s: %v, %d bytes of output; want EIO", name, err, len(out))
		}
	}
	mustSsefs(t, nil, "umount", mnt)
	logb, err := os.ReadFile(filepath.Join(dir, "mount.log"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range inos {
		want := fmt.Sprintf("object %d part %d", inos[i], parts[i][0])
		found := false
		for _, line := range strings.Split(string(logb), "\n") {
			if strings.Contains(line, "INTEGRITY") && strings.Contains(line, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("mount.log has no integrity line naming %q:\n%s", want, logb)
		}
	}
}
