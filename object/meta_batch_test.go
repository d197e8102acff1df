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
	"time"

	"github.com/dgraph-io/badger/v4"
)

// crashForTest drops the pending batch as a SIGKILL would and stops the
// layer from writing, so closing the store keeps only what was committed.
func (m *metaDB) crashForTest() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.timer != nil {
		m.timer.Stop()
		m.timer = nil
	}
	if m.txn != nil {
		m.txn.Discard()
		m.txn = nil
		m.cur.Store(nil)
	}
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

// slowBatches keeps batches pending until something commits them.
func slowBatches(l *Layer) { l.db.delay = time.Hour }

func TestBatchCountersFound(t *testing.T) {
	if !txnFieldsOK {
		t.Fatal("Badger's Txn has no count/size fields any more: every mutation is a transaction of its own (see txnWrites)")
	}
	l := newTestLayer(t)
	txn := l.db.raw.NewTransaction(true)
	defer txn.Discard()
	c0, s0 := txnWrites(txn)
	if err := txn.Set([]byte("zz-test"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	c1, s1 := txnWrites(txn)
	if c1 != c0+1 || s1 <= s0 {
		t.Fatalf("counters %d/%d → %d/%d after one Set", c0, s0, c1, s1)
	}
}

func TestBatchGroupsMutationsAndReadsThem(t *testing.T) {
	l := newTestLayer(t)
	slowBatches(l)
	l.FlushMeta()
	before := l.db.commits.Load()
	dir, err := l.Create(RootIno, "d", CreateArgs{Mode: syscall.S_IFDIR | 0o755})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		createFile(t, l, dir.Ino, fmt.Sprint("f", i))
	}
	for i := 0; i < 50; i++ {
		if err := l.Unlink(dir.Ino, fmt.Sprint("f", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Rename(dir.Ino, "f50", RootIno, "moved", 0); err != nil {
		t.Fatal(err)
	}
	if err := l.SetXattr(dir.Ino, "user.k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if n := l.db.commits.Load() - before; n != 0 {
		t.Fatalf("%d commits for lazy mutations", n)
	}
	// Every read sees the pending state.
	if _, err := l.Lookup(dir.Ino, "f10"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unlinked f10: %v", err)
	}
	if _, err := l.Lookup(dir.Ino, "f60"); err != nil {
		t.Fatal(err)
	}
	if n, err := l.Lookup(RootIno, "moved"); err != nil || n.Nlink != 1 {
		t.Fatalf("moved: %+v %v", n, err)
	}
	if v, err := l.GetXattr(dir.Ino, "user.k"); err != nil || string(v) != "v" {
		t.Fatalf("xattr: %q %v", v, err)
	}
	if n, err := l.Inode(dir.Ino); err != nil || n.Nlink != 2 {
		t.Fatalf("dir: %+v %v", n, err)
	}
	if n := l.db.commits.Load() - before; n != 0 {
		t.Fatalf("%d commits for reads", n)
	}
	// A directory created here is listed from the name cache.
	ents, err := l.ReadDir(dir.Ino)
	if err != nil || len(ents) != 49 {
		t.Fatalf("ReadDir: %d entries, %v", len(ents), err)
	}
	if n := l.db.commits.Load() - before; n != 0 {
		t.Fatalf("%d commits after a cached ReadDir", n)
	}
	// One the cache does not know commits what is pending and sees it.
	l.db.mu.Lock()
	l.forgetDir(dir.Ino)
	l.db.mu.Unlock()
	ents, err = l.ReadDir(dir.Ino)
	if err != nil || len(ents) != 49 {
		t.Fatalf("ReadDir: %d entries, %v", len(ents), err)
	}
	if n := l.db.commits.Load() - before; n != 1 {
		t.Fatalf("%d commits after an uncached ReadDir, want 1", n)
	}
}

func TestBatchTimerCommits(t *testing.T) {
	l := newTestLayer(t)
	l.db.delay = 5 * time.Millisecond
	l.FlushMeta()
	before := l.db.commits.Load()
	createFile(t, l, RootIno, "a")
	for i := 0; l.db.commits.Load() == before; i++ {
		if i > 400 {
			t.Fatal("pending batch not committed by the timer")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if l.db.dirty.Load() {
		t.Fatal("still dirty after the timer commit")
	}
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
				if err := it.Item().Value(func(b []byte) (err error) { d, err = UnmarshalDirent(b); return }); err != nil {
					return err
				}
				ents = append(ents, ent{Ino(uint64FromBytes(k[1:9])), string(k[9:]), d})
			case pfxOrphan, pfxDeleted:
				marked[Ino(uint64FromBytes(k[1:9]))] = true
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

func TestBatchCommitFailureIsLatched(t *testing.T) {
	r := newReopenable(t)
	slowBatches(r.l)
	createFile(t, r.l, RootIno, "kept")
	if err := r.l.FlushMeta(); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk on fire")
	r.l.db.commitHook = func() error { return boom }
	createFile(t, r.l, RootIno, "doomed")
	err := r.l.FlushMeta()
	if !errors.Is(err, ErrBatchLost) || !errors.Is(err, boom) {
		t.Fatalf("flush: %v", err)
	}
	r.l.db.commitHook = nil
	// Every later write and sync fails; reads show what the store holds.
	if _, err := r.l.Create(RootIno, "after", CreateArgs{Mode: syscall.S_IFREG | 0o644}); !errors.Is(err, ErrBatchLost) {
		t.Fatalf("create after a lost batch: %v", err)
	}
	if err := r.l.SyncMeta(); !errors.Is(err, ErrBatchLost) {
		t.Fatalf("sync after a lost batch: %v", err)
	}
	if err := r.l.SyncMeta(); !errors.Is(err, ErrBatchLost) {
		t.Fatalf("second sync after a lost batch: %v", err)
	}
	if _, err := r.l.Lookup(RootIno, "doomed"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("doomed: %v", err)
	}
	if _, err := r.l.Lookup(RootIno, "kept"); err != nil {
		t.Fatal(err)
	}
	r.close(t)
	r.open(t)
	if _, err := r.l.Lookup(RootIno, "doomed"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("doomed after reopen: %v", err)
	}
	if _, err := r.l.Create(RootIno, "after", CreateArgs{Mode: syscall.S_IFREG | 0o644}); err != nil {
		t.Fatalf("create after reopen: %v", err)
	}
	checkStore(t, r.l)
}

func TestMutationFailingAfterWrite(t *testing.T) {
	l := newTestLayer(t)
	slowBatches(l)
	l.FlushMeta()
	bad := errors.New("bad")
	// Alone in the batch: dropped like a transaction of its own.
	err := l.mutateBatched(func(txn *badger.Txn) error {
		if err := txn.Set([]byte("zz-a"), []byte("1")); err != nil {
			return err
		}
		return bad
	})
	if !errors.Is(err, bad) || l.MetaErr() != nil {
		t.Fatalf("err %v, latched %v", err, l.MetaErr())
	}
	// Failing before any write leaves earlier pending work alone.
	createFile(t, l, RootIno, "pending")
	if err := l.mutateBatched(func(txn *badger.Txn) error { return bad }); !errors.Is(err, bad) {
		t.Fatal(err)
	}
	if _, err := l.Create(RootIno, "pending", CreateArgs{Mode: syscall.S_IFREG}); !errors.Is(err, ErrExists) {
		t.Fatalf("create of an existing name: %v", err)
	}
	if l.MetaErr() != nil {
		t.Fatalf("latched by a validation error: %v", l.MetaErr())
	}
	if err := l.FlushMeta(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Lookup(RootIno, "pending"); err != nil {
		t.Fatal(err)
	}
	err = l.db.View(func(txn *badger.Txn) error { _, err := txn.Get([]byte("zz-a")); return err })
	if !errors.Is(err, badger.ErrKeyNotFound) {
		t.Fatalf("write of a failed mutation committed: %v", err)
	}
	// Entangled with pending work: the batch is lost and the error latched.
	createFile(t, l, RootIno, "entangled")
	err = l.mutateBatched(func(txn *badger.Txn) error {
		txn.Set([]byte("zz-b"), []byte("1"))
		return bad
	})
	if !errors.Is(err, bad) || !errors.Is(l.MetaErr(), ErrBatchLost) {
		t.Fatalf("err %v, latched %v", err, l.MetaErr())
	}
	if _, err := l.Lookup(RootIno, "entangled"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("entangled: %v", err)
	}
}

// TestNameCacheFollowsPurge: purging the last version of a linked file
// removes its names behind the name cache's back (versions.go); lookups
// must not find them.
func TestNameCacheFollowsPurge(t *testing.T) {
	l := newTestLayer(t)
	d, err := l.Create(RootIno, "d", CreateArgs{Mode: syscall.S_IFDIR | 0o755})
	if err != nil {
		t.Fatal(err)
	}
	n := createFile(t, l, d.Ino, "f")
	commitVersions(t, l, n.Ino, 2)
	if _, err := l.Lookup(d.Ino, "f"); err != nil {
		t.Fatal(err)
	}
	vs, err := l.Versions(n.Ino)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if _, _, err := l.Purge(n.Ino, v.ID, false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Lookup(d.Ino, "f"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("lookup after purging every version: %v", err)
	}
	if err := l.Rmdir(RootIno, "d"); err != nil {
		t.Fatalf("rmdir of the emptied directory: %v", err)
	}
	checkStore(t, l)
}

// TestNameCacheMatchesStore compares every lookup with Badger after random
// operations, in directories created by this layer (complete in the cache)
// and after a reopen (learnt from lookups and listings).
func TestNameCacheMatchesStore(t *testing.T) {
	r := newReopenable(t)
	rng := rand.New(rand.NewSource(11))
	check := func() {
		t.Helper()
		if err := r.l.FlushMeta(); err != nil {
			t.Fatal(err)
		}
		for _, dp := range []string{"", "a", "b", "a/c"} {
			dir, err := lookupPath(r.l, dp)
			if err != nil {
				continue
			}
			for _, name := range []string{"x", "y", "z", "a", "b", "c"} {
				got, gerr := r.l.Lookup(dir.Ino, name)
				var want Dirent
				werr := r.l.db.raw.View(func(txn *badger.Txn) (err error) { want, err = getDirent(txn, dir.Ino, name); return })
				if (gerr == nil) != (werr == nil) || (gerr == nil && got.Ino != want.Ino) {
					t.Fatalf("%s/%s: cache says %v %v, store %v %v", dp, name, got, gerr, want, werr)
				}
			}
			got, err := r.l.ReadDir(dir.Ino)
			if err != nil {
				t.Fatal(err)
			}
			var want []DirEntry
			prefix := inoKey(pfxDirent, dir.Ino)
			r.l.db.raw.View(func(txn *badger.Txn) error {
				it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
				defer it.Close()
				for it.Rewind(); it.Valid(); it.Next() {
					var d Dirent
					it.Item().Value(func(b []byte) (err error) { d, err = UnmarshalDirent(b); return })
					want = append(want, DirEntry{Name: string(it.Item().Key()[len(prefix):]), Ino: d.Ino, Mode: d.Mode})
				}
				return nil
			})
			if !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
				t.Fatalf("listing %s: %v, store %v", dp, got, want)
			}
		}
	}
	for round := 0; round < 3; round++ {
		for step := 0; step < 200; step++ {
			randomOp(t, r.l, rng)
			if step%25 == 0 {
				check()
				if rng.Intn(2) == 0 {
					dumpTree(t, r.l) // listings make directories complete
				}
			}
		}
		check()
		checkStore(t, r.l)
		r.close(t)
		r.open(t)
	}
}

// TestBatchConcurrent mixes mutations, reads, listings, content commits,
// forgets and syncs from several goroutines while the timer commits: no
// deadlock, no race (go test -race), a consistent store.
func TestBatchConcurrent(t *testing.T) {
	r := newReopenable(t)
	l := r.l
	l.db.delay = time.Millisecond
	done := make(chan error, 8)
	for g := 0; g < 4; g++ {
		go func(g int) {
			rng := rand.New(rand.NewSource(int64(g)))
			d, err := l.Create(RootIno, fmt.Sprint("g", g), CreateArgs{Mode: syscall.S_IFDIR | 0o755})
			if err != nil {
				done <- err
				return
			}
			for i := 0; i < 300; i++ {
				name := fmt.Sprint("f", rng.Intn(20))
				switch rng.Intn(6) {
				case 0, 1:
					if n, err := l.Create(d.Ino, name, CreateArgs{Mode: syscall.S_IFREG | 0o644}); err == nil && rng.Intn(2) == 0 {
						f, err := l.OpenFile(n.Ino)
						if err != nil {
							done <- err
							return
						}
						f.WriteAt([]byte(name), 0)
						if err := f.Release(); err != nil {
							done <- err
							return
						}
					}
				case 2:
					if err := l.Unlink(d.Ino, name); err == nil {
						continue
					}
				case 3:
					if n, err := l.Lookup(d.Ino, name); err == nil {
						l.Forget(n.Ino)
					}
				case 4:
					l.Rename(d.Ino, name, d.Ino, fmt.Sprint("f", rng.Intn(20)), 0)
				case 5:
					if _, err := l.ReadDir(d.Ino); err != nil {
						done <- err
						return
					}
				}
			}
			done <- nil
		}(g)
	}
	go func() {
		for i := 0; i < 100; i++ {
			if err := l.SyncMeta(); err != nil {
				done <- err
				return
			}
			l.Stats()
			time.Sleep(time.Millisecond)
		}
		done <- nil
	}()
	for i := 0; i < 5; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if err := l.MetaErr(); err != nil {
		t.Fatal(err)
	}
	checkStore(t, l)
	r.close(t)
	r.open(t)
	checkStore(t, r.l)
}

// TestForgetPurgesOnlyOrphans: forgetting an orphan purges it; forgetting a
// deleted file with versions, or a linked object, keeps it.
func TestForgetPurgesOnlyOrphans(t *testing.T) {
	l := newTestLayer(t)
	d, err := l.Create(RootIno, "d", CreateArgs{Mode: syscall.S_IFDIR | 0o755})
	if err != nil {
		t.Fatal(err)
	}
	empty := createFile(t, l, RootIno, "empty")
	full := createFile(t, l, RootIno, "full")
	commitVersions(t, l, full.Ino, 1)
	kept := createFile(t, l, RootIno, "kept")
	for _, name := range []string{"empty", "full"} {
		if err := l.Unlink(RootIno, name); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Rmdir(RootIno, "d"); err != nil {
		t.Fatal(err)
	}
	for _, ino := range []Ino{d.Ino, empty.Ino, full.Ino, kept.Ino} {
		if err := l.Forget(ino); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.flushForgotten(); err != nil {
		t.Fatal(err)
	}
	for _, ino := range []Ino{d.Ino, empty.Ino} {
		if _, err := l.Inode(ino); !errors.Is(err, ErrNotFound) {
			t.Errorf("orphan %d after forget: %v", ino, err)
		}
	}
	for _, ino := range []Ino{full.Ino, kept.Ino} {
		if _, err := l.Inode(ino); err != nil {
			t.Errorf("%d after forget: %v", ino, err)
		}
	}
	checkStore(t, l)
}
