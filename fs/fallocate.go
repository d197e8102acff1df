package fs

import (
	"context"
	"math"
	"syscall"
)

// fallocate(2) modes (linux/falloc.h).
const (
	fallocKeepSize  = 0x01
	fallocPunchHole = 0x02
	fallocZeroRange = 0x10
)

// allocate serves fallocate(2). Mode 0 and KEEP_SIZE reserve nothing (parts
// are written at commit), but a size extension is real: the new range
// reads as zeros and stores nothing, like a hole. PUNCH_HOLE|KEEP_SIZE and
// ZERO_RANGE (with or without KEEP_SIZE) zero the range and store nothing
// for it: whole parts it covered are freed once no version uses them.
// COLLAPSE_RANGE, INSERT_RANGE and the rest are EOPNOTSUPP.
func (h *Handle) allocate(ctx context.Context, off, size uint64, mode uint32) syscall.Errno {
	if off > math.MaxInt64 || size > math.MaxInt64-off {
		return syscall.EFBIG
	}
	switch mode {
	case 0:
		if end := int64(off + size); end > h.f.Size() {
			return toErrno(ctx, "fallocate", h.f.Truncate(end))
		}
		return 0
	case fallocKeepSize:
		return 0
	case fallocPunchHole | fallocKeepSize, fallocZeroRange, fallocZeroRange | fallocKeepSize:
		if size == 0 {
			return syscall.EINVAL
		}
		if err := h.killPriv(ctx); err != nil { // a content change, as a write
			return toErrno(ctx, "fallocate", err)
		}
		return toErrno(ctx, "fallocate", h.f.Zero(int64(off), int64(size), mode&fallocKeepSize == 0))
	}
	return syscall.EOPNOTSUPP
}
