package fs

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ssefs/ssefs/keyring"
	"github.com/ssefs/ssefs/object"
	"github.com/ssefs/ssefs/store"
)

// asUID runs a command as uid/gid (no supplementary groups) and returns
// its output and error.
func asUID(t *testing.T, uid uint32, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid, Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// openToOthers remounts m with --allow-other and lets every user reach the
// mountpoint through the test's temp dirs.
func openToOthers(t *testing.T, m *testMount) {
	t.Helper()
	m.cfg.AllowOther = true
	m.remount()
	for d := filepath.Dir(m.mnt); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// versionEntry returns the name of the version of rel in the versions
// view that holds content, as root reads it.
func versionEntry(t *testing.T, m *testMount, rel, content string) string {
	t.Helper()
	dir := m.path(".ssefs/versions/" + rel)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil && string(b) == content {
			return e.Name()
		}
	}
	t.Fatalf("no version of %s holds %q (%d versions)", rel, content, len(ents))
	return ""
}

// TestVersionsViewOwnMode: each version in .ssefs/versions is as private
// as the file was when that version was committed. A secret written 0600
// stays unreadable to others after a chmod 644 or a chown to them and a
// new public version; the new version is readable as the file is.
func TestVersionsViewOwnMode(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to act as another user")
	}
	m := newTestMount(t)
	openToOthers(t, m)
	const nobody = 65534
	write := func(rel, content string) {
		t.Helper()
		if err := os.WriteFile(m.path(rel), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// chmod: a 0600 version of root, then chmod 644 and a public version.
	write("flip", "TOPSECRET-v1\n")
	if err := os.Chmod(m.path("flip"), 0o644); err != nil {
		t.Fatal(err)
	}
	write("flip", "public-v2\n")

	// chown: a 0600 version of uid 1000, then chown to nobody and a new
	// version.
	write("given", "")
	if err := os.Chown(m.path("given"), 1000, 1000); err != nil {
		t.Fatal(err)
	}
	write("given", "secret of 1000\n")
	if out, err := asUID(t, 1000, "cat", m.path(".ssefs/versions/given/"+versionEntry(t, m, "given", "secret of 1000\n"))); err != nil || out != "secret of 1000\n" {
		t.Fatalf("uid 1000 reads its own version: %q, %v", out, err)
	}
	if err := os.Chown(m.path("given"), nobody, nobody); err != nil {
		t.Fatal(err)
	}
	write("given", "now nobody's\n")

	for _, tc := range []struct {
		rel, content string
		uid          uint32
		ok           bool
	}{
		{"flip", "TOPSECRET-v1\n", nobody, false},
		{"flip", "public-v2\n", nobody, true},
		{"given", "secret of 1000\n", nobody, false},
		{"given", "secret of 1000\n", 1000, false}, // the file is nobody's 0600 now
		{"given", "now nobody's\n", nobody, true},
		{"given", "now nobody's\n", 1000, false},
	} {
		view := m.path(".ssefs/versions/" + tc.rel + "/" + versionEntry(t, m, tc.rel, tc.content))
		out, err := asUID(t, tc.uid, "cat", view)
		if (err == nil) != tc.ok || (tc.ok && out != tc.content) || (!tc.ok && strings.Contains(out, tc.content)) {
			t.Errorf("uid %d: cat %s: %q, %v; want allowed=%v", tc.uid, view, out, err, tc.ok)
		}
		if !tc.ok && !strings.Contains(out, "Permission denied") {
			t.Errorf("uid %d: cat %s: %q, want Permission denied", tc.uid, view, out)
		}
	}
	// What the view shows is the version's own owner and read bits.
	var st syscall.Stat_t
	if err := syscall.Stat(m.path(".ssefs/versions/given/"+versionEntry(t, m, "given", "secret of 1000\n")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 1000 || st.Gid != 1000 || st.Mode&0o777 != 0o400 {
		t.Errorf("the uid-1000 version shows uid %d gid %d mode %o", st.Uid, st.Gid, st.Mode&0o777)
	}
	// A restore of the secret version is a new version of the file as it
	// is now: nobody's 0600, so nobody reads it (as it reads the file).
	id := strings.Split(versionEntry(t, m, "given", "secret of 1000\n"), "_")[1]
	if err := restoreVersion(m, "given", id); err != nil {
		t.Fatal(err)
	}
	if out, err := asUID(t, nobody, "cat", m.path("given")); err != nil || out != "secret of 1000\n" {
		t.Fatalf("after the restore nobody reads the file: %q, %v", out, err)
	}
}

// TestCallerMayReadVersion is the view's own check of one version.
func TestCallerMayReadVersion(t *testing.T) {
	file := &object.Inode{Mode: syscall.S_IFREG | 0o644, UID: 5, GID: 5}
	private := &object.Inode{Mode: syscall.S_IFREG | 0o600, UID: 5, GID: 5}
	secret := &object.VersionOwner{Mode: syscall.S_IFREG | 0o600, UID: 5, GID: 5}
	given := &object.VersionOwner{Mode: syscall.S_IFREG | 0o600, UID: 7, GID: 7}
	public := &object.VersionOwner{Mode: syscall.S_IFREG | 0o644, UID: 5, GID: 5}
	group := &object.VersionOwner{Mode: syscall.S_IFREG | 0o640, UID: 5, GID: 9}
	owner := &caller{uid: 5, gid: 5, known: true}
	other := &caller{uid: 6, gid: 6, known: true}
	root := &caller{uid: 0, known: true}
	for _, tc := range []struct {
		name  string
		c     *caller
		in    *object.Inode
		owner *object.VersionOwner
		ok    bool
	}{
		{"other, version committed 0600", other, file, secret, false},
		{"owner, version committed 0600", owner, file, secret, true},
		{"root, version committed 0600", root, file, secret, true},
		{"other, version committed 0644", other, file, public, true},
		{"other, version committed 0644, file 0600 now", other, private, public, false},
		{"group member, version committed 0640 to its group", &caller{uid: 6, gid: 9, known: true}, file, group, true},
		{"owner now, version of another uid 0600", owner, file, given, false},
		{"that uid, no longer able to read the file", &caller{uid: 7, gid: 7, known: true}, private, given, false},
		{"old record: other", other, file, nil, false},
		{"old record: owner", owner, file, nil, true},
		{"old record: root", root, private, nil, true},
		{"old record: owner who may not read the file", owner, &object.Inode{Mode: syscall.S_IFREG | 0o044, UID: 5, GID: 5}, nil, false},
		{"no caller (internal)", &caller{}, private, given, true},
	} {
		if got := tc.c.mayReadVersion(tc.in, tc.owner); got != tc.ok {
			t.Errorf("%s: mayReadVersion = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

// restoreVersion restores version id (decimal) of rel, as ssefs versions
// restore does.
func restoreVersion(m *testMount, rel, id string) error {
	n, err := m.l.ResolvePath(rel)
	if err != nil {
		return err
	}
	v, err := object.ParseVersion(id)
	if err != nil {
		return err
	}
	_, err = m.l.Restore(n.Ino, v)
	return err
}

// TestGoldenStoresMount mounts a copy of each golden store (stores of
// formats 1, 2 and 3, object/testdata) and reads every version through the
// mount and the versions view, as root and as other users: versions of
// older records (no owner) are root's and the current owner's only, those
// of format 3 are as private as the file was at their commit. A version
// written through the mount records its owner.
func TestGoldenStoresMount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to act as another user")
	}
	requireFUSE(t)
	for _, format := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("golden-v%d", format), func(t *testing.T) {
			base := t.TempDir()
			if err := os.CopyFS(base, os.DirFS(fmt.Sprintf("../object/testdata/golden-v%d", format))); err != nil {
				t.Fatal(err)
			}
			mk, err := keyring.ReadKeyFile(filepath.Join(base, "key"))
			if err != nil {
				t.Fatal(err)
			}
			m := &testMount{t: t, dir: filepath.Join(base, "store"), mnt: filepath.Join(base, "mnt"), mk: mk}
			if err := os.Mkdir(m.mnt, 0o755); err != nil {
				t.Fatal(err)
			}
			m.cfg.AllowOther = true
			m.mount()
			t.Cleanup(m.unmount)
			for d := filepath.Dir(m.mnt); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
				if err := os.Chmod(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if cfg, err := store.LoadConfig(m.dir); err != nil || cfg.Format != store.FormatVersion {
				t.Fatalf("store.json after mounting: %+v, %v", cfg, err)
			}
			small := goldenBytes(1, 100)
			if b, err := os.ReadFile(m.path("small.txt")); err != nil || !bytes.Equal(b, small) {
				t.Fatalf("small.txt: %d bytes, %v", len(b), err)
			}
			first := goldenBytes(2, 300_000)
			second := bytes.Clone(first)
			copy(second[70_000:], "second version")
			if b, err := os.ReadFile(m.path("dir/multi.bin")); err != nil || !bytes.Equal(b, second) {
				t.Fatalf("dir/multi.bin: %d bytes, %v", len(b), err)
			}
			if target, err := os.Readlink(m.path("link")); err != nil || target != "dir/multi.bin" {
				t.Fatalf("link: %q, %v", target, err)
			}
			dir := m.path(".ssefs/versions/dir/multi.bin")
			ents, err := os.ReadDir(dir)
			if err != nil || len(ents) != 2 {
				t.Fatalf("versions of dir/multi.bin: %v, %v", ents, err)
			}
			for i, want := range [][]byte{first, second} {
				if b, err := os.ReadFile(filepath.Join(dir, ents[i].Name())); err != nil || !bytes.Equal(b, want) {
					t.Fatalf("root reads version %d: %d bytes, %v", i, len(b), err)
				}
			}
			// Who else reads each version: [first, second].
			readers := map[uint32][2]bool{65534: {false, false}}
			if format == 3 {
				// First: 0600 of uid 1000; second: 0644 of uid 2000 (as now).
				readers = map[uint32][2]bool{65534: {false, true}, 1000: {true, true}, 2000: {false, true}}
			} else {
				// No owner recorded: the file's current owner (root) only.
				readers[1000] = [2]bool{false, false}
			}
			for uid, ok := range readers {
				for i, e := range ents {
					out, err := asUID(t, uid, "cat", filepath.Join(dir, e.Name()))
					if (err == nil) != ok[i] {
						t.Errorf("uid %d: version %d of dir/multi.bin: err=%v (%d bytes out); want allowed=%v", uid, i, err, len(out), ok[i])
					}
				}
			}
			// A version written through the mount records the file's owner
			// and mode: others read it as they read the file (0644).
			if err := os.WriteFile(m.path("small.txt"), []byte("written by this code\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			entry := versionEntry(t, m, "small.txt", "written by this code\n")
			if out, err := asUID(t, 65534, "cat", m.path(".ssefs/versions/small.txt/"+entry)); err != nil || out != "written by this code\n" {
				t.Errorf("nobody reads the new version: %q, %v", out, err)
			}
			old := versionEntry(t, m, "small.txt", string(small))
			if _, err := asUID(t, 65534, "cat", m.path(".ssefs/versions/small.txt/"+old)); (err == nil) != (format == 3) {
				t.Errorf("nobody reads the stored version of small.txt: %v; want allowed=%v", err, format == 3)
			}
		})
	}
}

// goldenBytes is object's goldenContent: the golden files' content.
func goldenBytes(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}
