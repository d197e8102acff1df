package fs

import (
	"context"
	"syscall"

	"github.com/ssefs/ssefs/object"
)

// The versions view must grant exactly what the live tree grants. The
// kernel checks the view's attributes (default_permissions), which mirror
// the real directories and files; the daemon checks the real objects once
// more itself, so that a view node's attributes cached by the kernel, or a
// mount without default_permissions, can never open a door the live tree
// keeps shut (with --allow-other, other users reach the view).

// Access bits of a permission check, as in access(2).
const (
	mayExec uint32 = 1
	mayRead uint32 = 4
)

// may reports whether c may access an object of this mode and owner with
// the access bits want, as the kernel's generic_permission does: the owner
// class if c owns it, else the group class if c is in its group, else
// other. Root may read anything and search any directory, and execute a
// file only if some execute bit is set.
func (c *caller) may(in *object.Inode, want uint32) bool {
	if !c.known {
		return true
	}
	mode := in.Mode
	if c.uid == 0 {
		if want&mayExec == 0 || mode&syscall.S_IFMT == syscall.S_IFDIR {
			return true
		}
		return mode&0o111 != 0
	}
	var bits uint32
	switch {
	case c.uid == in.UID:
		bits = mode >> 6
	case c.InGroup(in.GID):
		bits = mode >> 3
	default:
		bits = mode
	}
	return bits&want == want
}

// viewAccess checks that the caller may access the real object ino with the
// access bits want; EACCES if not.
func viewAccess(ctx context.Context, l *object.Layer, ino object.Ino, want uint32) syscall.Errno {
	in, err := l.Inode(ino)
	if err != nil {
		return toErrno(ctx, "versions access", err)
	}
	if !newCaller(ctx).may(in, want) {
		return syscall.EACCES
	}
	return 0
}
