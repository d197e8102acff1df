package fs

import (
	gofs "github.com/hanwen/go-fuse/v2/fs"
)

// dropPageCaches tells the kernel to drop the cached pages of every file it knows
// under root (the versions view included). The object layer runs it after a seal,
// a key seal or a key deletion: the mount uses FOPEN_KEEP_CACHE, so without it a
// read on an already open descriptor could be served from plaintext cached before
// the seal instead of reaching the key check. Errors (ENOENT: the kernel already
// forgot the inode) mean there was nothing to drop.
func dropPageCaches(root *gofs.Inode) {
	seen := map[*gofs.Inode]bool{root: true}
	stack := []*gofs.Inode{root}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, c := range n.Children() {
			if seen[c] {
				continue
			}
			seen[c] = true
			if c.IsDir() {
				stack = append(stack, c)
			} else {
				c.NotifyContent(0, 0)
			}
		}
	}
}
