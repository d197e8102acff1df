package object

import (
	"errors"
	"fmt"
	"math/rand"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// slowBatches keeps batches pending until something commits them.
func slowBatches(l *Layer) { l.db.delay = time.Hour }

// TestTxnCountsItsWrites: the batch limits come from metaTxn's own count
// of its writes, estimated as Badger estimates them.
func TestTxnCountsItsWrites(t *testing.T) {
	l := newTestLayer(t)
	big := make([]byte, l.db.valueThreshold)
	tests := []struct {
		name       string
		write      func(txn *metaTxn) error
		writes     int64
		size       int64
		batchWrite bool
	}{
		{"put inline", func(txn *metaTxn) error { return txn.putBytes([]byte("zz-k"), []byte("v")) }, 1, 4 + 1 + txnEntryOverhead, true},
		{"put in value log", func(txn *metaTxn) error { return txn.putBytes([]byte("zz-k"), big) }, 1, 4 + txnValuePointer + txnEntryOverhead, true},
		{"delete", func(txn *metaTxn) error { return txn.delete([]byte("zz-k")) }, 1, 4 + txnEntryOverhead, true},
		{"two", func(txn *metaTxn) error {
			if err := txn.putBytes([]byte("zz-a"), []byte("1")); err != nil {
				return err
			}
			return txn.delete([]byte("zz-b"))
		}, 2, 2*(4+txnEntryOverhead) + 1, true},
		{"read only", func(txn *metaTxn) error { _, err := txn.has([]byte("zz-k")); return err }, 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			slowBatches(l)
			if err := l.FlushMeta(); err != nil {
				t.Fatal(err)
			}
			var got *metaTxn
			err := l.mutate(commitLater, func(txn *metaTxn) error { got = txn; return tc.write(txn) })
			if err != nil {
				t.Fatal(err)
			}
			if got.writes != tc.writes || got.size != tc.size {
				t.Fatalf("counted %d writes of %d bytes, want %d of %d", got.writes, got.size, tc.writes, tc.size)
			}
			if l.db.writes != tc.writes || l.db.size != tc.size || l.db.dirty.Load() != tc.batchWrite {
				t.Fatalf("batch holds %d writes of %d bytes (dirty %v)", l.db.writes, l.db.size, l.db.dirty.Load())
			}
		})
	}
}

// TestReadAfterWriteRefused: once a mutation has written, it cannot read a
// key it had not read or written before, so a check that can fail cannot
// come after a write.
func TestReadAfterWriteRefused(t *testing.T) {
	reads := []struct {
		name string
		read func(txn *metaTxn, key []byte) error
	}{
		{"getItem", func(txn *metaTxn, key []byte) error {
			_, err := txn.getItem(key)
			if errors.Is(err, badger.ErrKeyNotFound) {
				return nil
			}
			return err
		}},
		{"get", func(txn *metaTxn, key []byte) error { _, err := txn.get(key, &orphanRecord{}); return err }},
		{"has", func(txn *metaTxn, key []byte) error { _, err := txn.has(key); return err }},
		{"iterate", func(txn *metaTxn, key []byte) error {
			it, err := txn.iterate(badger.IteratorOptions{Prefix: key})
			if err == nil {
				it.Close()
			}
			return err
		}},
	}
	for _, tc := range reads {
		t.Run(tc.name, func(t *testing.T) {
			l := newTestLayer(t)
			slowBatches(l)
			l.FlushMeta()
			// Before the first write, the read runs; after it, re-reads of
			// keys read or written before run too (not iterations).
			err := l.mutate(commitLater, func(txn *metaTxn) error {
				if err := tc.read(txn, []byte("zz-r")); err != nil {
					return err
				}
				if err := txn.putBytes([]byte("zz-w"), nil); err != nil {
					return err
				}
				if tc.name == "iterate" {
					return nil
				}
				if err := tc.read(txn, []byte("zz-r")); err != nil {
					return err
				}
				return tc.read(txn, []byte("zz-w"))
			})
			if err != nil {
				t.Fatalf("read before write or re-read: %v", err)
			}
			// A read of another key after the first write is refused, and
			// the mutation fails.
			err = l.mutate(commitLater, func(txn *metaTxn) error {
				if err := txn.putBytes([]byte("zz-b"), []byte("1")); err != nil {
					return err
				}
				return tc.read(txn, []byte("zz-other"))
			})
			if !errors.Is(err, ErrReadAfterWrite) {
				t.Fatalf("read after write: %v, want ErrReadAfterWrite", err)
			}
		})
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
	err := l.mutate(commitLater, func(txn *metaTxn) error {
		if err := txn.putBytes([]byte("zz-a"), []byte("1")); err != nil {
			return err
		}
		return bad
	})
	if !errors.Is(err, bad) || l.MetaErr() != nil {
		t.Fatalf("err %v, latched %v", err, l.MetaErr())
	}
	// Failing before any write leaves earlier pending work alone.
	createFile(t, l, RootIno, "pending")
	if err := l.mutate(commitLater, func(txn *metaTxn) error { return bad }); !errors.Is(err, bad) {
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
	err = l.db.View(func(txn *metaTxn) error { _, err := txn.getItem([]byte("zz-a")); return err })
	if !errors.Is(err, badger.ErrKeyNotFound) {
		t.Fatalf("write of a failed mutation committed: %v", err)
	}
	// Entangled with pending work: the batch is lost and the error latched.
	createFile(t, l, RootIno, "entangled")
	err = l.mutate(commitLater, func(txn *metaTxn) error {
		txn.putBytes([]byte("zz-b"), []byte("1"))
		return bad
	})
	if !errors.Is(err, bad) || !errors.Is(l.MetaErr(), ErrBatchLost) {
		t.Fatalf("err %v, latched %v", err, l.MetaErr())
	}
	if _, err := l.Lookup(RootIno, "entangled"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("entangled: %v", err)
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
