package fs

import (
	"context"
	"strings"
	"syscall"
)

// virtualXattr is an attribute ssefs computes or interprets instead of
// storing: user.ssefs.* names. They are not listed by listxattr, so that
// cp -a, tar and rsync -X never copy them from one file to another, but
// getfattr -n and setfattr -n reach them.
type virtualXattr struct {
	get func(ctx context.Context, n *Node) ([]byte, error)     // nil: not readable
	set func(ctx context.Context, n *Node, value []byte) error // nil: read-only (EPERM)
	del func(ctx context.Context, n *Node) error               // nil: cannot be removed (EPERM)
}

// VirtualPrefix is the namespace reserved for virtual attributes.
const VirtualPrefix = "user.ssefs."

// virtualXattrTable maps each virtual attribute name to how it is served.
type virtualXattrTable map[string]virtualXattr

// newVirtualXattrs builds the table of one mount from the groups kept next
// to the code each name serves (xattr_versions.go, xattr_lock.go,
// xattr_sse.go). A name claimed by two groups is a programming error.
func newVirtualXattrs() virtualXattrTable {
	t := virtualXattrTable{}
	for _, group := range []virtualXattrTable{versionXattrs(), lockXattrs(), sseXattrs()} {
		for name, x := range group {
			if _, dup := t[name]; dup {
				panic("fs: virtual xattr " + name + " defined twice")
			}
			t[name] = x
		}
	}
	return t
}

// lookup finds name: ok reports that it is in the virtual namespace at all,
// and errno is ENODATA for a virtual name nothing serves.
func (t virtualXattrTable) lookup(name string) (x virtualXattr, ok bool, errno syscall.Errno) {
	if !strings.HasPrefix(name, VirtualPrefix) {
		return virtualXattr{}, false, 0
	}
	v, ok := t[name]
	if !ok {
		return v, true, syscall.ENODATA
	}
	return v, true, 0
}
