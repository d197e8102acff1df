package fs

import (
	"context"
	"syscall"

	"github.com/ssefs/ssefs/object"
)

// The versions view must grant no more than the live tree grants, and a
// version no more than the file granted when that version was committed.
// The kernel checks the view's attributes (default_permissions), which
// mirror the real directories and each version's recorded owner and mode;
// the daemon checks the real objects and the authenticated version record
// once more itself, so that a view node's attributes cached by the kernel, or a
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

// mayReadVersion reports whether c may read the content of a version of
// the file in, whose record holds the authenticated owner (nil: its record
// is of an older format and holds none). It is on top of may(in, mayRead),
// which the versions directory requires: a version is readable only by a
// caller who may read the file now AND could read it as that version was
// committed, so neither a chmod nor a chown of the file opens a version to
// anyone its own mode kept out. This holds for the current version too:
// while a writer has replaced its content and not yet committed, the live
// file no longer shows it, whatever the file's mode has become.
// Without a recorded owner, what the version was committed under is
// unknown: only root and the file's current owner may read it, the
// narrowest rule that keeps the owner's own history readable.
func (c *caller) mayReadVersion(in *object.Inode, owner *object.VersionOwner) bool {
	if !c.known {
		return true
	}
	if !c.may(in, mayRead) {
		return false
	}
	if owner != nil {
		return c.may(&object.Inode{Mode: owner.Mode, UID: owner.UID, GID: owner.GID}, mayRead)
	}
	return c.uid == 0 || c.uid == in.UID
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
