//go:build linux

package chunkstore

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mapSupported reports whether parts under root may be read through
// mappings. Only local disk filesystems qualify: there the page cache
// holding a mapped page changes only through a write(2) by a process that
// may write the part file (the daemon's own user or root), who can read the
// mount anyway. On network and FUSE filesystems a page can be invalidated
// and refetched with other contents while the AEAD reads it twice (once to
// authenticate, once to decrypt), so they keep the private copy of pread.
func mapSupported(root string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil {
		return false
	}
	switch uint32(st.Type) {
	case unix.EXT4_SUPER_MAGIC, unix.XFS_SUPER_MAGIC, unix.BTRFS_SUPER_MAGIC,
		unix.F2FS_SUPER_MAGIC, unix.BCACHEFS_SUPER_MAGIC, unix.TMPFS_MAGIC,
		unix.OVERLAYFS_SUPER_MAGIC, zfsSuperMagic:
		return true
	}
	return false
}

// zfsSuperMagic is ZFS on Linux's f_type (not in x/sys: out of tree).
const zfsSuperMagic = 0x2fc12fc1

// mmapPart maps the first size bytes of f read-only and shared: the pages
// are the page cache's own, so reading them copies nothing.
func mmapPart(f *os.File, size int64) ([]byte, error) {
	if size <= 0 || int64(int(size)) != size {
		return nil, fmt.Errorf("chunkstore: cannot map %d bytes", size)
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("chunkstore: mmap %s: %w", f.Name(), err)
	}
	return b, nil
}

// munmapPart unmaps a mapping made by mmapPart. It cannot fail for a slice
// mmapPart returned, and a caller releasing a mapping could do nothing
// about it anyway.
func munmapPart(b []byte) { _ = unix.Munmap(b) }

// errPopulateUnsupported reports a kernel without MADV_POPULATE_READ.
var errPopulateUnsupported = errors.New("chunkstore: MADV_POPULATE_READ not supported")

// madvisePopulate maps the pages of b (page-aligned) in one syscall,
// reading them from disk if needed. EFAULT means pages past the end of the
// file (truncated under the mapping) or an I/O error.
func madvisePopulate(b []byte) error {
	for {
		err := unix.Madvise(b, unix.MADV_POPULATE_READ)
		switch err {
		case nil:
			return nil
		case unix.EINTR:
			continue
		case unix.EINVAL:
			return errPopulateUnsupported
		}
		return fmt.Errorf("madvise: %w", err)
	}
}

// inPageCache reports whether every page of b (page-aligned) is in the
// page cache, with mincore(2).
func inPageCache(b []byte) (bool, error) {
	var vec [64]byte
	for len(b) > 0 {
		n := min(int64(len(b)), int64(len(vec))*pageSize)
		_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(n), uintptr(unsafe.Pointer(&vec[0])))
		if errno != 0 {
			return false, fmt.Errorf("mincore: %w", errno)
		}
		for _, v := range vec[:(n+pageSize-1)/pageSize] {
			if v&1 == 0 {
				return false, nil
			}
		}
		b = b[n:]
	}
	return true, nil
}
