package store

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"

	"golang.org/x/sys/unix"

	"github.com/ssefs/ssefs/internal/storefile"
)

// ReserveFile is the preallocated file that keeps room for the metadata
// database on the filesystem holding the store (see Space).
const ReserveFile = "meta.reserve"

// releaseLocked truncates the reserve file to nothing.
func (s *Space) releaseLocked(free int64) {
	f, err := s.openReserve()
	if err == nil {
		err = f.Truncate(0)
		f.Close()
	}
	if err != nil {
		log.Printf("ssefs: releasing the metadata reserve: %v", err)
		return
	}
	if !s.released {
		log.Printf("ssefs: the filesystem holding %s is full (%d bytes free): released the %d-byte metadata reserve; "+
			"writes get ENOSPC until space is freed (rm, ssefs versions purge, ssefs gc)", s.dir, free, s.held)
	}
	s.held, s.released = 0, true
}

// restoreLocked allocates the reserve file to ReserveSize again.
func (s *Space) restoreLocked() error {
	f, err := s.openReserve()
	if err != nil {
		return err
	}
	defer f.Close()
	if err := allocate(f, ReserveSize); err != nil {
		f.Truncate(0) // a half-allocated reserve would only hide free space
		s.held = 0
		return fmt.Errorf("store: allocating %s: %w", s.path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("store: syncing %s: %w", s.path, err)
	}
	if s.released {
		log.Printf("ssefs: the metadata reserve of %s is back (%d bytes)", s.dir, int64(ReserveSize))
	}
	s.held, s.released, s.restoreFailed = ReserveSize, false, false
	return nil
}

// openReserve opens (creating) the reserve file; a symlink, FIFO or other
// special file an attacker may have put in its place fails (storefile.Open).
func (s *Space) openReserve() (*os.File, error) {
	f, err := storefile.Open(s.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: opening %s: %w", s.path, err)
	}
	return f, nil
}

// allocate makes f size bytes long with every block allocated: fallocate
// where the filesystem has it, zeros written otherwise.
func allocate(f *os.File, size int64) error {
	err := unix.Fallocate(int(f.Fd()), 0, 0, size)
	if err == nil || !errors.Is(err, unix.EOPNOTSUPP) {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	zeros := make([]byte, 1<<20)
	for left := size; left > 0; left -= int64(len(zeros)) {
		if _, err := f.Write(zeros[:min(left, int64(len(zeros)))]); err != nil {
			return err
		}
	}
	return nil
}
