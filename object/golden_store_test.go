package object

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"

	"github.com/ssefs/ssefs/dare"
	"github.com/ssefs/ssefs/keyring"
	"github.com/ssefs/ssefs/store"
)

// The golden stores are stores of each released format committed under
// testdata (golden-v1: chunk runs; golden-v2: byte runs, whose second
// version of dir/multi.bin is a 14-byte patch; golden-v3: each version
// records its owner, and dir/multi.bin's first version was committed as
// 0600 of uid 1000, its second after a chmod 0644 and a chown to uid 2000,
// gid 100). Every later version of
// ssefs must still open them and read exactly what was written. Only the
// current format's store is ever regenerated, with
// `go test ./object -run TestGoldenStore -update-golden`.
var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden-v<current format>")

var goldenDirs = []string{"testdata/golden-v1", "testdata/golden-v2", "testdata/golden-v3"}

// goldenOwners are the owners golden-v3 records for dir/multi.bin's two
// versions; every other version there records 0644 of root.
var goldenOwners = []VersionOwner{
	{Mode: syscall.S_IFREG | 0o600, UID: 1000, GID: 1000},
	{Mode: syscall.S_IFREG | 0o644, UID: 2000, GID: 100},
}

func currentGoldenDir() string { return fmt.Sprintf("testdata/golden-v%d", store.FormatVersion) }

// goldenContent is the deterministic content of the golden files.
func goldenContent(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

var goldenFiles = []struct {
	name string
	seed int64
	size int
}{
	{"small.txt", 1, 100},         // inline part
	{"dir/multi.bin", 2, 300_000}, // part files, several packages
	{"dir/empty", 3, 0},
}

func writeGolden(t *testing.T) {
	goldenDir := currentGoldenDir()
	os.RemoveAll(goldenDir)
	mk := keyring.MasterKey{}
	copy(mk[:], bytes.Repeat([]byte("golden-key-v1-ssefs-0123456789ab"), 1))
	os.MkdirAll(goldenDir, 0o755)
	if err := os.WriteFile(filepath.Join(goldenDir, "key"), mk[:], 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(goldenDir, "store")
	if err := store.Init(dir, mk, store.InitOptions{Cipher: dare.AES256GCM, KDF: keyring.KeyFileKDF()}); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dir, mk)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Open(st)
	if err != nil {
		t.Fatal(err)
	}
	d, err := l.Create(RootIno, "dir", CreateArgs{Mode: syscall.S_IFDIR | 0o755})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range goldenFiles {
		parent := RootIno
		if filepath.Dir(g.name) == "dir" {
			parent = d.Ino
		}
		n := createFile(t, l, parent, filepath.Base(g.name))
		if g.size > 200_000 {
			o := goldenOwners[0]
			perm := o.Mode & 0o7777
			l.SetAttr(n.Ino, SetAttrArgs{Mode: &perm, UID: &o.UID, GID: &o.GID})
		}
		f, _ := l.OpenFile(n.Ino)
		f.WriteAt(goldenContent(g.seed, g.size), 0)
		if err := f.Commit(); err != nil {
			t.Fatal(err)
		}
		// A second version of the multi-package file: one chunk changed.
		if g.size > 200_000 {
			b := goldenContent(g.seed, g.size)
			copy(b[70_000:], []byte("second version"))
			o := goldenOwners[1]
			perm := o.Mode & 0o7777
			l.SetAttr(n.Ino, SetAttrArgs{Mode: &perm, UID: &o.UID, GID: &o.GID})
			f.WriteAt(b[70_000:70_014], 70_000)
			f.Commit()
		}
		f.Release()
	}
	l.Create(RootIno, "link", CreateArgs{Mode: syscall.S_IFLNK | 0o777, Target: "dir/multi.bin"})
	l.SetXattr(d.Ino, "user.golden", []byte("yes"), 0)
	l.Close()
	st.Close()
	os.Remove(filepath.Join(dir, store.LockFile))
	os.Remove(filepath.Join(dir, store.ReserveFile)) // 16 MiB of nothing, made again at open
}

func TestGoldenStore(t *testing.T) {
	if *updateGolden {
		writeGolden(t)
	}
	for _, dir := range goldenDirs {
		t.Run(filepath.Base(dir), func(t *testing.T) { checkGoldenStore(t, dir) })
	}
}

func checkGoldenStore(t *testing.T, goldenDir string) {
	if _, err := os.Stat(goldenDir); err != nil {
		t.Fatalf("golden store missing (%v); generate it with -update-golden", err)
	}
	// Open a copy: opening writes (lock file, Badger's bookkeeping).
	tmp := t.TempDir()
	if err := os.CopyFS(tmp, os.DirFS(goldenDir)); err != nil {
		t.Fatal(err)
	}
	mk, err := keyring.ReadKeyFile(filepath.Join(tmp, "key"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(tmp, "store"), mk)
	if err != nil {
		t.Fatalf("%s no longer opens: %v", goldenDir, err)
	}
	defer st.Close()
	if cfg, err := store.LoadConfig(st.Dir); err != nil || cfg.Format != store.FormatVersion {
		t.Fatalf("store.json after open: %+v, %v; want format %d", cfg, err, store.FormatVersion)
	}
	l, err := Open(st)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, g := range goldenFiles {
		n, err := l.ResolvePath(g.name)
		if err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		want := goldenContent(g.seed, g.size)
		vs, err := l.Versions(n.Ino)
		if err != nil {
			t.Fatal(err)
		}
		if g.size > 200_000 {
			if len(vs) != 2 {
				t.Fatalf("%s: %d versions, want 2", g.name, len(vs))
			}
			checkVersion(t, l, n.Ino, vs[0].ID, want)
			copy(want[70_000:], "second version")
		}
		checkVersion(t, l, n.Ino, vs[len(vs)-1].ID, want)
		// Stores of formats 1 and 2 recorded no owner; format 3 records
		// the one each version was committed under.
		for i, vi := range vs {
			var want *VersionOwner
			if goldenDir == "testdata/golden-v3" {
				want = &VersionOwner{Mode: syscall.S_IFREG | 0o644}
				if g.size > 200_000 {
					want = &goldenOwners[i]
				}
			}
			checkOwner(t, l, n.Ino, vi, want)
		}
		if g.size == 0 {
			continue
		}
		// A new version written by this code over the stored ones.
		f, err := l.OpenFile(n.Ino)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteAt([]byte("next"), int64(g.size/2))
		if err := f.Commit(); err != nil {
			t.Fatal(err)
		}
		f.Release()
		next := append([]byte(nil), want...)
		copy(next[g.size/2:], "next")
		after, _ := l.Versions(n.Ino)
		if len(after) != len(vs)+1 {
			t.Fatalf("%s: %d versions after a commit, want %d", g.name, len(after), len(vs)+1)
		}
		checkVersion(t, l, n.Ino, after[len(after)-1].ID, next)
		checkVersion(t, l, n.Ino, vs[len(vs)-1].ID, want)
		// What this code commits records the file's owner and mode.
		cur, _ := l.Inode(n.Ino)
		checkOwner(t, l, n.Ino, after[len(after)-1], &VersionOwner{Mode: cur.Mode, UID: cur.UID, GID: cur.GID})
	}
	link, err := l.ResolvePath("link")
	if err != nil || link.Target != "dir/multi.bin" {
		t.Fatalf("symlink: %+v, %v", link, err)
	}
	d, _ := l.ResolvePath("dir")
	if v, err := l.GetXattr(d.Ino, "user.golden"); err != nil || string(v) != "yes" {
		t.Fatalf("xattr: %q, %v", v, err)
	}
}

// checkOwner checks the owner a version records (nil: none), both as
// listed and as authenticated by OpenVersion.
func checkOwner(t *testing.T, l *Layer, ino Ino, vi VersionInfo, want *VersionOwner) {
	t.Helper()
	f, err := l.OpenVersion(ino, vi.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.VersionOwner(), want) || !reflect.DeepEqual(vi.Owner, want) {
		t.Fatalf("object %d version %d: owner %+v (listed %+v), want %+v", ino, vi.ID, f.VersionOwner(), vi.Owner, want)
	}
}

func checkVersion(t *testing.T, l *Layer, ino Ino, id uint64, want []byte) {
	t.Helper()
	f, err := l.OpenVersion(ino, id)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want)+10)
	n, _ := f.ReadAt(got, 0)
	if !bytes.Equal(got[:n], want) {
		t.Fatalf("object %d version %d: %d bytes differ from the golden content", ino, id, n)
	}
}
