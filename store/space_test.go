package store

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"golang.org/x/sys/unix"

	"github.com/ssefs/ssefs/dare"
	"github.com/ssefs/ssefs/keyring"
)

// smallFS mounts a tmpfs of size bytes for the test: a real filesystem
// that really fills up, where Badger's mapped files really fault.
func smallFS(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mounting a tmpfs: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("unmounting the tmpfs: %v\n%s", err, out)
		}
	})
	return dir
}

// fillFS writes a file next to the store until the filesystem is full.
func fillFS(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, unix.ENOSPC) {
				t.Fatalf("filling: %v", err)
			}
			break
		}
	}
	if free := freeBytes(t, filepath.Dir(path)); free != 0 {
		t.Fatalf("%d bytes still free after filling", free)
	}
}

func freeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// activeLogBlocks returns the bytes allocated to the newest metadata log.
func activeLogBlocks(t *testing.T, dir string) int64 {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, MetaDir))
	if err != nil {
		t.Fatal(err)
	}
	var last string
	for _, e := range entries {
		if fid, ok := memFid(e.Name()); ok && e.Name() > last {
			if fi, err := e.Info(); err == nil && fi.Size() > 0 && fid > 0 {
				last = e.Name()
			}
		}
	}
	if last == "" {
		t.Fatal("no metadata log")
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(dir, MetaDir, last), &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

func reserveSize(t *testing.T, dir string) int64 {
	t.Helper()
	fi, err := os.Lstat(filepath.Join(dir, ReserveFile))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func newSmallStore(t *testing.T, fsSize int64) (fsDir, dir string, mk keyring.MasterKey) {
	t.Helper()
	fsDir = smallFS(t, fsSize)
	dir = filepath.Join(fsDir, "store")
	rand.Read(mk[:])
	if err := Init(dir, mk, InitOptions{Cipher: dare.AES256GCM, KDF: keyring.KeyFileKDF()}); err != nil {
		t.Fatal(err)
	}
	return fsDir, dir, mk
}

// TestReserveOnFullDisk: a store gets its reserve at init; a disk filled
// from outside still opens (the reserve goes to Badger), refuses data and
// new names with ErrNoSpace, and takes the reserve back once space is
// freed, after which data is accepted again.
func TestReserveOnFullDisk(t *testing.T) {
	fsDir, dir, mk := newSmallStore(t, 64<<20)
	if got := reserveSize(t, dir); got != ReserveSize {
		t.Fatalf("reserve after init = %d bytes, want %d", got, ReserveSize)
	}
	filler := filepath.Join(fsDir, "filler")
	fillFS(t, filler)
	s, err := Open(dir, mk)
	if err != nil {
		t.Fatalf("opening a store on a full disk: %v", err)
	}
	defer func() {
		if s != nil {
			s.Close()
		}
	}()
	if got := reserveSize(t, dir); got != 0 {
		t.Fatalf("reserve after opening on a full disk = %d bytes, want it released", got)
	}
	// The released reserve went to Badger's log first: every block of it
	// Badger may write is allocated (a write into a hole of a full disk
	// is a SIGBUS); what is left is free for its flushes.
	if got := activeLogBlocks(t, dir); got < walAlloc {
		t.Fatalf("the active metadata log has %d bytes allocated after open on a full disk, want %d", got, int64(walAlloc))
	}
	if free := freeBytes(t, dir); free < ReserveSize-walAlloc-1<<20 {
		t.Fatalf("%d bytes free for the metadata after open, want about %d", free, int64(ReserveSize-walAlloc))
	}
	for name, check := range map[string]func() error{
		"data": func() error { return s.Space.CheckData(1) },
		"meta": s.Space.CheckMeta,
	} {
		if err := check(); !errors.Is(err, ErrNoSpace) {
			t.Errorf("%s check on a full disk = %v, want ErrNoSpace", name, err)
		}
	}
	// Metadata still commits on the released reserve.
	if err := s.DB.Update(func(txn *badger.Txn) error { return txn.Set([]byte("k"), make([]byte, 4096)) }); err != nil {
		t.Fatalf("metadata write on a full disk: %v", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	s.Space.Headroom()
	if got := reserveSize(t, dir); got != ReserveSize {
		t.Fatalf("reserve after freeing space = %d bytes, want %d", got, ReserveSize)
	}
	if err := s.Space.CheckData(1 << 20); err != nil {
		t.Fatalf("data check after freeing space: %v", err)
	}
	if err := s.Space.CheckData(freeBytes(t, dir)); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("a write of all free space = %v, want ErrNoSpace (it would eat the headroom)", err)
	}
	err = s.Close()
	s = nil
	if err != nil {
		t.Fatal(err)
	}
}

// TestOpenFullDiskWithoutReserve: with no reserve left and no room, Open
// refuses clearly (ErrDiskFull, naming the store) and writes nothing, where
// Badger would have died creating its log; once space is freed it opens.
func TestOpenFullDiskWithoutReserve(t *testing.T) {
	// 64 MiB: the reserve and two allocated logs (36 MiB) fit beside the store.
	fsDir, dir, mk := newSmallStore(t, 64<<20)
	if err := os.Remove(filepath.Join(dir, ReserveFile)); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(fsDir, "filler")
	fillFS(t, filler)
	metaBefore, _ := os.ReadDir(filepath.Join(dir, MetaDir))
	_, err := Open(dir, mk)
	if !errors.Is(err, ErrDiskFull) {
		t.Fatalf("Open on a full disk without reserve = %v, want ErrDiskFull", err)
	}
	if msg := err.Error(); !strings.Contains(msg, dir) || !strings.Contains(msg, "free some space") {
		t.Fatalf("error does not name the store and the remedy: %s", msg)
	}
	if metaAfter, _ := os.ReadDir(filepath.Join(dir, MetaDir)); len(metaAfter) != len(metaBefore) {
		t.Fatalf("a refused open changed meta/: %d entries before, %d after", len(metaBefore), len(metaAfter))
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, mk)
	if err != nil {
		t.Fatalf("Open after freeing space: %v", err)
	}
	if got := reserveSize(t, dir); got != ReserveSize {
		t.Errorf("reserve after opening with room = %d, want %d", got, ReserveSize)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReserveNotFollowed: the store directory is untrusted; a symlink in
// place of the reserve file is refused, never truncated or allocated through.
func TestReserveNotFollowed(t *testing.T) {
	var mk keyring.MasterKey
	rand.Read(mk[:])
	base := t.TempDir()
	dir := filepath.Join(base, "s")
	if err := Init(dir, mk, InitOptions{Cipher: dare.AES256GCM, KDF: keyring.KeyFileKDF()}); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(base, "victim")
	if err := os.WriteFile(victim, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	reserve := filepath.Join(dir, ReserveFile)
	if err := os.Remove(reserve); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, reserve); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(dir, mk); err == nil {
		s.Close()
		t.Fatal("Open accepted a symlink as the reserve file")
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep me" {
		t.Fatalf("the symlink's target was changed: %q", b)
	}
}

// TestCompactionRoom: the room kept for Badger grows with what its largest
// compaction can write before deleting its inputs.
func TestCompactionRoom(t *testing.T) {
	const mb = 1 << 20
	lv := func(level int, size, fileSize int64, base bool) badger.LevelInfo {
		return badger.LevelInfo{Level: level, Size: size, TargetFileSize: fileSize, IsBaseLevel: base}
	}
	for _, c := range []struct {
		name   string
		levels []badger.LevelInfo
		want   int64
	}{
		{"empty", []badger.LevelInfo{lv(0, 0, 0, false), lv(1, 0, 2*mb, false), lv(6, 0, 2*mb, true)}, 0},
		{"level 0 into the base level", []badger.LevelInfo{lv(0, 20*mb, 0, false), lv(5, 0, 2*mb, false), lv(6, 30*mb, 2*mb, true)}, 50 * mb},
		{"one table into the next level", []badger.LevelInfo{
			lv(0, 0, 0, false), lv(4, 50*mb, 4*mb, true), lv(5, 500*mb, 8*mb, false), lv(6, 5000*mb, 16*mb, false)}, 8*mb + 160*mb},
		{"next level smaller than ten tables", []badger.LevelInfo{
			lv(0, 1*mb, 0, false), lv(5, 3*mb, 4*mb, true), lv(6, 20*mb, 8*mb, false)}, 3*mb + 20*mb},
	} {
		if got := compactionRoom(c.levels); got != c.want {
			t.Errorf("%s: compactionRoom = %d MiB, want %d MiB", c.name, got/mb, c.want/mb)
		}
	}
}

// TestPartsKeepOffTheFloor: a part file that would leave less than
// MetaFloor free is refused with ErrNoSpace and leaves no file, whatever
// the FUSE-level check let into the write buffers; a smaller one fits.
func TestPartsKeepOffTheFloor(t *testing.T) {
	fsDir, dir, mk := newSmallStore(t, 64<<20)
	s, err := Open(dir, mk)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	filler, err := os.Create(filepath.Join(fsDir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := filler.Write(make([]byte, freeBytes(t, dir)-MetaFloor-2<<20)); err != nil {
		t.Fatal(err)
	}
	filler.Close()
	if err := s.Parts.Write(1, make([]byte, 4<<20)); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("a 4 MiB part with %d bytes free = %v, want ErrNoSpace", freeBytes(t, dir), err)
	}
	if _, err := s.Parts.Size(1); err == nil {
		t.Fatal("the refused part was stored")
	}
	if err := s.Parts.Write(2, make([]byte, 1<<20)); err != nil {
		t.Fatalf("a 1 MiB part with %d bytes free: %v", freeBytes(t, dir), err)
	}
	if got := reserveSize(t, dir); got != ReserveSize {
		t.Fatalf("the reserve shrank to %d bytes with MetaFloor still free", got)
	}
}

// TestBudgetNoticesOutsideFill: checks between two statfs calls accept at
// most maxBudget bytes, so a disk filled from outside turns writes into
// ErrNoSpace within that much.
func TestBudgetNoticesOutsideFill(t *testing.T) {
	fsDir, dir, mk := newSmallStore(t, 256<<20)
	s, err := Open(dir, mk)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Space.CheckData(1 << 20); err != nil {
		t.Fatal(err)
	}
	fillFS(t, filepath.Join(fsDir, "filler"))
	accepted := int64(0)
	for ; accepted <= maxBudget; accepted += 1 << 20 {
		if err := s.Space.CheckData(1 << 20); errors.Is(err, ErrNoSpace) {
			return
		} else if err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("%d bytes accepted after the disk was filled", accepted)
}

// TestMetaBudgetEndsAtCommit: on a roomy disk names and xattrs pass
// without a statfs each (a budget), but the first metadata commit after
// the disk was filled from outside (Headroom) ends that budget, so the
// next addition is checked and refused.
func TestMetaBudgetEndsAtCommit(t *testing.T) {
	fsDir, dir, mk := newSmallStore(t, 256<<20)
	s, err := Open(dir, mk)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Space.CheckMeta(); err != nil {
		t.Fatal(err)
	}
	if s.Space.metaBudget == 0 {
		t.Fatal("no budget on a disk with room: every name still costs a statfs")
	}
	fillFS(t, filepath.Join(fsDir, "filler"))
	s.Space.Headroom() // a metadata commit
	if err := s.Space.CheckMeta(); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("CheckMeta after the disk was filled and a commit = %v, want ErrNoSpace", err)
	}
}

// TestSpaceConcurrent: the checks and the commit-time settling run from
// many goroutines at once (FUSE writes, the sealer, metadata commits);
// run with -race.
func TestSpaceConcurrent(t *testing.T) {
	_, dir, mk := newSmallStore(t, 128<<20)
	s, err := Open(dir, mk)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				var err error
				switch (g + i) % 4 {
				case 0:
					err = s.Space.CheckData(64 << 10)
				case 1:
					err = s.Space.CheckPart(1 << 20)
				case 2:
					err = s.Space.CheckMeta()
				default:
					s.Space.Headroom()
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("check with room to spare: %v", err)
	}
}
