package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"golang.org/x/sys/unix"
)

// logFile returns the size and allocated bytes of log fid of the store.
func logFile(t *testing.T, dir string, fid int) (size, blocks int64, ok bool) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(memPath(filepath.Join(dir, MetaDir), fid), &st); err != nil {
		return 0, 0, false
	}
	return st.Size, st.Blocks * 512, true
}

// commitLikeTheLayer commits one transaction of n bytes the way the object
// layer's batch does: Headroom first, then the commit, then its size.
func commitLikeTheLayer(t *testing.T, s *Store, key string, n int) {
	t.Helper()
	s.Space.Headroom()
	if err := s.DB.Update(func(txn *badger.Txn) error { return txn.Set([]byte(key), make([]byte, n)) }); err != nil {
		t.Fatal(err)
	}
	s.Space.Committed(int64(len(key) + n + 2))
}

// TestLogsAllocatedAhead: the log Badger writes has its blocks, the one it
// will take at its next rotation exists empty with its blocks allocated,
// Badger rotates into that one (so a log page never lands in a hole of a
// full disk), and no empty log is left after Close (Badger would refuse
// to open).
func TestLogsAllocatedAhead(t *testing.T) {
	_, dir, mk := newSmallStore(t, 96<<20)
	s, err := Open(dir, mk)
	if err != nil {
		t.Fatal(err)
	}
	active := s.Space.wal.active
	if _, blocks, ok := logFile(t, dir, active); !ok || blocks < walAlloc {
		t.Fatalf("active log %d: %d bytes allocated (exists %v), want %d", active, blocks, ok, int64(walAlloc))
	}
	if size, blocks, ok := logFile(t, dir, active+1); !ok || size != 0 || blocks < walAlloc {
		t.Fatalf("next log: size %d, %d bytes allocated (exists %v), want empty with %d", size, blocks, ok, int64(walAlloc))
	}
	// Values under Badger's value threshold go to the log: 400-byte values
	// fill a memtable in ~20000 commits; commit in batches of 100.
	for i := 0; i < 300 && s.Space.wal.active == active; i++ {
		s.Space.Headroom()
		if err := s.DB.Update(func(txn *badger.Txn) error {
			for j := 0; j < 100; j++ {
				if err := txn.Set([]byte(fmt.Sprintf("k%05d-%03d", i, j)), make([]byte, 400)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	s.Space.Headroom()
	if s.Space.wal.active != active+1 {
		t.Fatalf("no rotation seen after writing more than a memtable (active log %d, was %d)", s.Space.wal.active, active)
	}
	if size, blocks, _ := logFile(t, dir, active+1); size != walSize() || blocks < walAlloc {
		t.Fatalf("the log Badger rotated into: size %d, %d bytes allocated; want Badger's size with the %d allocated ahead", size, blocks, int64(walAlloc))
	}
	if !s.Space.wal.allocd || !s.Space.wal.ready {
		t.Fatal("after the rotation the logs are not ready")
	}
	if size, blocks, ok := logFile(t, dir, active+2); !ok || size != 0 || blocks < walAlloc {
		t.Fatalf("next log after the rotation: size %d, %d bytes allocated (exists %v)", size, blocks, ok)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := logFile(t, dir, active+2); ok {
		t.Fatal("the prepared log is left after Close")
	}
	s, err = Open(dir, mk)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	if err := s.DB.View(func(txn *badger.Txn) error { _, err := txn.Get([]byte("k00000-000")); return err }); err != nil {
		t.Fatalf("reading after reopen: %v", err)
	}
	s.Close()
}

func walSize() int64 { return 2 * metaMemTableSize }

// TestEmptyLogLeftByCrash: a crash leaves the prepared empty log behind,
// which Badger refuses to open; Open removes it and opens.
func TestEmptyLogLeftByCrash(t *testing.T) {
	_, dir, mk := newSmallStore(t, 64<<20)
	s, err := Open(dir, mk)
	if err != nil {
		t.Fatal(err)
	}
	next := s.Space.wal.next
	// Simulate the crash: Close, and put the empty prepared log back.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(memPath(filepath.Join(dir, MetaDir), next+3), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, mk)
	if err != nil {
		t.Fatalf("Open with an empty log left by a crash: %v", err)
	}
	s.Close()
}

// TestLogRoomOnFullDisk: on a disk filled from outside, setattr and rename
// (CheckLog) go on while the next log is prepared and the active one has
// taken little, and get ErrNoSpace once it has taken walFillLimit (a
// rotation would flush a memtable into a table the disk has no room for)
// or when the next log cannot be prepared; freeing space lifts both.
func TestLogRoomOnFullDisk(t *testing.T) {
	fsDir, dir, mk := newSmallStore(t, 64<<20)
	s, err := Open(dir, mk)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	filler := filepath.Join(fsDir, "filler")
	fillFS(t, filler)
	s.Space.Headroom() // releases the reserve
	fillFS(t, filler+"2")
	if err := s.Space.CheckLog(); err != nil {
		t.Fatalf("CheckLog with the next log prepared: %v", err)
	}
	if err := s.Space.CheckMeta(); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("CheckMeta on a full disk = %v, want ErrNoSpace", err)
	}
	commitLikeTheLayer(t, s, "k", 1000)
	s.Space.Committed(walFillLimit)
	if err := s.Space.CheckLog(); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("CheckLog with the active log filling on a full disk = %v, want ErrNoSpace", err)
	}
	// The prepared log gone (say, Badger took it) and its space eaten from
	// outside: it cannot be remade.
	s.Space.mu.Lock()
	os.Remove(memPath(s.Space.wal.metaDir, s.Space.wal.next))
	s.Space.wal.ready, s.Space.wal.used = false, 0
	s.Space.mu.Unlock()
	fillFS(t, filler+"3")
	if err := s.Space.CheckLog(); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("CheckLog without room for the next log = %v, want ErrNoSpace", err)
	}
	os.Remove(filler)
	os.Remove(filler + "2")
	os.Remove(filler + "3")
	if err := s.Space.CheckLog(); err != nil {
		t.Fatalf("CheckLog once space is freed: %v", err)
	}
	if err := s.Space.CheckMeta(); err != nil {
		t.Fatalf("CheckMeta once space is freed: %v", err)
	}
}
