package fs

import (
	"context"
	"math"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
)

var _ = (gofs.FileLseeker)((*Handle)(nil))

// lseek(2) whences the kernel passes on (it serves the others itself).
const (
	seekData = 3
	seekHole = 4
)

// Lseek answers SEEK_DATA and SEEK_HOLE from the file's runs and write
// buffers (object.File.SeekData), so cp --sparse and the like skip holes
// instead of reading zeros. Past the end, or no data after off, is ENXIO.
func (h *Handle) Lseek(ctx context.Context, off uint64, whence uint32) (uint64, syscall.Errno) {
	if whence != seekData && whence != seekHole {
		return 0, syscall.EINVAL
	}
	if off > math.MaxInt64 {
		return 0, syscall.ENXIO
	}
	pos, ok := h.f.SeekData(int64(off), whence == seekHole)
	if !ok {
		return 0, syscall.ENXIO
	}
	return uint64(pos), 0
}
