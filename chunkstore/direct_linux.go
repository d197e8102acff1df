package chunkstore

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// directMin is the smallest part written with O_DIRECT. Big parts come
// from sequential writes and are rarely read back soon; writing them
// around the page cache costs one DMA instead of a copy into page-cache
// pages (which on fresh VM memory is slower than the disk) and leaves
// fdatasync little to do. Small parts (patches) stay buffered: they are
// read back soon and are too small to gain.
const directMin = 1 << 20

// directAlign is the alignment O_DIRECT needs of offset, length and memory
// on every Linux block device.
const directAlign = 4096

// writeDirect writes sealed to the new file f opened at path: the aligned
// prefix with O_DIRECT, the tail buffered. ok=false means O_DIRECT is not
// usable here (filesystem, alignment) and nothing was written.
func writeDirect(f *os.File, sealed []byte) (ok bool, err error) {
	prefix := len(sealed) &^ (directAlign - 1)
	if len(sealed) < directMin || uintptr(unsafe.Pointer(&sealed[0]))%directAlign != 0 {
		return false, nil
	}
	fd := int(f.Fd())
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return false, nil
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl|syscall.O_DIRECT); err != nil {
		return false, nil // tmpfs and others refuse O_DIRECT
	}
	n, err := f.Write(sealed[:prefix])
	if _, ferr := unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl); ferr != nil && err == nil {
		err = ferr
	}
	if err != nil {
		if n == 0 {
			return false, nil // e.g. EINVAL: retry buffered from the start
		}
		return true, fmt.Errorf("direct write: %w", err)
	}
	_, err = f.Write(sealed[prefix:])
	return true, err
}
