package fs

import (
	"context"
	"fmt"
)

// versionXattrs name the object and its current version: the ids that
// ssefs versions and the versions view show.
func versionXattrs() virtualXattrTable {
	return virtualXattrTable{
		VirtualPrefix + "version-id": {get: func(ctx context.Context, n *Node) ([]byte, error) {
			in, err := n.l.Inode(n.ino)
			if err != nil {
				return nil, err
			}
			return []byte(fmt.Sprint(in.Version)), nil
		}},
		VirtualPrefix + "object-id": {get: func(ctx context.Context, n *Node) ([]byte, error) {
			return []byte(fmt.Sprint(uint64(n.ino))), nil
		}},
		VirtualPrefix + "versions": {get: func(ctx context.Context, n *Node) ([]byte, error) {
			vs, err := n.l.Versions(n.ino)
			if err != nil {
				return nil, err
			}
			return []byte(fmt.Sprint(len(vs))), nil
		}},
	}
}
