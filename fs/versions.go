package fs

import (
	"context"
	"fmt"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ssefs/ssefs/object"
)

// viewDirName is the hidden directory at the mount root that holds the
// read-only views. readdir of the root never lists it, so find, tar and
// rsync of the mount do not descend into it, but it can be entered by name.
const viewDirName = ".ssefs"

// reserved reports whether name may not be created in this directory.
func (n *Node) reserved(name string) bool { return n.ino == object.RootIno && name == viewDirName }

func noCache(out *fuse.EntryOut) {
	out.SetEntryTimeout(0)
	out.SetAttrTimeout(0)
}

// virtualDirAttr mirrors the real directory ino without its write bits, so
// the kernel's permission checks in the view are those of the live tree.
func virtualDirAttr(l *object.Layer, ino object.Ino, out *fuse.Attr) {
	out.Mode = syscall.S_IFDIR
	out.Nlink = 2
	if in, err := l.Inode(ino); err == nil {
		out.Mode |= in.Mode & 0o555
		out.Uid, out.Gid = in.UID, in.GID
		out.SetTimes(nil, ptime(in.Mtime), ptime(in.Ctime))
	}
}

// viewRoot is /.ssefs.
type viewRoot struct {
	gofs.Inode
	readOnlyView
	l *object.Layer
}

var (
	_ = (gofs.NodeLookuper)((*viewRoot)(nil))
	_ = (gofs.NodeReaddirer)((*viewRoot)(nil))
	_ = (gofs.NodeGetattrer)((*viewRoot)(nil))
)

func (n *Node) lookupView(ctx context.Context, out *fuse.EntryOut) *gofs.Inode {
	noCache(out)
	virtualDirAttr(n.l, object.RootIno, &out.Attr)
	return n.NewInode(ctx, &viewRoot{l: n.l}, gofs.StableAttr{Mode: syscall.S_IFDIR})
}

func (v *viewRoot) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	virtualDirAttr(v.l, object.RootIno, &out.Attr)
	return 0
}

func (v *viewRoot) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if errno := viewAccess(ctx, v.l, object.RootIno, mayExec); errno != 0 {
		return nil, errno
	}
	if name != "versions" {
		return nil, syscall.ENOENT
	}
	noCache(out)
	virtualDirAttr(v.l, object.RootIno, &out.Attr)
	return v.NewInode(ctx, &viewDir{l: v.l, dir: object.RootIno}, gofs.StableAttr{Mode: syscall.S_IFDIR}), 0
}

func (v *viewRoot) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	if errno := viewAccess(ctx, v.l, object.RootIno, mayRead); errno != 0 {
		return nil, errno
	}
	return gofs.NewListDirStream([]fuse.DirEntry{{Name: "versions", Mode: syscall.S_IFDIR}}), 0
}

// viewDir mirrors one real directory: subdirectories, and for each regular
// file, live or deleted, a directory of its versions.
type viewDir struct {
	gofs.Inode
	readOnlyView
	l   *object.Layer
	dir object.Ino
}

var (
	_ = (gofs.NodeLookuper)((*viewDir)(nil))
	_ = (gofs.NodeReaddirer)((*viewDir)(nil))
	_ = (gofs.NodeGetattrer)((*viewDir)(nil))
)

func (v *viewDir) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	virtualDirAttr(v.l, v.dir, &out.Attr)
	return 0
}

// Lookup needs search permission on the real directory, as a lookup in the
// live tree does.
func (v *viewDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if errno := viewAccess(ctx, v.l, v.dir, mayExec); errno != 0 {
		return nil, errno
	}
	in, err := v.l.Lookup(v.dir, name)
	if err == object.ErrNotFound {
		in, err = v.l.LookupDeleted(v.dir, name)
	}
	if err != nil {
		return nil, toErrno(ctx, "versions lookup", err)
	}
	noCache(out)
	switch in.Mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		virtualDirAttr(v.l, in.Ino, &out.Attr)
		return v.NewInode(ctx, &viewDir{l: v.l, dir: in.Ino}, gofs.StableAttr{Mode: syscall.S_IFDIR}), 0
	case syscall.S_IFREG:
		versionsDirAttr(in, &out.Attr)
		return v.NewInode(ctx, &versionsDir{l: v.l, ino: in.Ino}, gofs.StableAttr{Mode: syscall.S_IFDIR}), 0
	}
	return nil, syscall.ENOENT
}

// Readdir needs read permission on the real directory.
func (v *viewDir) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	if errno := viewAccess(ctx, v.l, v.dir, mayRead); errno != 0 {
		return nil, errno
	}
	ents, err := v.l.ReadDir(v.dir)
	if err != nil {
		return nil, toErrno(ctx, "versions readdir", err)
	}
	tombs, err := v.l.TombstonesOf(v.dir)
	if err != nil {
		return nil, toErrno(ctx, "versions readdir", err)
	}
	live := map[string]bool{}
	var out []fuse.DirEntry
	for _, e := range ents {
		live[e.Name] = true
		if e.Mode == syscall.S_IFDIR || e.Mode == syscall.S_IFREG {
			out = append(out, fuse.DirEntry{Name: e.Name, Mode: syscall.S_IFDIR})
		}
	}
	for _, e := range tombs {
		if !live[e.Name] {
			out = append(out, fuse.DirEntry{Name: e.Name, Mode: syscall.S_IFDIR})
		}
	}
	return gofs.NewListDirStream(out), 0
}

// versionsDir lists the versions of one file, oldest first.
type versionsDir struct {
	gofs.Inode
	readOnlyView
	l   *object.Layer
	ino object.Ino
}

var (
	_ = (gofs.NodeLookuper)((*versionsDir)(nil))
	_ = (gofs.NodeReaddirer)((*versionsDir)(nil))
	_ = (gofs.NodeGetattrer)((*versionsDir)(nil))
)

// versionsDirAttr gives the directory the file's read permissions (plus
// search where read is allowed), so old versions are exactly as private as
// the file.
func versionsDirAttr(in *object.Inode, out *fuse.Attr) {
	r := in.Mode & 0o444
	out.Mode = syscall.S_IFDIR | r | r>>2
	out.Nlink = 2
	out.Uid, out.Gid = in.UID, in.GID
	out.SetTimes(nil, ptime(in.Mtime), ptime(in.Ctime))
}

func (v *versionsDir) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	in, err := v.l.Inode(v.ino)
	if err != nil {
		return toErrno(ctx, "versions getattr", err)
	}
	versionsDirAttr(in, &out.Attr)
	return 0
}

// Readdir lists the versions to whoever may read the file.
func (v *versionsDir) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	if errno := viewAccess(ctx, v.l, v.ino, mayRead); errno != 0 {
		return nil, errno
	}
	vs, err := v.l.Versions(v.ino)
	if err != nil {
		return nil, toErrno(ctx, "versions readdir", err)
	}
	out := make([]fuse.DirEntry, len(vs))
	for i, vi := range vs {
		out[i] = fuse.DirEntry{Name: vi.Name(), Mode: syscall.S_IFREG}
	}
	return gofs.NewListDirStream(out), 0
}

// Lookup needs read permission on the file (the directory's search bits
// are its read bits).
func (v *versionsDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if errno := viewAccess(ctx, v.l, v.ino, mayRead); errno != 0 {
		return nil, errno
	}
	id, err := object.ParseVersion(name)
	if err != nil {
		return nil, syscall.ENOENT
	}
	vs, err := v.l.Versions(v.ino)
	if err != nil {
		return nil, toErrno(ctx, "versions lookup", err)
	}
	for _, vi := range vs {
		if vi.ID == id && vi.Name() == name {
			in, err := v.l.Inode(v.ino)
			if err != nil {
				return nil, toErrno(ctx, "versions lookup", err)
			}
			vf := &versionFile{l: v.l, ino: v.ino, v: vi}
			vf.attr(in, &out.Attr)
			noCache(out)
			return v.NewInode(ctx, vf, gofs.StableAttr{Mode: syscall.S_IFREG}), 0
		}
	}
	return nil, syscall.ENOENT
}

// versionFile is one version, readable with cat and cp.
type versionFile struct {
	gofs.Inode
	readOnlyView
	l   *object.Layer
	ino object.Ino
	v   object.VersionInfo
}

var (
	_ = (gofs.NodeOpener)((*versionFile)(nil))
	_ = (gofs.NodeGetattrer)((*versionFile)(nil))
	_ = (gofs.NodeGetxattrer)((*versionFile)(nil))
)

// attr shows the version's own owner and read bits where its record holds
// them, so the kernel's check (default_permissions) is the version's own;
// a version of an older record shows the file's current owner with only
// the owner's read bit; a delete marker (empty) shows the file's. Open
// checks again (mayReadVersion) against the authenticated record: the
// listing's owner is for display only.
func (f *versionFile) attr(in *object.Inode, out *fuse.Attr) {
	uid, gid, perm := in.UID, in.GID, in.Mode&0o444
	switch {
	case f.v.DeleteMarker:
	case f.v.Owner != nil:
		uid, gid, perm = f.v.Owner.UID, f.v.Owner.GID, f.v.Owner.Mode&0o444
	default:
		perm = in.Mode & 0o400
	}
	out.Mode = syscall.S_IFREG | perm
	out.Nlink = 1
	out.Size = uint64(f.v.Size)
	out.Blocks = (out.Size + 511) / 512
	out.Uid, out.Gid = uid, gid
	out.Blksize = object.ChunkSize
	out.SetTimes(nil, ptime(f.v.Mtime), ptime(int64(f.v.ID)))
}

// Getattr reads the file again: a chmod or chown of the file shows at once
// in its versions that do not record their own.
func (f *versionFile) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	in, err := f.l.Inode(f.ino)
	if err != nil {
		return toErrno(ctx, "versions getattr", err)
	}
	f.attr(in, &out.Attr)
	return 0
}

func (f *versionFile) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if flags&(syscall.O_WRONLY|syscall.O_RDWR|syscall.O_TRUNC|syscall.O_APPEND) != 0 {
		return nil, 0, syscall.EROFS
	}
	if errno := viewAccess(ctx, f.l, f.ino, mayRead); errno != 0 {
		return nil, 0, errno
	}
	if f.v.DeleteMarker {
		return &versionHandle{}, fuse.FOPEN_KEEP_CACHE, 0
	}
	st, err := f.l.OpenVersion(f.ino, f.v.ID)
	if err != nil {
		return nil, 0, toErrno(ctx, "open version", err)
	}
	// The version's own owner and mode, authenticated with its record.
	in, err := f.l.Inode(f.ino)
	if err != nil {
		return nil, 0, toErrno(ctx, "open version", err)
	}
	if !newCaller(ctx).mayReadVersion(in, st.VersionOwner()) {
		return nil, 0, syscall.EACCES
	}
	return &versionHandle{f: st}, fuse.FOPEN_KEEP_CACHE, 0
}

func (f *versionFile) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	if attr != VirtualPrefix+"version-id" {
		return 0, syscall.ENODATA
	}
	v := []byte(fmt.Sprint(f.v.ID))
	if len(dest) < len(v) {
		return uint32(len(v)), syscall.ERANGE
	}
	return uint32(copy(dest, v)), 0
}
