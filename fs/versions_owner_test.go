package fs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ssefs/ssefs/object"
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
