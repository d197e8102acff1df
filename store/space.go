package store

import (
	"errors"
	"fmt"
	"log"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/dgraph-io/badger/v4"
	"golang.org/x/sys/unix"
)

// Space sizes, all derived from the Badger options of openDB.
//
// Badger maps its write-ahead logs (2 × memtable size each), value logs
// and tables with mmap after a truncate, so their blocks are allocated
// only when a page is first written. On a full filesystem that write is a
// SIGBUS, which no Go code can recover from: the daemon dies. The sizes
// below keep Badger from ever meeting a full filesystem.
const (
	// MetaHeadroom is the free space data writes never eat: the active
	// write-ahead log can still grow by one memtable, and flushing it
	// writes a level-0 table of about the same size before the log is
	// deleted.
	MetaHeadroom = 2 * metaMemTableSize
	// MetaFloor is the free space under which operations that grow the
	// metadata (creating names, extended attributes) get ENOSPC. It covers
	// one memtable flush, which Badger may start at any time.
	MetaFloor = metaMemTableSize
	// releaseBelow is the free space under which every metadata commit
	// first gives the reserve file back: under MetaFloor, so that the few
	// bytes the last accepted operations add do not release it, yet enough
	// for the commits that free space (unlink, purge, gc) to go on.
	releaseBelow = MetaFloor / 2
	// ReserveSize is the size of ReserveFile: enough for Badger to open
	// (a new write-ahead log) and flush a full memtable at close, once the
	// filesystem was filled by someone else.
	ReserveSize = 2 * metaMemTableSize
	// valueLogGCRoom is what a value-log GC may write before it deletes
	// the file it rewrites: one value-log file.
	valueLogGCRoom = metaValueLogFileSize
)

// ErrNoSpace is returned (wrapped in a *NoSpaceError) when an operation
// would eat into the space kept for the metadata database.
var ErrNoSpace = errors.New("store: no space left on the filesystem holding the store (the rest is kept for its metadata)")

// NoSpaceError says how much room there was and how much was wanted.
type NoSpaceError struct {
	Dir   string // the store directory
	Free  int64  // bytes free for ssefs, the released reserve counted as used
	Need  int64  // bytes that would have to be free
	Stage string // what was refused
}

func (e *NoSpaceError) Error() string {
	return fmt.Sprintf("store: %s refused: the filesystem holding %s has %d bytes free for it, %d needed",
		e.Stage, e.Dir, max(e.Free, 0), e.Need)
}

// Is makes errors.Is(err, ErrNoSpace) true, and errors.Is(err,
// syscall.ENOSPC) too: whoever handles a full disk (the write-back
// pipeline keeps ENOSPC apart from its other failures) must treat the space
// kept for the metadata as gone.
func (e *NoSpaceError) Is(target error) bool {
	return target == ErrNoSpace || target == syscall.ENOSPC
}

// Space guards the free space of the filesystem holding a store, so that
// a full disk answers ENOSPC to writers instead of killing the daemon.
// Data writes may not eat into MetaHeadroom, part files and metadata
// growth may not go under MetaFloor; and ReserveFile, held while there is
// room, is given back to Badger whenever the free space falls under
// MetaFloor/2 anyway (something outside the store filled the disk), and
// taken again once space was freed. The reserve file's content means
// nothing; only its blocks matter. A nil *Space guards nothing.
type Space struct {
	dir  string
	path string

	mu sync.Mutex // guards everything below
	// compaction, refreshed from levels (the open database's) at every
	// Headroom, is what Badger's largest compaction may write before it
	// deletes its inputs; it is added to the headroom and the floor.
	levels     func() []badger.LevelInfo
	compaction int64
	// Bytes CheckData and CheckPart may still accept without a statfs.
	dataBudget, partBudget int64
	// metaBudget is how many more CheckMeta calls pass without a statfs
	// (CheckMeta): set only while the disk is roomy, dropped by every
	// commit's Headroom that finds it less so.
	metaBudget    int64
	held          int64 // bytes of the reserve file allocated
	released      bool  // logged that the reserve was given up, until restored
	restoreFailed bool  // logged that taking it back failed, until it succeeds
	wal           walState
}

// newSpace opens the space guard of the store at dir, learning how much
// of the reserve file exists. A reserve file that is not a regular file
// (the store directory is untrusted) is an error.
func newSpace(dir string) (*Space, error) {
	s := &Space{dir: dir, path: filepath.Join(dir, ReserveFile)}
	var st unix.Stat_t
	switch err := unix.Lstat(s.path, &st); {
	case errors.Is(err, unix.ENOENT):
	case err != nil:
		return nil, fmt.Errorf("store: %s: %w", s.path, err)
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return nil, fmt.Errorf("store: %s is not a regular file", s.path)
	default:
		s.held = min(st.Blocks*512, st.Size)
	}
	return s, nil
}

// free returns the bytes an unprivileged writer may still use on the
// filesystem holding the store.
func (s *Space) free() (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(s.dir, &st); err != nil {
		return 0, fmt.Errorf("store: statfs %s: %w", s.dir, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// owedLocked is how much of the reserve is given up and must come back
// before data may use the space.
func (s *Space) owedLocked() int64 { return max(ReserveSize-s.held, 0) }

// CheckData returns a *NoSpaceError if writing n bytes of data would leave
// less than MetaHeadroom free, the released part of the reserve counted as
// used.
func (s *Space) CheckData(n int64) error {
	if s == nil {
		return nil
	}
	return s.checkBytes(n, MetaHeadroom, "write", &s.dataBudget)
}

// CheckPart returns a *NoSpaceError if storing a part of n bytes would
// leave less than MetaFloor (and the compaction room) free. Data accepted
// by CheckData is buffered before it is stored, so a fast writer can get
// ahead of statfs; this check, on the bytes really written, is what keeps
// the data of the store off the space Badger needs.
func (s *Space) CheckPart(n int64) error {
	if s == nil {
		return nil
	}
	return s.checkBytes(n, MetaFloor, "storing a part", &s.partBudget)
}

// maxBudget bounds the bytes accepted between two statfs calls, so that a
// disk filled from outside is noticed soon.
const maxBudget = 64 << 20

// checkBytes refuses n bytes that would leave less than keep (and the
// compaction room) free. Up to half the room left over at the last statfs,
// kept in *budget, is accepted without another: the store's own writes
// alone can then never take the free space under keep.
func (s *Space) checkBytes(n, keep int64, stage string, budget *int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= *budget {
		*budget -= n
		return nil
	}
	*budget = 0
	free, err := s.settleLocked()
	if err != nil {
		return err
	}
	avail, need := free-s.owedLocked(), n+keep+s.compaction
	if avail < need {
		return &NoSpaceError{Dir: s.dir, Free: avail, Need: need, Stage: stage}
	}
	*budget = min((avail-need)/2, maxBudget)
	return nil
}

// CheckMeta returns a *NoSpaceError if less than MetaFloor is free, the
// released part of the reserve counted as used: operations that add
// metadata (a name, an extended attribute) call it. Operations that free
// space (unlink, purge, gc) never do.
func (s *Space) CheckMeta() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.metaBudget > 0 {
		s.metaBudget--
		return nil
	}
	free, err := s.settleLocked()
	if err != nil {
		return err
	}
	need := MetaFloor + s.compaction
	if free-s.owedLocked() < need {
		return &NoSpaceError{Dir: s.dir, Free: free - s.owedLocked(), Need: need, Stage: "metadata update"}
	}
	if err := s.logRoomLocked(free-s.owedLocked(), "metadata update"); err != nil {
		return err
	}
	s.metaBudget = metaBudgetFor(free - s.owedLocked() - need)
	return nil
}

// metaOpBytes bounds what one name or extended attribute adds to the
// metadata (an xattr value is at most 64 KiB), for metaBudget.
const metaOpBytes = 64 << 10

// metaBudgetFor is how many metadata additions may pass without another
// statfs when room bytes are free beyond what the metadata needs: none on
// a disk with less than maxBudget to spare (every one is checked there,
// with Badger's log), else half the spare room's worth, at most maxBudget's.
func metaBudgetFor(room int64) int64 {
	if room < maxBudget {
		return 0
	}
	return min(room/2, maxBudget) / metaOpBytes
}

// Headroom settles the reserve before a metadata write: every metadata
// commit and Close call it. It never fails them (a statfs or allocation
// error only loses the guard, and is logged).
func (s *Space) Headroom() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.levels != nil {
		if room := compactionRoom(s.levels()); room != s.compaction {
			s.compaction = room
			s.dataBudget, s.partBudget = 0, 0 // computed for another room
		}
	}
	free, err := s.settleLocked()
	if err != nil {
		log.Printf("ssefs: %v", err)
	}
	if err != nil || metaBudgetFor(free-s.owedLocked()-MetaFloor-s.compaction) == 0 {
		s.metaBudget = 0 // a disk filled from outside: check every addition again
	}
	s.refreshWALLocked() // the next log, for a rotation this commit may cause
}

// compactionRoom estimates what the largest compaction Badger may start
// writes before it deletes its inputs: level 0 merged into the base level
// (all of both), or one table of a level merged with the tables of the
// next level it overlaps (taken as at most ten, the level size ratio).
func compactionRoom(levels []badger.LevelInfo) int64 {
	var room, l0 int64
	for i, li := range levels {
		switch {
		case li.Level == 0:
			l0 = li.Size
		case li.IsBaseLevel:
			room = max(room, l0+li.Size)
		}
		if li.Level > 0 && li.Size > 0 && i+1 < len(levels) {
			next := levels[i+1]
			room = max(room, min(li.Size, li.TargetFileSize)+min(next.Size, 10*next.TargetFileSize))
		}
	}
	return room
}

// settleLocked gives the reserve file back to the filesystem if less than
// MetaFloor/2 is free, so the metadata write about to happen finds room,
// and takes it again as soon as MetaFloor stays free beside it (data may
// write again only once MetaHeadroom does). It returns the free space.
func (s *Space) settleLocked() (int64, error) {
	free, err := s.free()
	if err != nil {
		return 0, err
	}
	switch owed := s.owedLocked(); {
	case free < releaseBelow && s.held > 0:
		s.releaseLocked(free)
	case owed > 0 && free-owed >= MetaFloor:
		if err := s.restoreLocked(); err != nil && !s.restoreFailed {
			log.Printf("ssefs: taking the metadata reserve back: %v", err)
			s.restoreFailed = true // once, not at every commit
		}
	default:
		return free, nil
	}
	return s.free()
}

// ValueLogGCRoom reports whether a value-log GC, which rewrites live values
// before it deletes the old file, can run without eating the headroom.
func (s *Space) ValueLogGCRoom() bool {
	if s == nil {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	free, err := s.free()
	return err == nil && free-s.owedLocked()-valueLogGCRoom >= MetaHeadroom+s.compaction
}
