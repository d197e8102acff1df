// Package fs is the FUSE frontend of ssefs: a go-fuse v2 node tree that maps
// POSIX operations onto the object layer. It holds no state of its own
// beyond what the kernel protocol needs; every error it returns is an errno.
package fs

import (
	"context"
	"log"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ssefs/ssefs/object"
)

// Node is one object in the mount.
type Node struct {
	gofs.Inode
	l   *object.Layer
	ino object.Ino
	ms  *mountState
}

var (
	_ = (gofs.NodeLookuper)((*Node)(nil))
	_ = (gofs.NodeGetattrer)((*Node)(nil))
	_ = (gofs.NodeSetattrer)((*Node)(nil))
	_ = (gofs.NodeCreater)((*Node)(nil))
	_ = (gofs.NodeOpener)((*Node)(nil))
	_ = (gofs.NodeMkdirer)((*Node)(nil))
	_ = (gofs.NodeMknoder)((*Node)(nil))
	_ = (gofs.NodeSymlinker)((*Node)(nil))
	_ = (gofs.NodeReadlinker)((*Node)(nil))
	_ = (gofs.NodeLinker)((*Node)(nil))
	_ = (gofs.NodeUnlinker)((*Node)(nil))
	_ = (gofs.NodeRmdirer)((*Node)(nil))
	_ = (gofs.NodeRenamer)((*Node)(nil))
	_ = (gofs.NodeReaddirer)((*Node)(nil))
	_ = (gofs.NodeStatfser)((*Node)(nil))
	_ = (gofs.NodeGetxattrer)((*Node)(nil))
	_ = (gofs.NodeSetxattrer)((*Node)(nil))
	_ = (gofs.NodeListxattrer)((*Node)(nil))
	_ = (gofs.NodeRemovexattrer)((*Node)(nil))
	_ = (gofs.NodeOnForgetter)((*Node)(nil))
	_ = (gofs.NodeFsyncer)((*Node)(nil))
)

// NewRoot returns the root node of a mount of l.
func NewRoot(l *object.Layer) *Node {
	ms := newMountState()
	root := &Node{l: l, ino: object.RootIno, ms: ms}
	ms.register(root)
	l.OnForgetKeys(func() { dropPageCaches(&root.Inode) }) // a seal leaves no plaintext cached
	return root
}

// OnForget runs when the kernel forgets the node: an object that lost its
// last name is purged only now.
func (n *Node) OnForget() {
	n.ms.forget(n)
	if err := n.l.Forget(n.ino); err != nil {
		log.Printf("ssefs: purging forgotten object %d: %v", n.ino, err)
	}
}

// fillAttr fills out from n; st_blocks counts what the store holds
// (object.Layer.StoredBytes), so a sparse file shows its data, not its size.
func fillAttr(l *object.Layer, n *object.Inode, out *fuse.Attr) {
	out.Ino = uint64(n.Ino)
	out.Mode = n.Mode
	out.Nlink = n.Nlink
	out.Uid = n.UID
	out.Gid = n.GID
	out.Rdev = n.Rdev
	out.Size = uint64(n.Size)
	out.Blocks = (uint64(l.StoredBytes(n)) + 511) / 512
	out.Blksize = object.ChunkSize
	out.SetTimes(ptime(n.Atime), ptime(n.Mtime), ptime(n.Ctime))
}

func ptime(ns int64) *time.Time {
	t := time.Unix(0, ns)
	return &t
}

func (n *Node) child(ctx context.Context, in *object.Inode, out *fuse.EntryOut) *gofs.Inode {
	fillAttr(n.l, in, &out.Attr)
	node := &Node{l: n.l, ino: in.Ino, ms: n.ms}
	child := n.NewInode(ctx, node, gofs.StableAttr{Mode: in.Mode & syscall.S_IFMT, Ino: uint64(in.Ino)})
	if got, ok := child.Operations().(*Node); ok {
		n.ms.register(got)
	}
	return child
}

// Lookup finds a child by name.
func (n *Node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if n.reserved(name) {
		return n.lookupView(ctx, out), 0
	}
	in, err := n.l.Lookup(n.ino, name)
	if err != nil {
		return nil, toErrno(ctx, "lookup", err)
	}
	return n.child(ctx, in, out), 0
}

// Getattr reports attributes, including the size of uncommitted writes.
func (n *Node) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	in, err := n.l.Attr(n.ino)
	if err != nil {
		return toErrno(ctx, "getattr", err)
	}
	fillAttr(n.l, in, &out.Attr)
	return 0
}

// Setattr changes mode, owner, times or size.
func (n *Node) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	var a object.SetAttrArgs
	if m, ok := in.GetMode(); ok {
		a.Mode = &m
	}
	if u, ok := in.GetUID(); ok {
		a.UID = &u
	}
	if g, ok := in.GetGID(); ok {
		a.GID = &g
	}
	if t, ok := in.GetATime(); ok {
		ns := t.UnixNano()
		a.Atime = &ns
	}
	if t, ok := in.GetMTime(); ok {
		ns := t.UnixNano()
		a.Mtime = &ns
	}
	if s, ok := in.GetSize(); ok {
		sz := int64(s)
		a.Size = &sz
	}
	a.KillPriv = in.Valid&fuse.FATTR_KILL_SUIDGID != 0 // CAP_HANDLE_KILLPRIV_V2
	a.Caller = newCaller(ctx)
	res, err := n.l.SetAttr(n.ino, a)
	if err != nil {
		return toErrno(ctx, "setattr", err)
	}
	fillAttr(n.l, res, &out.Attr)
	return 0
}

// createArgs fills owner and mode of a new object from the caller, with
// setgid directories passing their group (and, to subdirectories, the bit) on.
func (n *Node) createArgs(ctx context.Context, mode uint32) object.CreateArgs {
	a := object.CreateArgs{Mode: mode}
	if c, ok := fuse.FromContext(ctx); ok {
		a.UID, a.GID = c.Uid, c.Gid
	}
	if p, err := n.l.Inode(n.ino); err == nil && p.Mode&syscall.S_ISGID != 0 {
		a.GID = p.GID
		if mode&syscall.S_IFMT == syscall.S_IFDIR {
			a.Mode |= syscall.S_ISGID
		}
	}
	return a
}

// Create makes and opens a regular file.
func (n *Node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	if n.reserved(name) {
		return nil, nil, 0, syscall.EPERM
	}
	in, err := n.l.Create(n.ino, name, n.createArgs(ctx, mode|syscall.S_IFREG))
	if err != nil {
		return nil, nil, 0, toErrno(ctx, "create", err)
	}
	f, err := n.l.OpenFile(in.Ino)
	if err != nil {
		return nil, nil, 0, toErrno(ctx, "create", err)
	}
	child := n.child(ctx, in, out)
	return child, &Handle{f: f, n: child.Operations().(*Node)}, fuse.FOPEN_KEEP_CACHE, 0
}

// Open opens a regular file; O_TRUNC arrives as a separate setattr. A
// read-only descriptor changes nothing its close would commit, so the
// kernel is told not to send FLUSH for it (one round trip less per close).
func (n *Node) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	f, err := n.l.OpenFile(n.ino)
	if err != nil {
		return nil, 0, toErrno(ctx, "open", err)
	}
	fl := uint32(fuse.FOPEN_KEEP_CACHE)
	if flags&syscall.O_ACCMODE == syscall.O_RDONLY {
		fl |= fuse.FOPEN_NOFLUSH
	}
	return &Handle{f: f, n: n}, fl, 0
}

// Mkdir makes a directory.
func (n *Node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if n.reserved(name) {
		return nil, syscall.EPERM
	}
	in, err := n.l.Create(n.ino, name, n.createArgs(ctx, mode|syscall.S_IFDIR))
	if err != nil {
		return nil, toErrno(ctx, "mkdir", err)
	}
	return n.child(ctx, in, out), 0
}

// Mknod makes a fifo, socket or device node.
func (n *Node) Mknod(ctx context.Context, name string, mode uint32, dev uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if n.reserved(name) {
		return nil, syscall.EPERM
	}
	a := n.createArgs(ctx, mode)
	a.Rdev = dev
	in, err := n.l.Create(n.ino, name, a)
	if err != nil {
		return nil, toErrno(ctx, "mknod", err)
	}
	return n.child(ctx, in, out), 0
}

// Symlink makes a symbolic link.
func (n *Node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if n.reserved(name) {
		return nil, syscall.EPERM
	}
	a := n.createArgs(ctx, syscall.S_IFLNK|0o777)
	a.Target = target
	in, err := n.l.Create(n.ino, name, a)
	if err != nil {
		return nil, toErrno(ctx, "symlink", err)
	}
	return n.child(ctx, in, out), 0
}

// Readlink returns a symlink's target.
func (n *Node) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	in, err := n.l.Inode(n.ino)
	if err != nil {
		return nil, toErrno(ctx, "readlink", err)
	}
	return []byte(in.Target), 0
}

// Link adds a hard link to target under name.
func (n *Node) Link(ctx context.Context, target gofs.InodeEmbedder, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if n.reserved(name) {
		return nil, syscall.EPERM
	}
	t, ok := target.(*Node)
	if !ok {
		return nil, syscall.EXDEV
	}
	in, err := n.l.Link(t.ino, n.ino, name)
	if err != nil {
		return nil, toErrno(ctx, "link", err)
	}
	if a, err := n.l.Attr(in.Ino); err == nil {
		in = a
	}
	return n.child(ctx, in, out), 0
}

// Unlink removes a name; see object.Layer.Unlink for what becomes of the object.
func (n *Node) Unlink(ctx context.Context, name string) syscall.Errno {
	return toErrno(ctx, "unlink", n.l.Unlink(n.ino, name))
}

// Rmdir removes an empty directory.
func (n *Node) Rmdir(ctx context.Context, name string) syscall.Errno {
	return toErrno(ctx, "rmdir", n.l.Rmdir(n.ino, name))
}

// Rename moves a name, with renameat2 flags.
func (n *Node) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	if n.reserved(name) {
		return syscall.EPERM
	}
	np, ok := newParent.(*Node)
	if !ok {
		return syscall.EXDEV
	}
	if np.reserved(newName) {
		return syscall.EPERM
	}
	return toErrno(ctx, "rename", n.l.Rename(n.ino, name, np.ino, newName, flags))
}

// Readdir lists the directory.
func (n *Node) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	ents, err := n.l.ReadDir(n.ino)
	if err != nil {
		return nil, toErrno(ctx, "readdir", err)
	}
	out := make([]fuse.DirEntry, len(ents))
	for i, e := range ents {
		out[i] = fuse.DirEntry{Name: e.Name, Ino: uint64(e.Ino), Mode: e.Mode}
	}
	return gofs.NewListDirStream(out), 0
}

// Fsync serves fsync(2) of files (through their handle) and of
// directories: every metadata change made so far, names included, is
// committed and durable when it returns.
func (n *Node) Fsync(ctx context.Context, f gofs.FileHandle, flags uint32) syscall.Errno {
	if h, ok := f.(*Handle); ok {
		return h.Fsync(ctx, flags)
	}
	return toErrno(ctx, "fsync", n.l.SyncMeta())
}

// Statfs reports the space of the filesystem holding the store.
func (n *Node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	var st syscall.Statfs_t
	if err := syscall.Statfs(n.l.Store().Dir, &st); err != nil {
		return toErrno(ctx, "statfs", err)
	}
	out.FromStatfsT(&st)
	out.NameLen = object.MaxNameLen
	return 0
}

// Getxattr reads an extended attribute.
func (n *Node) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	var v []byte
	var err error
	if vx, ok, errno := n.ms.xattrs.lookup(attr); errno != 0 {
		return 0, errno
	} else if ok {
		if vx.get == nil {
			return 0, syscall.ENODATA
		}
		v, err = vx.get(ctx, n)
	} else {
		v, err = n.l.GetXattr(n.ino, attr)
	}
	if err != nil {
		return 0, toErrno(ctx, "getxattr", err)
	}
	if len(dest) < len(v) {
		return uint32(len(v)), syscall.ERANGE
	}
	return uint32(copy(dest, v)), 0
}

// Setxattr writes an extended attribute.
func (n *Node) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	if vx, ok, errno := n.ms.xattrs.lookup(attr); errno != 0 {
		return syscall.EPERM
	} else if ok {
		if vx.set == nil {
			return syscall.EPERM
		}
		return toErrno(ctx, "setxattr "+attr, vx.set(ctx, n, data))
	}
	return toErrno(ctx, "setxattr", n.l.SetXattr(n.ino, attr, data, flags))
}

// Removexattr deletes an extended attribute.
func (n *Node) Removexattr(ctx context.Context, attr string) syscall.Errno {
	if vx, ok, errno := n.ms.xattrs.lookup(attr); errno != 0 {
		return syscall.EPERM
	} else if ok {
		if vx.del == nil {
			return syscall.EPERM
		}
		return toErrno(ctx, "removexattr "+attr, vx.del(ctx, n))
	}
	return toErrno(ctx, "removexattr", n.l.RemoveXattr(n.ino, attr))
}

// Listxattr lists extended attribute names, NUL-separated.
func (n *Node) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	names, err := n.l.ListXattr(n.ino)
	if err != nil {
		return 0, toErrno(ctx, "listxattr", err)
	}
	var b []byte
	for _, nm := range names {
		b = append(append(b, nm...), 0)
	}
	if len(dest) < len(b) {
		return uint32(len(b)), syscall.ERANGE
	}
	return uint32(copy(dest, b)), 0
}
