package fs

import (
	"context"
	"fmt"
)

func init() {
	virtualXattrs[VirtualPrefix+"version-id"] = virtualXattr{get: func(ctx context.Context, n *Node) ([]byte, error) {
		in, err := n.l.Inode(n.ino)
		if err != nil {
			return nil, err
		}
		return []byte(fmt.Sprint(in.Version)), nil
	}}
	virtualXattrs[VirtualPrefix+"object-id"] = virtualXattr{get: func(ctx context.Context, n *Node) ([]byte, error) {
		return []byte(fmt.Sprint(uint64(n.ino))), nil
	}}
	virtualXattrs[VirtualPrefix+"versions"] = virtualXattr{get: func(ctx context.Context, n *Node) ([]byte, error) {
		vs, err := n.l.Versions(n.ino)
		if err != nil {
			return nil, err
		}
		return []byte(fmt.Sprint(len(vs))), nil
	}}
}
