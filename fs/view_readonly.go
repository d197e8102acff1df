package fs

import (
	"context"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// readOnlyView answers every operation that would change the versions view
// with EROFS. Without it go-fuse answers an unlink or rmdir that a node does
// not implement with success (and drops the kernel's entry), so `rm` of a
// version "worked" while nothing was removed; the rest were EOPNOTSUPP.
// Versions are removed with `ssefs versions purge`.
type readOnlyView struct{}

var (
	_ = (gofs.NodeSetattrer)((*readOnlyView)(nil))
	_ = (gofs.NodeMkdirer)((*readOnlyView)(nil))
	_ = (gofs.NodeMknoder)((*readOnlyView)(nil))
	_ = (gofs.NodeLinker)((*readOnlyView)(nil))
	_ = (gofs.NodeSymlinker)((*readOnlyView)(nil))
	_ = (gofs.NodeCreater)((*readOnlyView)(nil))
	_ = (gofs.NodeUnlinker)((*readOnlyView)(nil))
	_ = (gofs.NodeRmdirer)((*readOnlyView)(nil))
	_ = (gofs.NodeRenamer)((*readOnlyView)(nil))
	_ = (gofs.NodeSetxattrer)((*readOnlyView)(nil))
	_ = (gofs.NodeRemovexattrer)((*readOnlyView)(nil))
)

// Setattr refuses chmod, chown, utimes and truncate.
func (readOnlyView) Setattr(ctx context.Context, f gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return syscall.EROFS
}

// Mkdir refuses.
func (readOnlyView) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}

// Mknod refuses.
func (readOnlyView) Mknod(ctx context.Context, name string, mode uint32, dev uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}

// Link refuses.
func (readOnlyView) Link(ctx context.Context, target gofs.InodeEmbedder, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}

// Symlink refuses.
func (readOnlyView) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}

// Create refuses.
func (readOnlyView) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EROFS
}

// Unlink refuses: a version is purged with `ssefs versions purge`.
func (readOnlyView) Unlink(ctx context.Context, name string) syscall.Errno { return syscall.EROFS }

// Rmdir refuses.
func (readOnlyView) Rmdir(ctx context.Context, name string) syscall.Errno { return syscall.EROFS }

// Rename refuses.
func (readOnlyView) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	return syscall.EROFS
}

// Setxattr refuses.
func (readOnlyView) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return syscall.EROFS
}

// Removexattr refuses.
func (readOnlyView) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return syscall.EROFS
}
