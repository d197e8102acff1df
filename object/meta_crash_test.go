package object

import (
	"errors"
	"fmt"
	"math/rand"
	"path"
	"reflect"
	"sort"
	"syscall"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// crashForTest drops the pending batch as a SIGKILL would and stops the
// layer from writing, so closing the store keeps only what was committed.
func (m *metaDB) crashForTest() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopTimerLocked()
	m.dropTxnLocked()
	m.dropROLocked()
	m.dirty.Store(false)
	m.closed = true
	m.latched = errors.New("crashed")
}

// crash simulates a SIGKILL of the mount: pending writes are lost, the
// store is closed without Layer.Close.
func (r *reopenable) crash() {
	r.l.forgetMu.Lock()
	r.l.forgetClosed = true
	if r.l.forgetTimer != nil {
		r.l.forgetTimer.Stop()
	}
	r.l.forgetMu.Unlock()
	r.l.db.crashForTest()
	r.st.Close()
	r.l = nil
}

// TestBatchCrashKeepsPrefix runs random namespace operations, commits at
// random points, "crashes" and reopens: the store must be exactly the tree
// of the last commit point, consistent.
func TestBatchCrashKeepsPrefix(t *testing.T) {
	for seed := int64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := newReopenable(t)
			slowBatches(r.l)
			rng := rand.New(rand.NewSource(seed))
			snap := dumpTree(t, r.l)
			for step := 0; step < 150; step++ {
				commits := r.l.db.commits.Load()
				randomOp(t, r.l, rng)
				if r.l.db.commits.Load() != commits {
					// The operation committed the batch (a size limit,
					// Rmdir of a directory the cache does not know): a
					// commit point the test does not choose. Make it one.
					if err := r.l.FlushMeta(); err != nil {
						t.Fatal(err)
					}
					snap = dumpTree(t, r.l)
				}
				if rng.Intn(12) == 0 {
					switch rng.Intn(3) {
					case 0:
						if err := r.l.FlushMeta(); err != nil {
							t.Fatal(err)
						}
					case 1:
						if err := r.l.SyncMeta(); err != nil {
							t.Fatal(err)
						}
					case 2: // a content commit commits the batch with it
						n, err := r.l.Create(RootIno, fmt.Sprint("content", step), CreateArgs{Mode: syscall.S_IFREG | 0o644})
						if err != nil {
							t.Fatal(err)
						}
						f, err := r.l.OpenFile(n.Ino)
						if err != nil {
							t.Fatal(err)
						}
						f.WriteAt([]byte("data"), 0)
						if err := f.Commit(); err != nil {
							t.Fatal(err)
						}
						f.Release()
					}
					snap = dumpTree(t, r.l) // nothing pending: no side effect
				}
			}
			if err := r.l.MetaErr(); err != nil {
				t.Fatalf("a failed operation lost the batch: %v", err)
			}
			r.crash()
			r.open(t)
			got := dumpTree(t, r.l)
			if !reflect.DeepEqual(got, snap) {
				t.Fatalf("after crash:\n%v\nwant the last commit point:\n%v", got, snap)
			}
			checkStore(t, r.l)
		})
	}
}

// randomOp applies one namespace operation on a small set of names;
// failures (exists, not empty, …) are part of the game.
func randomOp(t *testing.T, l *Layer, rng *rand.Rand) {
	t.Helper()
	dirs := []string{"", "a", "b", "a/c"}
	pick := func() (Ino, string, bool) {
		d := dirs[rng.Intn(len(dirs))]
		p := Ino(RootIno)
		if d != "" {
			n, err := lookupPath(l, d)
			if err != nil {
				return 0, "", false
			}
			p = n.Ino
		}
		names := []string{"x", "y", "z", "a", "b", "c"}
		return p, names[rng.Intn(len(names))], true
	}
	p, name, ok := pick()
	if !ok {
		return
	}
	var err error
	switch op := rng.Intn(10); op {
	case 0, 1:
		_, err = l.Create(p, name, CreateArgs{Mode: syscall.S_IFREG | 0o644})
	case 2:
		_, err = l.Create(p, name, CreateArgs{Mode: syscall.S_IFDIR | 0o755})
	case 3:
		_, err = l.Create(p, name, CreateArgs{Mode: syscall.S_IFLNK | 0o777, Target: "t" + name})
	case 4:
		err = l.Unlink(p, name)
	case 5:
		err = l.Rmdir(p, name)
	case 6:
		p2, name2, ok := pick()
		if ok {
			err = l.Rename(p, name, p2, name2, uint32(rng.Intn(3)))
		}
	case 7:
		var n *Inode
		if n, err = l.Lookup(p, name); err == nil {
			p2, name2, ok := pick()
			if ok {
				_, err = l.Link(n.Ino, p2, name2)
			}
		}
	case 8:
		var n *Inode
		if n, err = l.Lookup(p, name); err == nil {
			err = l.SetXattr(n.Ino, "user.n", []byte(fmt.Sprint(rng.Intn(100))), 0)
		}
	case 9:
		var n *Inode
		if n, err = l.Lookup(p, name); err == nil {
			mode := uint32(rng.Intn(0o777))
			_, err = l.SetAttr(n.Ino, SetAttrArgs{Mode: &mode})
		}
	}
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrExists) && !errors.Is(err, ErrNotEmpty) &&
		!errors.Is(err, ErrNotDir) && !errors.Is(err, ErrIsDir) && !errors.Is(err, ErrInvalid) {
		t.Fatalf("unexpected error: %v", err)
	}
}

func lookupPath(l *Layer, p string) (*Inode, error) {
	n, err := l.Inode(RootIno)
	for _, c := range splitPath(p) {
		if err != nil {
			return nil, err
		}
		n, err = l.Lookup(n.Ino, c)
	}
	return n, err
}

func splitPath(p string) []string {
	var out []string
	for p != "" && p != "." {
		d, f := path.Split(p)
		out = append([]string{f}, out...)
		p = path.Clean(d)
		if p == "/" || p == "." {
			break
		}
	}
	return out
}

// dumpTree lists the whole tree with what each entry's inode says.
func dumpTree(t *testing.T, l *Layer) []string {
	t.Helper()
	var out []string
	var walk func(dir Ino, prefix string)
	walk = func(dir Ino, prefix string) {
		ents, err := l.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			n, err := l.Inode(e.Ino)
			if err != nil {
				t.Fatalf("%s%s: %v", prefix, e.Name, err)
			}
			x, _ := l.ListXattr(e.Ino)
			out = append(out, fmt.Sprintf("%s%s ino=%d mode=%o nlink=%d size=%d target=%q xattrs=%v",
				prefix, e.Name, e.Ino, n.Mode, n.Nlink, n.Size, n.Target, x))
			if isDir(n.Mode) {
				walk(e.Ino, prefix+e.Name+"/")
			}
		}
	}
	walk(RootIno, "/")
	sort.Strings(out)
	return out
}

// checkStore checks the namespace invariants straight from Badger: every
// entry names an existing inode in an existing directory, link counts
// match, and an object without a name is an orphan or deleted.
func checkStore(t *testing.T, l *Layer) {
	t.Helper()
	if err := l.FlushMeta(); err != nil {
		t.Fatal(err)
	}
	inodes := map[Ino]*Inode{}
	links := map[Ino]int{}
	subdirs := map[Ino]int{}
	type ent struct {
		parent Ino
		name   string
		d      Dirent
	}
	var ents []ent
	marked := map[Ino]bool{}
	err := l.db.raw.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			switch k[0] {
			case pfxInode:
				var n Inode
				if err := it.Item().Value(n.UnmarshalBinary); err != nil {
					return err
				}
				inodes[n.Ino] = &n
			case pfxDirent:
				var d Dirent
				if err := it.Item().Value(d.UnmarshalBinary); err != nil {
					return err
				}
				ents = append(ents, ent{keyIno(k), keyName(k), d})
			case pfxOrphan, pfxDeleted:
				marked[keyIno(k)] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		p, ok := inodes[e.parent]
		if !ok || !isDir(p.Mode) {
			t.Errorf("entry %d/%s: parent missing or not a directory", e.parent, e.name)
		}
		n, ok := inodes[e.d.Ino]
		if !ok {
			t.Errorf("entry %d/%s → %d: no inode", e.parent, e.name, e.d.Ino)
			continue
		}
		if n.Mode&syscall.S_IFMT != e.d.Mode {
			t.Errorf("entry %d/%s: type %o, inode %o", e.parent, e.name, e.d.Mode, n.Mode&syscall.S_IFMT)
		}
		links[e.d.Ino]++
		if isDir(n.Mode) {
			subdirs[e.parent]++
		}
	}
	for ino, n := range inodes {
		want := links[ino]
		if isDir(n.Mode) {
			if ino == RootIno {
				want++
			}
			if want > 1 {
				t.Errorf("directory %d has %d names", ino, want)
			}
			if want > 0 {
				want = 2 + subdirs[ino]
			}
		}
		if int(n.Nlink) != want {
			t.Errorf("inode %d (mode %o): nlink %d, names say %d", ino, n.Mode, n.Nlink, want)
		}
		if links[ino] == 0 && ino != RootIno && !marked[ino] {
			t.Errorf("inode %d has no name and is neither an orphan nor deleted", ino)
		}
	}
}

func TestFsyncedMetadataSurvivesCrash(t *testing.T) {
	r := newReopenable(t)
	slowBatches(r.l)
	createFile(t, r.l, RootIno, "synced")
	if _, err := r.l.Create(RootIno, "dir", CreateArgs{Mode: syscall.S_IFDIR | 0o755}); err != nil {
		t.Fatal(err)
	}
	if err := r.l.SyncMeta(); err != nil {
		t.Fatal(err)
	}
	createFile(t, r.l, RootIno, "pending")
	// File.Sync (fsync) makes the name of the file durable too.
	n := createFile(t, r.l, RootIno, "fsynced")
	f, err := r.l.OpenFile(n.Ino)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("hello"), 0)
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Release()
	createFile(t, r.l, RootIno, "lost")
	r.crash()
	r.open(t)
	for _, name := range []string{"synced", "dir", "pending", "fsynced"} {
		if _, err := r.l.Lookup(RootIno, name); err != nil {
			t.Errorf("%s after crash: %v", name, err)
		}
	}
	if _, err := r.l.Lookup(RootIno, "lost"); !errors.Is(err, ErrNotFound) {
		t.Errorf("lost: %v (a file created after the last commit)", err)
	}
	checkStore(t, r.l)
}
