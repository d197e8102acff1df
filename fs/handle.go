package fs

import (
	"context"
	"errors"
	"io"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ssefs/ssefs/object"
)

// Handle is an open file descriptor; every handle of a file shares the
// file's content state, so writes through one are visible through all.
type Handle struct {
	f *object.File
	n *Node // the node opened (the versions view has its own versionHandle)
}

var (
	_ = (gofs.FileReader)((*Handle)(nil))
	_ = (gofs.FileWriter)((*Handle)(nil))
	_ = (gofs.FileFlusher)((*Handle)(nil))
	_ = (gofs.FileFsyncer)((*Handle)(nil))
	_ = (gofs.FileReleaser)((*Handle)(nil))
	_ = (gofs.FileAllocater)((*Handle)(nil))
)

// Read decrypts the requested range; a failed authentication is EIO.
func (h *Handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	return readAt(ctx, "read", h.f, dest, off)
}

// readAt serves a READ from f (a live file or a version of the view).
func readAt(ctx context.Context, op string, f *object.File, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n, err := f.ReadAt(dest, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, toErrno(ctx, op, err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

// Write buffers data; it becomes a version at flush or fsync.
func (h *Handle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	if err := h.killPriv(ctx); err != nil {
		return 0, toErrno(ctx, "write", err)
	}
	if err := h.f.RoomFor(len(data)); err != nil {
		return 0, toErrno(ctx, "write", err)
	}
	n, err := h.f.WriteAt(data, off)
	if err != nil {
		return uint32(n), toErrno(ctx, "write", err)
	}
	return uint32(n), 0
}

// Flush runs on every close(2) of a descriptor: it commits a new version
// if the content changed (an open's O_TRUNC alone waits for its writes or
// the release: object.File.Flush).
func (h *Handle) Flush(ctx context.Context) syscall.Errno {
	return toErrno(ctx, "flush", h.f.Flush())
}

// Fsync commits and makes the commit durable.
func (h *Handle) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	return toErrno(ctx, "fsync", h.f.Sync())
}

// Release drops the handle's reference to the content state.
func (h *Handle) Release(ctx context.Context) syscall.Errno {
	return toErrno(ctx, "release", h.f.Release())
}

// Allocate serves fallocate(2) (fallocate.go).
func (h *Handle) Allocate(ctx context.Context, off uint64, size uint64, mode uint32) syscall.Errno {
	return h.allocate(ctx, off, size, mode)
}
