package chunkstore

import (
	"container/list"
	"os"
	"sync"
)

// fdCacheSize bounds the read-only descriptors a Dir keeps open, so hot
// parts are read with one pread and no open/close.
const fdCacheSize = 64

// fdEntry is one cached descriptor. refs counts readers using it; an entry
// evicted or removed while in use is closed by its last reader.
type fdEntry struct {
	id   PartID
	f    *os.File
	size int64 // the file's size when opened; part files are never rewritten
	refs int
	dead bool
	elem *list.Element
}

// fdCache is an LRU of open part files, safe for concurrent use.
type fdCache struct {
	mu      sync.Mutex
	max     int
	byID    map[PartID]*fdEntry
	lru     list.List // front = most recently used; values are *fdEntry
	removes uint64    // bumped by forget; an open that raced a Remove is not cached
	closed  bool
}

func newFDCache(max int) *fdCache {
	return &fdCache{max: max, byID: make(map[PartID]*fdEntry)}
}

// get returns an entry for id with a reference held, opening the file (and
// learning its size) with open on a miss. The caller must release it.
func (c *fdCache) get(id PartID, open func() (*os.File, int64, error)) (*fdEntry, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if e, ok := c.byID[id]; ok {
		e.refs++
		c.lru.MoveToFront(e.elem)
		c.mu.Unlock()
		return e, nil
	}
	epoch := c.removes
	c.mu.Unlock()

	f, size, err := open()
	if err != nil {
		return nil, err
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		f.Close()
		return nil, ErrClosed
	}
	if e, ok := c.byID[id]; ok { // another reader won the race
		f.Close()
		e.refs++
		c.lru.MoveToFront(e.elem)
		return e, nil
	}
	e := &fdEntry{id: id, f: f, size: size, refs: 1}
	if c.removes != epoch {
		// A Remove ran while we opened: this fd may name an unlinked
		// file, so use it once and never cache it.
		e.dead = true
		return e, nil
	}
	e.elem = c.lru.PushFront(e)
	c.byID[id] = e
	for c.lru.Len() > c.max {
		c.dropLocked(c.lru.Back().Value.(*fdEntry))
	}
	return e, nil
}

// release drops the caller's reference, closing the fd if it was dropped
// from the cache meanwhile.
func (c *fdCache) release(e *fdEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.refs--
	if e.refs == 0 && e.dead {
		e.f.Close()
	}
}

// forget drops id's entry (if any) ahead of an unlink.
func (c *fdCache) forget(id PartID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removes++
	if e, ok := c.byID[id]; ok {
		c.dropLocked(e)
	}
}

// dropLocked removes e from the cache; its fd closes now or at its last
// release.
func (c *fdCache) dropLocked(e *fdEntry) {
	delete(c.byID, e.id)
	c.lru.Remove(e.elem)
	e.dead = true
	if e.refs == 0 {
		e.f.Close()
	}
}

// close drops every entry and refuses further gets.
func (c *fdCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for _, e := range c.byID {
		c.dropLocked(e)
	}
}

// len is the number of cached descriptors (for tests).
func (c *fdCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byID)
}
