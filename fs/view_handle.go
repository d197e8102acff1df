package fs

import (
	"context"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ssefs/ssefs/object"
)

// versionHandle is an open version in the versions view: read-only, its
// own type so that no write-path method (commit, sync, release of a shared
// content state) can ever run on it. A delete marker has no content: f is
// nil and it reads as empty.
type versionHandle struct {
	f *object.File // a private read-only state (OpenVersion); nil for a delete marker
}

var (
	_ = (gofs.FileReader)((*versionHandle)(nil))
	_ = (gofs.FileFlusher)((*versionHandle)(nil))
	_ = (gofs.FileFsyncer)((*versionHandle)(nil))
	_ = (gofs.FileReleaser)((*versionHandle)(nil))
)

// Read decrypts the requested range of the version; a failed
// authentication is EIO.
func (h *versionHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if h.f == nil {
		return fuse.ReadResultData(nil), 0
	}
	return readAt(ctx, "read version", h.f, dest, off)
}

// Flush has nothing to commit: versions never change.
func (h *versionHandle) Flush(ctx context.Context) syscall.Errno { return 0 }

// Fsync has nothing to make durable: a version is durable once listed.
func (h *versionHandle) Fsync(ctx context.Context, flags uint32) syscall.Errno { return 0 }

// Release has nothing to drop: OpenVersion's state is not shared.
func (h *versionHandle) Release(ctx context.Context) syscall.Errno { return 0 }

// Directories of the view hold nothing to make durable: fsync(2) of one
// succeeds, as on any read-only directory.

var (
	_ = (gofs.NodeFsyncer)((*viewRoot)(nil))
	_ = (gofs.NodeFsyncer)((*viewDir)(nil))
	_ = (gofs.NodeFsyncer)((*versionsDir)(nil))
)

// Fsync of /.ssefs does nothing.
func (v *viewRoot) Fsync(ctx context.Context, f gofs.FileHandle, flags uint32) syscall.Errno {
	return 0
}

// Fsync of a mirrored directory does nothing.
func (v *viewDir) Fsync(ctx context.Context, f gofs.FileHandle, flags uint32) syscall.Errno { return 0 }

// Fsync of a file's directory of versions does nothing.
func (v *versionsDir) Fsync(ctx context.Context, f gofs.FileHandle, flags uint32) syscall.Errno {
	return 0
}
