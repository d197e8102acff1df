package chunkstore

import (
	"container/list"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// mapping is one part file mapped read-only. refs counts readers using it;
// a mapping forgotten, dropped or closed while in use is unmapped by its
// last reader, so no reader ever touches unmapped (or re-used) address
// space.
type mapping struct {
	id       PartID
	data     []byte          // the first encSize bytes of the part file
	resident []atomic.Uint64 // bit per page: populated through this mapping (populate)
	refs     int
	lastUse  time.Duration // since the cache's epoch, at the last get or release
	dead     bool          // out of the cache; unmap at refs == 0
	elem     *list.Element
}

// mapCache is an LRU of part mappings bounded by the bytes they map, safe
// for concurrent use. Mapped bytes are not memory until read, but every
// page a reader touched stays in the daemon's RSS until its mapping is
// unmapped, so the bound is what keeps the daemon's peak RSS in budget.
//
// It evicts only mappings idle for at least idle, and a miss that would
// need to evict a busier one is not mapped at all (the read takes the
// pread path). An munmap is far from free: it flushes the TLB of every CPU
// the daemon runs on, which on a VM costs tens of µs (most of the munmap
// time in profiles), more than the copy a mapping saves on one read. Plain
// LRU over a working set larger than the cap would map and unmap a part
// for almost every read; this way the cache stays put under uniformly
// random reads and still follows a sequential scan, whose parts go idle as
// soon as it moves on.
type mapCache struct {
	mu      sync.Mutex
	max     int64         // bound on cached bytes
	idle    time.Duration // a mapping used more recently is not evicted
	cached  int64         // bytes of the mappings in lru
	byID    map[PartID]*mapping
	lru     list.List // front = most recently used; values are *mapping
	removes uint64    // bumped by forget; a mapping that raced a Remove is not cached
	closed  bool
	live    int // mappings not yet unmapped, cached or not (for tests)
	epoch   time.Time

	unmap func([]byte) // munmap; a field so tests can count unmaps
}

func newMapCache(max int64, idle time.Duration, unmap func([]byte)) *mapCache {
	return &mapCache{max: max, idle: idle, byID: make(map[PartID]*mapping), unmap: unmap, epoch: time.Now()}
}

// get returns id's mapping with a reference held, calling mapFn on a miss
// for which the cache can make room. It returns nil (and no error) when it
// cannot, or when mapFn returns nil data: the part is not mapped now. The
// caller must release a non-nil mapping.
func (c *mapCache) get(id PartID, encSize int64, mapFn func() ([]byte, error)) (*mapping, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	now := time.Since(c.epoch)
	if m, ok := c.byID[id]; ok && int64(len(m.data)) == encSize {
		m.refs++
		m.lastUse = now
		c.lru.MoveToFront(m.elem)
		c.mu.Unlock()
		return m, nil
	}
	if !c.makeRoomLocked(footprintOf(encSize), now) {
		c.mu.Unlock()
		return nil, nil
	}
	epoch := c.removes
	c.mu.Unlock()

	data, err := mapFn()
	if err != nil || data == nil {
		return nil, err
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	c.live++
	if c.closed {
		c.unmapLocked(data)
		return nil, ErrClosed
	}
	if m, ok := c.byID[id]; ok {
		if int64(len(m.data)) == encSize { // another reader won the race
			c.unmapLocked(data)
			m.refs++
			m.lastUse = now
			c.lru.MoveToFront(m.elem)
			return m, nil
		}
		// Mapped for another expected size (no caller does that: a part's
		// size is fixed), so the newer expectation replaces it.
		c.dropLocked(m)
	}
	m := &mapping{id: id, data: data, refs: 1, lastUse: now,
		resident: make([]atomic.Uint64, (footprint(data)/pageSize+63)/64)}
	if c.removes != epoch || !c.makeRoomLocked(footprint(data), now) {
		// A Remove ran while we mapped (the file may be unlinked, and a
		// cached mapping would keep its blocks allocated), or other misses
		// took the room meanwhile: use the mapping once.
		m.dead = true
		return m, nil
	}
	m.elem = c.lru.PushFront(m)
	c.byID[id] = m
	c.cached += footprint(data)
	return m, nil
}

// makeRoomLocked evicts idle mappings, least recently used first, until
// need more bytes fit under the cap. It reports false, having evicted what
// it could, when a mapping that is in use or not idle long enough stands in
// the way.
func (c *mapCache) makeRoomLocked(need int64, now time.Duration) bool {
	if need > c.max {
		return false
	}
	for c.cached+need > c.max {
		e := c.lru.Back()
		if e == nil {
			return false
		}
		m := e.Value.(*mapping)
		if m.refs > 0 || now-m.lastUse < c.idle {
			return false
		}
		c.dropLocked(m)
	}
	return true
}

// release drops the caller's reference, unmapping the part if it left the
// cache meanwhile.
func (c *mapCache) release(m *mapping) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m.refs--
	m.lastUse = time.Since(c.epoch)
	if m.refs == 0 && m.dead {
		c.unmapLocked(m.data)
		m.data = nil
	}
}

// forget drops id's mapping (if any) ahead of an unlink, so the unlinked
// file's blocks are freed once the readers using it are done.
func (c *mapCache) forget(id PartID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removes++
	if m, ok := c.byID[id]; ok {
		c.dropLocked(m)
	}
}

// drop takes m out of the cache if it is still there (a read through it
// failed, so the next read should map the file afresh and see why).
func (c *mapCache) drop(m *mapping) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !m.dead {
		c.dropLocked(m)
	}
}

// dropLocked removes m from the cache; it is unmapped now or at its last
// release.
func (c *mapCache) dropLocked(m *mapping) {
	delete(c.byID, m.id)
	c.lru.Remove(m.elem)
	c.cached -= footprint(m.data)
	m.dead = true
	if m.refs == 0 {
		c.unmapLocked(m.data)
		m.data = nil
	}
}

func (c *mapCache) unmapLocked(data []byte) {
	c.unmap(data)
	c.live--
}

// close drops every mapping and refuses further gets.
func (c *mapCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for _, m := range c.byID {
		c.dropLocked(m)
	}
}

// stats reports the cached mappings, their bytes and the mappings not yet
// unmapped (for tests).
func (c *mapCache) stats() (n int, bytes int64, live int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byID), c.cached, c.live
}

var pageSize = int64(os.Getpagesize())

// footprint is the memory a mapping can pin: whole pages.
func footprint(data []byte) int64 { return footprintOf(int64(len(data))) }

func footprintOf(n int64) int64 { return (n + pageSize - 1) &^ (pageSize - 1) }
