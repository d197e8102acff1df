package fs

import (
	"bytes"
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// entryState is everything of one path that must survive a remount.
type entryState struct {
	mode   os.FileMode
	uid    uint32
	gid    uint32
	nlink  uint64
	ino    uint64
	size   int64
	mtime  int64
	sum    [32]byte
	target string
	xattrs map[string]string
}

func snapshot(t testing.TB, root string) map[string]entryState {
	t.Helper()
	out := map[string]entryState{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		fi, _ := os.Lstat(p)
		e := entryState{mode: fi.Mode(), uid: st.Uid, gid: st.Gid, nlink: uint64(st.Nlink), ino: st.Ino,
			size: st.Size, mtime: st.Mtim.Nano(), xattrs: map[string]string{}}
		switch {
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			e.sum = sha256.Sum256(b)
		case fi.Mode()&os.ModeSymlink != 0:
			e.target, _ = os.Readlink(p)
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			buf := make([]byte, 4096)
			n, _ := unix.Listxattr(p, buf)
			for _, name := range strings.Split(string(buf[:n]), "\x00") {
				if name == "" {
					continue
				}
				v := make([]byte, 65536)
				k, err := unix.Getxattr(p, name, v)
				if err != nil {
					return err
				}
				e.xattrs[name] = string(v[:k])
			}
		}
		rel, _ := filepath.Rel(root, p)
		out[rel] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRemountPreservesEverything checks content, mode, owner, times,
// xattrs, hard links and symlinks across an unmount and mount.
func TestRemountPreservesEverything(t *testing.T) {
	m := newTestMount(t)
	makeTree(t, m.mnt)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(unix.Setxattr(m.path("d0/f0"), "user.colour", []byte("blue"), 0))
	must(unix.Setxattr(m.path("empty"), "user.big", bytes.Repeat([]byte("x"), 60000), 0))
	must(os.Chown(m.path("d2/f100"), 1234, 5678))
	must(os.Chmod(m.path("d0/f4095"), 0o4751))
	must(syscall.Mkfifo(m.path("fifo"), 0o600))
	must(os.Symlink("/absolute/target/that/does/not/exist", m.path("dangling")))
	before := snapshot(t, m.mnt)
	m.remount()
	after := snapshot(t, m.mnt)
	if len(before) != len(after) {
		t.Fatalf("%d entries before remount, %d after", len(before), len(after))
	}
	names := make([]string, 0, len(before))
	for n := range before {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b, a := before[n], after[n]
		if b.mode != a.mode || b.uid != a.uid || b.gid != a.gid || b.nlink != a.nlink || b.ino != a.ino ||
			b.size != a.size || b.mtime != a.mtime || b.sum != a.sum || b.target != a.target || len(b.xattrs) != len(a.xattrs) {
			t.Errorf("%s changed across remount:\n before %+v\n after  %+v", n, b, a)
			continue
		}
		for k, v := range b.xattrs {
			if a.xattrs[k] != v {
				t.Errorf("%s xattr %s changed", n, k)
			}
		}
	}
	if before["hard"].ino != before["d1/f1"].ino || after["hard"].nlink != 2 {
		t.Errorf("hard link lost: %+v %+v", after["hard"], after["d1/f1"])
	}
}

// TestNothingLeaks writes files with known names, content and xattrs and
// then greps every byte under the store for them.
func TestNothingLeaks(t *testing.T) {
	m := newTestMount(t)
	secrets := []string{"SECRETNAME-4f9a1c", "SECRETDIR-77d0e2", "SECRETCONTENT-0b5e8d71", "SECRETXATTR-c3a9"}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(m.path(secrets[1]), 0o755))
	small := []byte(strings.Repeat(secrets[2]+"\n", 10))
	big := []byte(strings.Repeat(secrets[2]+"\n", 300_000)) // several MiB: part files
	must(os.WriteFile(m.path(secrets[1]+"/"+secrets[0]), small, 0o644))
	must(os.WriteFile(m.path(secrets[1]+"/big-"+secrets[0]), big, 0o644))
	must(unix.Setxattr(m.path(secrets[1]), "user.note", []byte(secrets[3]), 0))
	must(os.Symlink(secrets[0], m.path("link-"+secrets[0])))
	m.unmount()
	err := filepath.WalkDir(m.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		for _, s := range secrets {
			if strings.Contains(p, s) {
				t.Errorf("file name %s reveals %q", p, s)
			}
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s contains %q in plaintext", p, s)
			}
		}
		if bytes.Contains(b, m.mk[:]) {
			t.Errorf("%s contains the master key", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	m.mount()
}
