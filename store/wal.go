package store

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Badger's write-ahead logs (STORE/meta/NNNNN.mem) are made with a sparse
// truncate to 2 × memtable size and written through mmap; a write into an
// unallocated page of a full filesystem is a SIGBUS, which kills the
// daemon. The reserve only helps until something outside the store eats
// the space it gave back. So every log Badger writes has its blocks
// allocated before Badger writes into it:
//   - the active log is allocated (fallocate mode 0: holes only, content
//     unchanged) right after Badger opens;
//   - the log Badger will create next (it numbers them in sequence) is
//     made ahead of time with its blocks allocated past its end (size 0,
//     FALLOC_FL_KEEP_SIZE): Badger takes an existing empty file for a new
//     one, and its extending truncate keeps those blocks;
//   - when that next log cannot be allocated (the disk is full), or the
//     disk is too full for the flush of a full memtable and the active log
//     may be filling, operations that write metadata get ENOSPC before
//     Badger sees them (CheckLog, CheckMeta).
// Badger opens every *.mem file at start and fails on an empty one, so the
// prepared log is removed before Badger opens and after it closes.

const (
	memExt = ".mem"
	// walAlloc is how much of a log (mapped at 2 × memtable size) is
	// allocated: Badger rotates the log before a transaction once it holds
	// a memtable, and a transaction is at most 15 % of a memtable by
	// Badger's estimate (key + value + 2 per entry, at most that size over
	// its node size in entries), whose log entries add at most ~34 bytes
	// each (header, version, checksum): under 1.8 MiB past a memtable here.
	walAlloc = metaMemTableSize + metaMemTableSize/4
	// walFillLimit is how much may be committed to the active log while
	// the disk lacks room for a memtable flush. Badger rotates the log (and
	// flushes the memtable into a table, which is written through mmap
	// too) once it holds a memtable; counting commits (Badger's own size
	// estimate) against a quarter of it leaves room for the per-entry
	// overhead and for work accepted before the refusal.
	walFillLimit = metaMemTableSize / 4
)

// walState is the part of Space that tracks Badger's logs (guarded by
// Space.mu).
type walState struct {
	metaDir string
	active  int   // fid of the log Badger writes, 0 while Badger is not open
	next    int   // fid of the log prepared for Badger's next rotation
	ready   bool  // next is allocated
	allocd  bool  // active is allocated
	used    int64 // bytes committed to the active log since it was seen
	failed  bool  // logged that preparing failed, until it succeeds
}

func memFid(name string) (int, bool) {
	base, ok := strings.CutSuffix(name, memExt)
	if !ok || base == "" || len(base) > 9 || strings.Trim(base, "0123456789") != "" {
		return 0, false // not a name Badger gives a log
	}
	fid, err := strconv.Atoi(base)
	return fid, err == nil && fid > 0
}

func memPath(dir string, fid int) string {
	return filepath.Join(dir, fmt.Sprintf("%05d%s", fid, memExt))
}

// removeEmptyLogs removes the empty logs in dir (ones this code prepared
// and a crash left behind: Badger refuses to open with one) and returns
// the highest fid of the others.
func removeEmptyLogs(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: reading %s: %w", dir, err)
	}
	top := 0
	for _, e := range entries {
		fid, ok := memFid(e.Name())
		if !ok {
			continue
		}
		p := filepath.Join(dir, e.Name())
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return 0, fmt.Errorf("store: %s: %w", p, err)
		}
		if st.Mode&unix.S_IFMT == unix.S_IFREG && st.Size == 0 {
			if err := os.Remove(p); err != nil {
				return 0, fmt.Errorf("store: removing the unused log %s: %w", p, err)
			}
			continue
		}
		top = max(top, fid)
	}
	return top, nil
}

// openWAL is called right after Badger opened: it allocates the active
// log and prepares the next one. A failure only leaves the log not ready
// (metadata writes get ENOSPC until it is).
func (s *Space) openWAL(metaDir string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	top, err := removeEmptyLogs(metaDir)
	if err != nil {
		log.Printf("ssefs: %v", err)
	}
	s.wal = walState{metaDir: metaDir, active: top, next: top + 1, allocd: top == 0}
	s.refreshWALLocked()
}

// closeWAL removes the prepared log after Badger closed.
func (s *Space) closeWAL() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wal.metaDir == "" {
		return
	}
	if _, err := removeEmptyLogs(s.wal.metaDir); err != nil {
		log.Printf("ssefs: %v", err)
	}
	s.wal = walState{}
}

// allocateLog allocates the first walAlloc bytes of the log at path: the
// log Badger writes, or (ahead) a new empty file Badger will take for its
// next log, with the blocks past its end.
func allocateLog(path string, ahead bool) error {
	flags := os.O_RDWR | unix.O_NOFOLLOW
	if ahead {
		flags |= os.O_CREATE
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	if !ahead {
		return unix.Fallocate(int(f.Fd()), 0, 0, min(fi.Size(), walAlloc))
	}
	if fi.Size() != 0 {
		return nil // Badger made it meanwhile; refreshWALLocked sees that
	}
	if err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_KEEP_SIZE, 0, walAlloc); err != nil {
		f.Truncate(0) // gives back what a partial allocation took
		return err
	}
	return nil
}

// refreshWALLocked notices that Badger rotated into the prepared log and
// prepares the next one if it is not ready.
func (s *Space) refreshWALLocked() {
	w := &s.wal
	if w.metaDir == "" {
		return
	}
	var st unix.Stat_t
	// Badger rotates at most once per commit, and every commit comes here
	// first; the bound only keeps a planted file from looping.
	for i := 0; i < 4 && unix.Lstat(memPath(w.metaDir, w.next), &st) == nil && st.Size > 0; i++ {
		// Badger made it its active log: its blocks are there only if
		// they were allocated ahead.
		w.active, w.next, w.allocd, w.ready, w.used = w.next, w.next+1, w.ready, false, 0
	}
	if w.allocd && w.ready {
		return
	}
	err := error(nil)
	if !w.allocd {
		if err = allocateLog(memPath(w.metaDir, w.active), false); err == nil {
			w.allocd = true
		}
	}
	if err == nil {
		err = allocateLog(memPath(w.metaDir, w.next), true)
	}
	if err != nil {
		if !w.failed {
			log.Printf("ssefs: allocating the metadata log: %v; metadata updates get ENOSPC until space is freed", err)
			w.failed = true
		}
		return
	}
	if w.failed {
		log.Printf("ssefs: the metadata logs of %s have their blocks again", s.dir)
	}
	w.ready, w.failed = true, false
}

// logRoomLocked returns a *NoSpaceError when a metadata write might make
// Badger write where no block is allocated for it: the next log is not
// allocated, or less than a memtable flush is free and the active log has
// taken walFillLimit. free is the space free for ssefs.
func (s *Space) logRoomLocked(free int64, stage string) error {
	w := &s.wal
	if w.metaDir == "" {
		return nil
	}
	s.refreshWALLocked()
	need := MetaFloor + s.compaction
	switch {
	case !w.ready || !w.allocd:
		return &NoSpaceError{Dir: s.dir, Free: free, Need: walAlloc, Stage: stage + " (no room for the metadata log)"}
	case free < need && w.used >= walFillLimit:
		return &NoSpaceError{Dir: s.dir, Free: free, Need: need, Stage: stage}
	}
	return nil
}

// CheckLog returns a *NoSpaceError if a metadata update (setattr, rename)
// could make Badger write into unallocated blocks of a full disk (see
// logRoomLocked). Unlike CheckMeta, it lets updates through on a full disk
// as long as Badger's logs have their blocks.
func (s *Space) CheckLog() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	free, err := s.settleLocked()
	if err != nil {
		return err
	}
	return s.logRoomLocked(free-s.owedLocked(), "metadata update")
}

// Committed counts n bytes (Badger's estimate of a transaction) as written
// to the active log; every metadata commit reports its size.
func (s *Space) Committed(n int64) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.wal.used += n
	s.mu.Unlock()
}
