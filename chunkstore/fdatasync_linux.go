package chunkstore

import (
	"os"

	"golang.org/x/sys/unix"
)

// fdatasync flushes a part's data and size but not its timestamps, which
// ssefs never reads back.
func fdatasync(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if err != unix.EINTR {
			return err
		}
	}
}
