package fs

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ssefs/ssefs/object"
)

func versionEntries(t *testing.T, m *testMount, rel string) []string {
	t.Helper()
	ents, err := os.ReadDir(m.path(".ssefs/versions/" + rel))
	if err != nil {
		t.Fatalf("listing versions of %s: %v", rel, err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestVersionsView(t *testing.T) {
	m := newTestMount(t)
	os.Mkdir(m.path("dir"), 0o755)
	p := m.path("dir/f")
	contents := []string{"version one\n", "version two, longer\n", "3\n"}
	for _, c := range contents {
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	check := func(wantDeleted bool) {
		t.Helper()
		names := versionEntries(t, m, "dir/f")
		want := len(contents)
		if wantDeleted {
			want++
		}
		if len(names) != want {
			t.Fatalf("versions of dir/f = %v, want %d entries", names, want)
		}
		for i, c := range contents {
			b, err := os.ReadFile(m.path(".ssefs/versions/dir/f/" + names[i]))
			if err != nil || string(b) != c {
				t.Fatalf("version %d (%s) = %q, %v; want %q", i, names[i], b, err, c)
			}
		}
		if wantDeleted && !strings.HasSuffix(names[len(names)-1], "_deleted") {
			t.Fatalf("last entry %q is not a delete marker", names[len(names)-1])
		}
	}
	check(false)
	// The view is hidden from readdir and therefore from find, but reachable.
	if out, _ := exec.Command("find", m.mnt).Output(); strings.Contains(string(out), ".ssefs") {
		t.Fatalf("find descends into .ssefs:\n%s", out)
	}
	if err := os.WriteFile(m.path(".ssefs/x"), nil, 0o644); err == nil {
		t.Fatal("wrote into the read-only view")
	}
	if err := os.Mkdir(m.path(".ssefs"), 0o755); err == nil {
		t.Fatal("created .ssefs at the root")
	}
	id := make([]byte, 64)
	n, err := unix.Getxattr(p, "user.ssefs.version-id", id)
	if err != nil || !strings.HasSuffix(versionEntries(t, m, "dir/f")[2], "_"+string(id[:n])) {
		t.Fatalf("user.ssefs.version-id = %q, %v", id[:n], err)
	}
	m.remount()
	check(false)

	// Delete: the name goes, the versions stay and are listed, with a marker.
	os.Remove(p)
	check(true)
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("stat after rm: %v", err)
	}
	// Restore version 2: the file is back with that content, as a new version.
	ino, err := m.l.ResolvePath("dir/f")
	if err != nil {
		t.Fatal(err)
	}
	vs, _ := m.l.Versions(ino.Ino)
	if _, err := m.l.Restore(ino.Ino, vs[1].ID); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != contents[1] {
		t.Fatalf("after restore: %q, %v", b, err)
	}
	// Re-creating a deleted path continues its history.
	os.Remove(p)
	os.WriteFile(p, []byte("reborn\n"), 0o600)
	if got := len(versionEntries(t, m, "dir/f")); got != 7 {
		t.Fatalf("after delete, restore, delete, create: %d versions, want 7", got)
	}
}

// TestVersionsShareParts checks copy on write: a 4 KiB overwrite of a large
// file adds about one chunk to the store, and purging frees space.
func TestVersionsShareParts(t *testing.T) {
	m := newTestMount(t)
	p := m.path("big")
	data := make([]byte, 32<<20)
	rand.Read(data)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	before := storedBytes(t, m)
	for i := 0; i < 5; i++ {
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		off := int64(i) * 5 << 20
		patch := bytes.Repeat([]byte{byte(i + 1)}, 4096)
		f.WriteAt(patch, off+100)
		copy(data[off+100:], patch)
		f.Close()
	}
	after := storedBytes(t, m)
	if grew := after - before; grew > 5*(64<<10+64) {
		t.Fatalf("5 overwrites of 4 KiB grew the store by %d bytes", grew)
	}
	got, _ := os.ReadFile(p)
	if !bytes.Equal(got, data) {
		t.Fatal("content differs after overwrites")
	}
	in, _ := m.l.ResolvePath("big")
	// Overwritten chunks stay in their shared 4 MiB parts (the other
	// chunks of those parts are live), so purging frees nothing yet.
	if n, freed, err := m.l.Purge(in.Ino, 0, true); err != nil || n != 5 || freed != 0 {
		t.Fatalf("purge noncurrent: %d versions, %d bytes, %v", n, freed, err)
	}
	// A full rewrite makes the old parts noncurrent; purge frees them.
	rand.Read(data)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	beforePurge := storedBytes(t, m)
	if _, freed, err := m.l.Purge(in.Ino, 0, true); err != nil || freed < 32<<20 {
		t.Fatalf("purge after rewrite freed %d bytes, %v", freed, err)
	}
	if s := storedBytes(t, m); beforePurge-s < 32<<20 {
		t.Fatalf("stored bytes %d → %d", beforePurge, s)
	}
	in, _ = m.l.ResolvePath("big")
	m.remount()
	got, _ = os.ReadFile(p)
	if !bytes.Equal(got, data) {
		t.Fatal("content differs after purge and remount")
	}
	if names := versionEntries(t, m, "big"); len(names) != 1 {
		t.Fatalf("versions after purge: %v", names)
	}
	// Purging the only version removes the file and frees everything.
	if _, _, err := m.l.Purge(in.Ino, in.Version, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("file still there after purging its last version: %v", err)
	}
	if s := storedBytes(t, m); s != 0 {
		t.Fatalf("store still holds %d bytes", s)
	}
	if files, _ := filepath.Glob(filepath.Join(m.dir, "parts", "*", "*", "*")); len(files) != 0 {
		t.Fatalf("part files left: %v", files)
	}
	_ = object.RootIno
}

// TestLifecycleFreesSpace expires noncurrent versions by count, then a
// deleted file with its marker, and checks that part space really goes.
func TestLifecycleFreesSpace(t *testing.T) {
	m := newTestMount(t)
	os.Mkdir(m.path("logs"), 0o755)
	data := make([]byte, 1<<20)
	for i := 0; i < 4; i++ {
		rand.Read(data)
		if err := os.WriteFile(m.path("logs/app.log"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(m.path("keep.txt"), []byte("outside the rule"), 0o644)
	os.WriteFile(m.path("keep.txt"), []byte("outside the rule, v2"), 0o644)
	logs, _ := m.l.ResolvePath("logs")
	if err := m.l.SetRule(logs.Ino, object.Rule{KeepNoncurrent: 1, ExpireDeleteMarkers: true}); err != nil {
		t.Fatal(err)
	}
	before := storedBytes(t, m)
	rep, err := m.l.ApplyLifecycle(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rep.VersionsExpired != 2 || rep.BytesFreed < 2<<20 {
		t.Fatalf("lifecycle report %+v, want 2 versions and ≥ 2 MiB freed", rep)
	}
	if got := before - storedBytes(t, m); got < 2<<20 {
		t.Fatalf("stored bytes fell by %d", got)
	}
	if n := len(versionEntries(t, m, "logs/app.log")); n != 2 {
		t.Fatalf("app.log has %d versions, want 2", n)
	}
	if n := len(versionEntries(t, m, "keep.txt")); n != 2 {
		t.Fatalf("keep.txt (no rule) has %d versions, want 2", n)
	}
	got, _ := os.ReadFile(m.path("logs/app.log"))
	if !bytes.Equal(got, data) {
		t.Fatal("current version damaged by lifecycle")
	}
	// Delete the file; two days later a days-based rule expires its last
	// noncurrent version and then the lone delete marker with the object.
	os.Remove(m.path("logs/app.log"))
	if err := m.l.SetRule(logs.Ino, object.Rule{NoncurrentDays: 1, ExpireDeleteMarkers: true}); err != nil {
		t.Fatal(err)
	}
	rep, err = m.l.ApplyLifecycle(time.Now().Add(48 * time.Hour))
	if err != nil || rep.ObjectsRemoved != 1 || rep.VersionsExpired != 3 {
		t.Fatalf("second lifecycle run: %+v, %v", rep, err)
	}
	if _, err := os.Stat(m.path(".ssefs/versions/logs/app.log")); err == nil {
		in, _ := m.l.LookupDeleted(logs.Ino, "app.log")
		vs, _ := m.l.Versions(in.Ino)
		t.Fatalf("deleted file still has versions: %+v", vs)
	}
	m.remount()
	if n := len(versionEntries(t, m, "keep.txt")); n != 2 {
		t.Fatalf("after remount keep.txt has %d versions", n)
	}
}

// TestVersionsViewFsync: fsync and close of any entry of the view, a delete
// marker included, are harmless no-ops (fsync of a delete marker used to
// dereference a nil content state: EIO and a panic in the log).
func TestVersionsViewFsync(t *testing.T) {
	m := newTestMount(t)
	if err := os.WriteFile(m.path("f"), []byte("data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(m.path("f")); err != nil {
		t.Fatal(err)
	}
	names := versionEntries(t, m, "f")
	if len(names) != 2 || !strings.HasSuffix(names[1], "_deleted") {
		t.Fatalf("versions of f = %v, want a version and a delete marker", names)
	}
	for _, name := range names {
		f, err := os.Open(m.path(".ssefs/versions/f/" + name))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Errorf("fsync of %s: %v", name, err)
		}
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			t.Errorf("fdatasync of %s: %v", name, err)
		}
		b := make([]byte, 16)
		n, _ := f.Read(b)
		if err := f.Close(); err != nil {
			t.Errorf("close of %s: %v", name, err)
		}
		if want := map[bool]string{false: "data\n", true: ""}[strings.HasSuffix(name, "_deleted")]; string(b[:n]) != want {
			t.Errorf("%s reads %q, want %q", name, b[:n], want)
		}
	}
	// Directories of the view too.
	for _, dir := range []string{".ssefs", ".ssefs/versions", ".ssefs/versions/f"} {
		d, err := os.Open(m.path(dir))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Sync(); err != nil {
			t.Errorf("fsync of %s: %v", dir, err)
		}
		if err := d.Close(); err != nil {
			t.Errorf("close of %s: %v", dir, err)
		}
	}
	if _, err := os.OpenFile(m.path(".ssefs/versions/f/"+names[0]), os.O_RDWR, 0); err != syscall.EROFS && !errors.Is(err, syscall.EROFS) {
		t.Errorf("open for writing: %v, want EROFS", err)
	}
}

// TestVersionsViewReadOnly: every change attempted in the view fails with
// EROFS and changes nothing; `rm` of a version and `rmdir` of a file's
// versions used to report success while nothing was removed.
func TestVersionsViewReadOnly(t *testing.T) {
	m := newTestMount(t)
	os.Mkdir(m.path("d"), 0o755)
	if err := os.WriteFile(m.path("d/f"), []byte("data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	names := versionEntries(t, m, "d/f")
	dir := m.path(".ssefs/versions/d")
	v := m.path(".ssefs/versions/d/f/" + names[0])
	for _, tc := range []struct {
		name string
		op   func() error
	}{
		{"rm version", func() error { return os.Remove(v) }},
		{"rmdir versions", func() error { return syscall.Rmdir(dir + "/f") }},
		{"rmdir dir", func() error { return syscall.Rmdir(dir) }},
		{"chmod version", func() error { return os.Chmod(v, 0o600) }},
		{"chown version", func() error { return os.Chown(v, 1, 1) }},
		{"utimes version", func() error { return os.Chtimes(v, time.Now(), time.Now()) }},
		{"truncate version", func() error { return os.Truncate(v, 0) }},
		{"chmod dir", func() error { return os.Chmod(dir, 0o700) }},
		{"mkdir", func() error { return os.Mkdir(dir+"/new", 0o755) }},
		{"create", func() error { return os.WriteFile(dir+"/f/new", nil, 0o644) }},
		{"mknod", func() error { return syscall.Mknod(dir+"/fifo", syscall.S_IFIFO|0o644, 0) }},
		{"symlink", func() error { return os.Symlink("x", dir+"/s") }},
		{"link into view", func() error { return os.Link(m.path("d/f"), dir+"/l") }},
		{"rename in view", func() error { return os.Rename(v, v+"x") }},
		{"setxattr", func() error { return unix.Setxattr(v, "user.x", []byte("1"), 0) }},
		{"removexattr", func() error { return unix.Removexattr(v, "user.x") }},
	} {
		if err := tc.op(); !errors.Is(err, syscall.EROFS) {
			t.Errorf("%s: %v, want EROFS", tc.name, err)
		}
	}
	if got := versionEntries(t, m, "d/f"); len(got) != len(names) {
		t.Fatalf("versions after the attempts: %v, want %v", got, names)
	}
	if b, err := os.ReadFile(v); err != nil || string(b) != "data\n" {
		t.Fatalf("version after the attempts: %q, %v", b, err)
	}
}
