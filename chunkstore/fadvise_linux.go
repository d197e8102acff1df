package chunkstore

import (
	"os"

	"golang.org/x/sys/unix"
)

// fadviseWillNeed starts the kernel's read of all of f into the page cache.
func fadviseWillNeed(f *os.File) {
	unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_WILLNEED)
}
