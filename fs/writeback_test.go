package fs

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// partsOnSmallDisk remounts m with the store's part directory on a tmpfs
// of size bytes: a nearly full disk for content, while the metadata stays
// where it was.
func partsOnSmallDisk(t *testing.T, m *testMount, size int) string {
	t.Helper()
	m.unmount()
	parts := filepath.Join(m.dir, "parts")
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", parts).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() {
		m.unmount()
		exec.Command("umount", "-l", parts).Run()
	})
	m.mount()
	return parts
}

func randomFile(t *testing.T, path string, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFullDiskCp: cp of a file bigger than the free space fails ("No space
// left on device") and the file's current version stays what it was (the
// old content, or no content for a new file), also after a remount, never
// a file padded with zeros; once space is freed the same cp works.
func TestFullDiskCp(t *testing.T) {
	m := newTestMount(t)
	parts := partsOnSmallDisk(t, m, 64<<20)
	src := t.TempDir()
	old := randomFile(t, m.path("old"), 3<<20)
	big := randomFile(t, filepath.Join(src, "big"), 40<<20)
	small := randomFile(t, filepath.Join(src, "small"), 3<<20)
	filler := filepath.Join(parts, "filler")
	if err := os.WriteFile(filler, make([]byte, 59<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ src, dst string }{
		{filepath.Join(src, "big"), "old"},   // overwrite, 40 MiB onto ~2 MiB free
		{filepath.Join(src, "small"), "new"}, // a new 3 MiB file
	} {
		out, err := exec.Command("cp", tc.src, m.path(tc.dst)).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "No space left on device") {
			t.Fatalf("cp onto a full disk: %v %s, want No space left on device", err, out)
		}
		// The open state may outlive cp for a moment (the release is
		// asynchronous): then it shows what cp wrote, never zeros.
		got, err := os.ReadFile(m.path(tc.dst))
		if err != nil {
			t.Fatal(err)
		}
		srcBytes, _ := os.ReadFile(tc.src)
		if !bytes.HasPrefix(srcBytes, got) && !(tc.dst == "old" && bytes.Equal(got, old)) {
			t.Fatalf("%s after the failed cp: %d bytes, neither the old content nor what cp wrote", tc.dst, len(got))
		}
	}
	m.remount()
	if got, err := os.ReadFile(m.path("old")); err != nil || !bytes.Equal(got, old) {
		t.Fatalf("old after the failed cp and a remount: %d bytes, %v; want the old %d bytes", len(got), err, len(old))
	}
	if got, err := os.ReadFile(m.path("new")); err == nil && len(got) != 0 {
		t.Fatalf("new after the failed cp and a remount: %d bytes, want none", len(got))
	}
	if n := len(versionEntries(t, m, "old")); n != 1 {
		t.Fatalf("old has %d versions, want 1", n)
	}

	os.Remove(filler)
	for _, tc := range []struct {
		src, dst string
		want     []byte
	}{{filepath.Join(src, "big"), "old", big}, {filepath.Join(src, "small"), "new", small}} {
		if out, err := exec.Command("cp", tc.src, m.path(tc.dst)).CombinedOutput(); err != nil {
			t.Fatalf("cp once space is free: %v %s", err, out)
		}
	}
	m.remount()
	for name, want := range map[string][]byte{"old": big, "new": small} {
		if got, err := os.ReadFile(m.path(name)); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s after cp and a remount: %d bytes, %v; want the %d bytes copied", name, len(got), err, len(want))
		}
	}
}

// TestShellRedirectIsOneVersion: `>` opens with O_TRUNC and the shell
// closes a duplicate of the descriptor before the command writes (a flush
// of the empty file): still one version per redirect, as one S3 PUT.
func TestShellRedirectIsOneVersion(t *testing.T) {
	m := newTestMount(t)
	p := m.path("n")
	for i, cmd := range []string{"echo one > n", "echo two > n", "seq 1 100000 > n", "exec 3> n; exec 3>&-"} {
		c := exec.Command("sh", "-c", cmd)
		c.Dir = m.mnt
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v %s", cmd, err, out)
		}
		if i == 3 {
			m.remount() // the empty version is made at the release, which the kernel sends asynchronously
		}
		if names := versionEntries(t, m, "n"); len(names) != i+1 {
			t.Fatalf("after %q: versions %v, want %d", cmd, names, i+1)
		}
	}
	if b, err := os.ReadFile(p); err != nil || len(b) != 0 {
		t.Fatalf("after the empty redirect: %q, %v", b, err)
	}
}

// TestHugeOffsetPwrite: pwrite near 2^63 answers EFBIG, as ext4 does, and
// the file and the mount are unharmed.
func TestHugeOffsetPwrite(t *testing.T) {
	m := newTestMount(t)
	want := randomFile(t, m.path("f"), 1000)
	fd, err := unix.Open(m.path("f"), unix.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The kernel itself refuses a write whose end passes 2^63-1 (EINVAL)
	// and one starting at it (EFBIG); these reach the daemon.
	for _, w := range []struct{ off, n int64 }{{1<<63 - 2, 1}, {1<<63 - 65536, 1}, {1<<63 - 65536, 65535}} {
		if _, err := unix.Pwrite(fd, make([]byte, w.n), w.off); !errors.Is(err, syscall.EFBIG) {
			t.Errorf("pwrite of %d at %d: %v, want EFBIG", w.n, w.off, err)
		}
	}
	if err := unix.Ftruncate(fd, 1<<63-65536); !errors.Is(err, syscall.EFBIG) {
		t.Errorf("ftruncate to 2^63-65536: %v, want EFBIG", err)
	}
	if err := unix.Close(fd); err != nil {
		t.Fatal(err)
	}
	m.remount()
	if st, err := os.Stat(m.path("f")); err != nil || st.Size() != int64(len(want)) {
		t.Fatalf("after the refused writes: %v, %v; want %d bytes", st, err, len(want))
	}
	if got, err := os.ReadFile(m.path("f")); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("after the refused writes: %d bytes, %v", len(got), err)
	}
}

// TestGCDuringWrites runs gc in a loop on the live mount while files of
// 24 MiB are written through it (the sealer writing parts in the
// background the whole time); every write and close succeeds and every
// file reads back byte for byte, also after a remount.
func TestGCDuringWrites(t *testing.T) {
	m := newTestMount(t)
	const writers, rounds = 2, 3
	var stop atomic.Bool
	gcErr := make(chan error, 1)
	var gcRuns atomic.Int64
	go func() {
		defer close(gcErr)
		for !stop.Load() {
			if _, err := m.l.CollectGarbage(time.Now()); err != nil {
				gcErr <- err
				return
			}
			gcRuns.Add(1)
		}
	}()
	want := make([][]byte, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			for range rounds {
				b := make([]byte, 24<<20)
				rand.Read(b)
				if err := os.WriteFile(m.path(fmt.Sprint("w", i)), b, 0o644); err != nil {
					errs[i] = err
					return
				}
				want[i] = b
			}
		})
	}
	wg.Wait()
	stop.Store(true)
	if err := <-gcErr; err != nil {
		t.Fatal(err)
	}
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d gc runs", gcRuns.Load())
	check := func() {
		for i := range writers {
			if got, err := os.ReadFile(m.path(fmt.Sprint("w", i))); err != nil || !bytes.Equal(got, want[i]) {
				t.Fatalf("w%d: %d bytes, %v; want the %d bytes written", i, len(got), err, len(want[i]))
			}
		}
	}
	check()
	m.remount()
	check()
}

// TestUnwritablePartsAreEIO: a part store that refuses writes for another
// reason than space (an immutable directory: EPERM from the store's file
// system) fails the close with EIO, not with the store's errno, and the
// file keeps its old content.
func TestUnwritablePartsAreEIO(t *testing.T) {
	m := newTestMount(t)
	old := randomFile(t, m.path("f"), 2<<20)
	var dirs []string
	filepath.WalkDir(filepath.Join(m.dir, "parts"), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for _, d := range dirs {
		if out, err := exec.Command("chattr", "+i", d).CombinedOutput(); err != nil {
			t.Skipf("cannot make part directories immutable here: %v %s", err, out)
		}
		defer exec.Command("chattr", "-i", d).Run()
	}
	f, err := os.OpenFile(m.path("f"), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 10<<20)
	rand.Read(b)
	f.Write(b)
	if err := f.Close(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("close: %v, want EIO", err)
	}
	m.remount()
	if got, err := os.ReadFile(m.path("f")); err != nil || !bytes.Equal(got, old) {
		t.Fatalf("after the failed close and a remount: %d bytes, %v; want the old %d bytes", len(got), err, len(old))
	}
}
