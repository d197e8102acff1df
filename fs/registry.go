package fs

import (
	"sync"

	"github.com/ssefs/ssefs/object"
)

// mountState is shared by every node of one mount: the nodes the kernel
// currently knows, by object id, so changes made behind the kernel's back
// (restore, purge, sealing) can invalidate exactly what it cached; and the
// virtual xattrs the nodes serve, built with the mount and read-only after.
type mountState struct {
	xattrs virtualXattrTable

	mu    sync.Mutex
	nodes map[object.Ino]*Node
}

func newMountState() *mountState {
	return &mountState{xattrs: newVirtualXattrs(), nodes: map[object.Ino]*Node{}}
}

func (ms *mountState) register(n *Node) {
	ms.mu.Lock()
	ms.nodes[n.ino] = n
	ms.mu.Unlock()
}

func (ms *mountState) forget(n *Node) {
	ms.mu.Lock()
	if ms.nodes[n.ino] == n {
		delete(ms.nodes, n.ino)
	}
	ms.mu.Unlock()
}

func (ms *mountState) get(ino object.Ino) *Node {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.nodes[ino]
}

// notify drops the kernel's cached pages, attributes and entries that a
// change invalidated. Errors (ENOENT when the kernel already forgot the
// node) mean there was nothing to drop.
func (ms *mountState) notify(c object.Change) {
	if c.Ino != 0 {
		if n := ms.get(c.Ino); n != nil {
			n.NotifyContent(0, 0)
		}
	}
	if c.Parent != 0 {
		if p := ms.get(c.Parent); p != nil {
			p.NotifyEntry(c.Name)
		}
	}
}
