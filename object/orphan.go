package object

import (
	"errors"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// orphan records that n lost its last name and holds nothing worth
// keeping. It is not purged yet: the kernel may still reference it (an open
// racing the unlink, a process whose cwd it is, an fstat of an open file),
// and POSIX wants those to keep working. Forget purges it once the kernel
// lets go; Open purges orphans left by a previous mount.
func (l *Layer) orphan(txn *metaTxn, n *Inode) error {
	n.Nlink = 0
	mark, _ := orphanRecord{}.MarshalBinary()
	if err := txn.putBytes(orphanKey(n.Ino), mark); err != nil {
		return err
	}
	l.orphans.add(n.Ino)
	return l.putInode(txn, n)
}

// orphanSet holds every object orphaned by this mount (a superset: a
// dropped batch or a relink leaves entries behind, which purgeOrphan
// checks against Badger). Orphans of earlier mounts are swept by Open, so
// Forget can ignore every object not in it.
type orphanSet struct {
	mu   sync.Mutex
	inos map[Ino]struct{}
}

func (s *orphanSet) add(ino Ino) {
	s.mu.Lock()
	if s.inos == nil {
		s.inos = map[Ino]struct{}{}
	}
	s.inos[ino] = struct{}{}
	s.mu.Unlock()
}

func (s *orphanSet) has(ino Ino) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.inos[ino]
	return ok
}

func (s *orphanSet) remove(ino Ino) {
	s.mu.Lock()
	delete(s.inos, ino)
	s.mu.Unlock()
}

// Forget is called when the kernel forgets ino. Orphans are purged in
// batches, one transaction per batch, so an unlink costs about one metadata
// transaction, not two; a batch waits at most forgetDelay. A crash before
// the flush leaves orphans that the next Open sweeps.
func (l *Layer) Forget(ino Ino) error {
	if !l.orphans.has(ino) {
		// Not an orphan. Should it become one later, the kernel must
		// look it up again first, and forgets it again.
		return nil
	}
	l.forgetMu.Lock()
	if l.forgetClosed {
		l.forgetMu.Unlock()
		return nil // after Close: the next Open sweeps it
	}
	l.forgotten = append(l.forgotten, ino)
	flushNow := len(l.forgotten) >= forgetBatch
	if !flushNow && l.forgetTimer == nil {
		l.forgetTimer = time.AfterFunc(forgetDelay, func() { l.flushForgotten() })
	}
	l.forgetMu.Unlock()
	if flushNow {
		return l.flushForgotten()
	}
	return nil
}

const (
	forgetBatch = 128
	forgetDelay = 50 * time.Millisecond
)

// flushForgotten purges the forgotten orphans that no open file uses.
func (l *Layer) flushForgotten() error {
	l.forgetMu.Lock()
	inos := l.forgotten
	l.forgotten = nil
	if l.forgetTimer != nil {
		l.forgetTimer.Stop()
		l.forgetTimer = nil
	}
	l.forgetMu.Unlock()
	if len(inos) == 0 {
		return nil
	}
	// Open files keep their orphans; asked here, as code inside a mutation
	// never takes filesMu.
	open := map[Ino]bool{}
	for _, ino := range inos {
		if l.isOpen(ino) {
			open[ino] = true
		}
	}
	// A batch of its own: deletePrefixes then scans a snapshot, not every
	// pending write, and a purge of 128 objects never meets a full batch.
	// Every object is read before the first is purged (metaTxn's rule).
	return l.mutate(commitAlone, func(txn *metaTxn) error {
		purges := make([]orphanPurge, 0, len(inos))
		planned := make(map[Ino]bool, len(inos))
		for _, ino := range inos {
			if open[ino] || planned[ino] {
				continue // a second purge of ino would find its records gone
			}
			planned[ino] = true
			p, err := l.readOrphan(txn, ino)
			if err != nil {
				return err
			}
			purges = append(purges, p)
		}
		for _, p := range purges {
			if err := l.purgeOrphan(txn, p); err != nil {
				return err
			}
		}
		return nil
	})
}

// orphanPurge is what purging one orphan needs, read before any write.
type orphanPurge struct {
	ino    Ino
	marked bool   // it has an orphan record
	n      *Inode // its inode; nil when gone
	tomb   tombstoneState
}

func (l *Layer) readOrphan(txn *metaTxn, ino Ino) (orphanPurge, error) {
	p := orphanPurge{ino: ino}
	var err error
	if p.marked, err = txn.has(orphanKey(ino)); err != nil || !p.marked {
		return p, err
	}
	p.n, err = l.getInode(txn, ino)
	if errors.Is(err, ErrNotFound) {
		return p, nil
	}
	if err != nil || p.n.Nlink > 0 {
		return p, err
	}
	p.tomb, err = tombstoneOf(txn, ino)
	return p, err
}

func (l *Layer) purgeOrphan(txn *metaTxn, p orphanPurge) error {
	switch {
	case !p.marked:
		return nil
	case p.n == nil:
		return txn.delete(orphanKey(p.ino))
	case p.n.Nlink > 0:
		return nil
	}
	return l.purgeObject(txn, p.n, p.tomb)
}

// sweepOrphans purges the orphans a previous mount left: no kernel holds
// them any more.
func (l *Layer) sweepOrphans() error {
	var inos []Ino
	err := l.db.View(func(txn *metaTxn) error {
		it, err := txn.iterate(badger.IteratorOptions{Prefix: prefixKey(pfxOrphan)})
		if err != nil {
			return err
		}
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			inos = append(inos, keyIno(it.Item().Key()))
		}
		return nil
	})
	if err != nil {
		return err
	}
	l.forgetMu.Lock()
	l.forgotten = append(l.forgotten, inos...)
	l.forgetMu.Unlock()
	return l.flushForgotten()
}
