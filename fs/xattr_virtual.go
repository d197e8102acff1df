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

// virtualXattrs is filled by init() functions of the files that own each name.
var virtualXattrs = map[string]virtualXattr{}

// VirtualPrefix is the namespace reserved for virtual attributes.
const VirtualPrefix = "user.ssefs."

func lookupVirtual(name string) (virtualXattr, bool, syscall.Errno) {
	if !strings.HasPrefix(name, VirtualPrefix) {
		return virtualXattr{}, false, 0
	}
	v, ok := virtualXattrs[name]
	if !ok {
		return v, true, syscall.ENODATA
	}
	return v, true, 0
}
