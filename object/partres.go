package object

import (
	"sync"

	"github.com/ssefs/ssefs/chunkstore"
)

// partReservations are the part ids handed out to writers (open files,
// compaction) whose parts no committed version references yet. gc must
// never remove such a part: the sealer writes part files in the background
// long before the batch holding them is installed, let alone committed.
// An id is reserved in the same critical section that allocates it, so gc,
// which takes its horizon in that section too, sees every id below the
// horizon either reserved or already released by its owner.
type partReservations struct {
	mu  sync.Mutex
	ids map[chunkstore.PartID]struct{}
}

// reservePart allocates a part id and reserves it until releaseParts.
func (l *Layer) reservePart() (chunkstore.PartID, error) {
	r := &l.parts
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := l.nextPart()
	if err != nil {
		return 0, err
	}
	id := chunkstore.PartID(n)
	if r.ids == nil {
		r.ids = map[chunkstore.PartID]struct{}{}
	}
	r.ids[id] = struct{}{}
	return id, nil
}

// releaseParts ends the reservation of ids: their owner committed a
// version referencing them (it is in the metadata batch, which every gc
// scan sees) or removed them.
func (l *Layer) releaseParts(ids ...chunkstore.PartID) {
	r := &l.parts
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		delete(r.ids, id)
	}
}

// gcHorizon returns a fresh part id and the ids reserved at that moment.
// A part below the horizon that is not in the set was either never handed
// to a live writer or released by it: committed before the caller's scan
// of versions starts (so the scan sees it), or removed.
func (l *Layer) gcHorizon() (horizon chunkstore.PartID, reserved map[chunkstore.PartID]bool, err error) {
	r := &l.parts
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := l.nextPart()
	if err != nil {
		return 0, nil, err
	}
	horizon = chunkstore.PartID(n)
	reserved = make(map[chunkstore.PartID]bool, len(r.ids))
	for id := range r.ids {
		reserved[id] = true
	}
	return horizon, reserved, nil
}
