package object

import (
	"errors"
	"math/rand"
	"reflect"
	"syscall"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

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
				werr := r.l.db.raw.View(func(txn *badger.Txn) (err error) {
					want, err = getDirent(r.l.db.wrap(txn), dir.Ino, name)
					return
				})
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
					it.Item().Value(d.UnmarshalBinary)
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
