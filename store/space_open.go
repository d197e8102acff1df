package store

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
)

// prepareOpen makes room for Badger before it opens: the reserve is
// released if the filesystem is nearly full, and the open is refused with
// a clear error if even that leaves less than MetaFloor (Badger would die
// writing its new log, not fail).
func (s *Space) prepareOpen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// An empty log left by a crash (the prepared next one) makes Badger
	// refuse to open.
	if _, err := removeEmptyLogs(filepath.Join(s.dir, MetaDir)); err != nil {
		return err
	}
	free, err := s.free()
	if err != nil {
		return err
	}
	if free < MetaFloor && s.held > 0 {
		s.releaseLocked(free)
		if free, err = s.free(); err != nil {
			return err
		}
	}
	if free < MetaFloor {
		return fmt.Errorf("%w: %s has %d bytes free and no metadata reserve left; the metadata database needs %d to open "+
			"(free some space on that filesystem and try again)", ErrDiskFull, s.dir, free, int64(MetaFloor))
	}
	return nil
}

// ErrDiskFull is returned by Open when the filesystem holding the store is
// too full for the metadata database to open safely.
var ErrDiskFull = errors.New("store: the disk holding the store is full")

// afterOpen learns the levels of the opened database and takes the
// reserve (back) if there is room, so a store made before the reserve
// existed gets one too.
func (s *Space) afterOpen(db *badger.DB) {
	s.mu.Lock()
	s.levels = db.Levels
	s.mu.Unlock()
	s.openWAL(filepath.Join(s.dir, MetaDir))
	s.Headroom()
}

// beforeClose settles the reserve for the flush that closing the database
// does, and forgets the database.
func (s *Space) beforeClose() {
	if s == nil {
		return
	}
	s.Headroom()
	s.mu.Lock()
	s.levels = nil
	s.mu.Unlock()
}
