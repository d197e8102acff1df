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

// asUser runs a command as uid/gid 65534 (nobody) with the given
// supplementary groups and returns its output and error.
func asUser(t *testing.T, groups []uint32, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: groups}}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestVersionsViewPermissions: with --allow-other, another user gets from
// .ssefs/versions exactly what the live tree grants: no version of a file
// in a directory it cannot search, deleted files included, no listing of a
// directory it cannot read, no version of a file it cannot read; and the
// same access as the live tree where the owner, group or others bits allow.
func TestVersionsViewPermissions(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to act as another user")
	}
	m := newTestMount(t)
	m.cfg.AllowOther = true
	m.remount()
	// Let uid 65534 reach the mountpoint through the test's temp dirs.
	for d := filepath.Dir(m.mnt); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	const grp = 12345
	mk := func(rel string, mode os.FileMode, gid int) {
		t.Helper()
		p := m.path(rel)
		if mode.IsDir() {
			if err := os.Mkdir(p, mode.Perm()); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode.Perm()); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, 0, gid); err != nil {
			t.Fatal(err)
		}
		// The content is committed under the mode and owner set above: a
		// version is readable as the file was when it was committed.
		if !mode.IsDir() {
			if err := os.WriteFile(p, []byte("content of "+rel+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	mk("secret", os.ModeDir|0o700, 0)
	mk("secret/f", 0o644, 0)
	mk("secret/gone", 0o644, 0)
	mk("pub", os.ModeDir|0o755, 0)
	mk("pub/f", 0o644, 0)
	mk("pub/priv", 0o600, 0)
	mk("pub/privgone", 0o600, 0)
	mk("grp", os.ModeDir|0o750, grp)
	mk("grp/f", 0o640, grp)
	mk("noread", os.ModeDir|0o711, 0) // search, no listing
	mk("noread/f", 0o644, 0)
	for _, rel := range []string{"secret/gone", "pub/privgone"} {
		if err := os.Remove(m.path(rel)); err != nil {
			t.Fatal(err)
		}
	}
	// The entry name of the version with the content, as root sees it.
	entry := func(rel string) string {
		t.Helper()
		return versionEntry(t, m, rel, "content of "+rel+"\n")
	}
	for _, tc := range []struct {
		rel    string
		groups []uint32
		live   bool // may read it through its path (deleted: what it could before)
	}{
		{"secret/f", nil, false},
		{"secret/gone", nil, false},
		{"pub/f", nil, true},
		{"pub/priv", nil, false},
		{"pub/privgone", nil, false},
		{"grp/f", nil, false},
		{"grp/f", []uint32{grp}, true},
		{"noread/f", nil, true},
	} {
		name := tc.rel
		if tc.groups != nil {
			name += " in group"
		}
		t.Run(name, func(t *testing.T) {
			view := m.path(".ssefs/versions/" + tc.rel + "/" + entry(tc.rel))
			if !strings.HasSuffix(tc.rel, "gone") {
				out, err := asUser(t, tc.groups, "cat", m.path(tc.rel))
				if (err == nil) != tc.live {
					t.Fatalf("live tree: cat %s: %v %s (test expects allowed=%v)", tc.rel, err, out, tc.live)
				}
			}
			out, err := asUser(t, tc.groups, "cat", view)
			if (err == nil) != tc.live {
				t.Fatalf("view: cat %s: err=%v out=%q; the live tree allows=%v", view, err, out, tc.live)
			}
			if tc.live && out != "content of "+tc.rel+"\n" {
				t.Fatalf("view: cat %s = %q", view, out)
			}
			if out, err := asUser(t, tc.groups, "ls", filepath.Dir(view)); (err == nil) != tc.live {
				t.Fatalf("view: ls versions of %s: err=%v out=%q; want allowed=%v", tc.rel, err, out, tc.live)
			}
		})
	}
	// Listing a directory of the view needs read permission on the real one.
	for _, tc := range []struct {
		dir    string
		groups []uint32
		ok     bool
	}{
		{"", nil, true},
		{"secret", nil, false},
		{"pub", nil, true},
		{"grp", nil, false},
		{"grp", []uint32{grp}, true},
		{"noread", nil, false},
	} {
		live, lerr := asUser(t, tc.groups, "ls", m.path(tc.dir))
		view, verr := asUser(t, tc.groups, "ls", m.path(".ssefs/versions/"+tc.dir))
		if (lerr == nil) != tc.ok || (verr == nil) != tc.ok {
			t.Errorf("ls %q (groups %v): live err=%v %q, view err=%v %q; want allowed=%v", tc.dir, tc.groups, lerr, live, verr, view, tc.ok)
		}
		// The view lists deleted files too.
		if tc.dir == "pub" && (live != "f\npriv\n" || view != "f\npriv\nprivgone\n") {
			t.Errorf("ls %q: live lists %q, view lists %q", tc.dir, live, view)
		}
	}
}

// TestCallerMay is the permission rule of the view's own check.
func TestCallerMay(t *testing.T) {
	file := func(mode, uid, gid uint32) *object.Inode {
		return &object.Inode{Mode: syscall.S_IFREG | mode, UID: uid, GID: gid}
	}
	dir := &object.Inode{Mode: syscall.S_IFDIR | 0o700, UID: 5, GID: 5}
	for _, tc := range []struct {
		name string
		c    *caller
		in   *object.Inode
		want uint32
		ok   bool
	}{
		{"owner reads 0600", &caller{uid: 5, gid: 9, known: true}, file(0o600, 5, 5), mayRead, true},
		{"other reads 0600", &caller{uid: 6, gid: 9, known: true}, file(0o600, 5, 5), mayRead, false},
		{"owner class decides, not other", &caller{uid: 5, gid: 9, known: true}, file(0o044, 5, 5), mayRead, false},
		{"group reads 0640", &caller{uid: 6, gid: 5, known: true}, file(0o640, 5, 5), mayRead, true},
		{"supplementary group reads 0640", &caller{uid: 6, gid: 9, groups: []uint32{7, 5}, loaded: true, known: true}, file(0o640, 5, 5), mayRead, true},
		{"group class decides, not other", &caller{uid: 6, gid: 5, known: true}, file(0o604, 5, 5), mayRead, false},
		{"other reads 0644", &caller{uid: 6, gid: 9, known: true}, file(0o644, 5, 5), mayRead, true},
		{"other searches 0700 dir", &caller{uid: 6, gid: 9, known: true}, dir, mayExec, false},
		{"root searches 0700 dir", &caller{uid: 0, known: true}, dir, mayExec, true},
		{"root reads 0000", &caller{uid: 0, known: true}, file(0, 5, 5), mayRead, true},
		{"root executes 0644", &caller{uid: 0, known: true}, file(0o644, 5, 5), mayExec, false},
		{"no caller (internal)", &caller{}, file(0, 5, 5), mayRead, true},
	} {
		if got := tc.c.may(tc.in, tc.want); got != tc.ok {
			t.Errorf("%s: may = %v, want %v", tc.name, got, tc.ok)
		}
	}
}
