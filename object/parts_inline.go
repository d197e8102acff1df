package object

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/dgraph-io/badger/v4"

	"github.com/ssefs/ssefs/chunkstore"
	"github.com/ssefs/ssefs/dare"
)

// inlineParts keeps the sealed parts of small files as metadata records
// (p + id), so committing such a file costs one metadata write instead of
// a part file and an fsync. A written part stays in memory until commitIn
// puts its record in the transaction of the version that references it:
// the part and its version become durable together, and a version that
// never commits leaves nothing behind. An open file has its own
// inlineParts, whose memory also keeps the parts of its last commit so
// that reading them back needs no metadata read.
type inlineParts struct {
	db  *metaDB
	ino Ino // the object, for errors; 0 when not one file's

	mu  sync.Mutex
	mem map[chunkstore.PartID]inlinePart // pending parts, and those kept from the last commit
}

// inlinePart is a sealed inline part held in memory.
type inlinePart struct {
	sealed  []byte
	pending bool // written, no committed version references it yet
}

var _ partStore = (*inlineParts)(nil)

// newInlineParts returns the inline parts of object ino (0: of none); its
// map is made by the first Write, as most open files never write one.
func newInlineParts(db *metaDB, ino Ino) *inlineParts {
	return &inlineParts{db: db, ino: ino}
}

// Write keeps sealed (not a copy) until the version's commit.
func (s *inlineParts) Write(id chunkstore.PartID, sealed []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mem == nil {
		s.mem = map[chunkstore.PartID]inlinePart{}
	}
	s.mem[id] = inlinePart{sealed: sealed, pending: true}
	return nil
}

func (s *inlineParts) keepsSealed() bool { return true }

// Open reads a part from memory, else from its record, which must hold
// exactly encSize bytes.
func (s *inlineParts) Open(id chunkstore.PartID, encSize int64) (io.ReaderAt, error) {
	if b, ok := s.cached(id); ok {
		return dare.Bytes(b), nil
	}
	b, err := s.load(id)
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != encSize {
		return nil, fmt.Errorf("object %d inline part %d: %w: %d bytes, its run says %d", s.ino, id, chunkstore.ErrPartSize, len(b), encSize)
	}
	return dare.Bytes(b), nil
}

func (s *inlineParts) cached(id chunkstore.PartID) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.mem[id]
	return p.sealed, ok
}

// load reads a part's record; a missing one is ErrPartNotFound.
func (s *inlineParts) load(id chunkstore.PartID) ([]byte, error) {
	var b []byte
	err := s.db.View(func(txn *metaTxn) error {
		item, err := txn.getItem(inlineKey(id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("object %d inline part %d: %w", s.ino, id, chunkstore.ErrPartNotFound)
		}
		if err != nil {
			return fmt.Errorf("object %d inline part %d: %w", s.ino, id, err)
		}
		b, err = item.ValueCopy(nil)
		return err
	})
	return b, err
}

// Size is the sealed size of a part in memory or in its record.
func (s *inlineParts) Size(id chunkstore.PartID) (int64, error) {
	if b, ok := s.cached(id); ok {
		return int64(len(b)), nil
	}
	b, err := s.load(id)
	return int64(len(b)), err
}

// Remove forgets a pending part, which has no record yet, and deletes the
// record of any other.
func (s *inlineParts) Remove(id chunkstore.PartID) error {
	s.mu.Lock()
	pending := s.mem[id].pending
	delete(s.mem, id)
	s.mu.Unlock()
	if pending {
		return nil
	}
	if err := s.db.mutate(commitNow, func(txn *metaTxn) error { return txn.delete(inlineKey(id)) }); err != nil {
		return fmt.Errorf("object %d inline part %d: removing: %w", s.ino, id, err)
	}
	return nil
}

// Sync does nothing: an inline part is durable with the metadata
// transaction commitIn joins it to.
func (s *inlineParts) Sync(...chunkstore.PartID) error { return nil }

// Prefetch does nothing: inline parts are read from memory or one record.
func (s *inlineParts) Prefetch(chunkstore.PartID) {}

// Walk calls fn for every inline part record, in id order.
func (s *inlineParts) Walk(fn func(id chunkstore.PartID, size int64) error) error {
	return s.db.View(func(txn *metaTxn) error {
		it, err := txn.iterate(badger.IteratorOptions{Prefix: prefixKey(pfxInline)})
		if err != nil {
			return err
		}
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			id := chunkstore.PartID(binary.BigEndian.Uint64(k[len(k)-8:]))
			if err := fn(id, it.Item().ValueSize()); err != nil {
				return err
			}
		}
		return nil
	})
}

// commitIn puts a pending part's record in txn.
func (s *inlineParts) commitIn(txn *metaTxn, id chunkstore.PartID) error {
	b, ok := s.cached(id)
	if !ok {
		return fmt.Errorf("object %d inline part %d: committing: %w", s.ino, id, chunkstore.ErrPartNotFound)
	}
	return txn.putBytes(inlineKey(id), b)
}

// dropIn deletes a part's record in txn.
func (s *inlineParts) dropIn(txn *metaTxn, id chunkstore.PartID) error {
	return txn.delete(inlineKey(id))
}

// free forgets a dropped part; its record went with dropIn's transaction,
// which freed the size its run promises.
func (s *inlineParts) free(id chunkstore.PartID, encSize int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.mem, id)
	return encSize, nil
}

// committed notes that the version referencing live committed: its
// pending parts are kept in memory as committed ones, and parts no longer
// in the file's runs are forgotten.
func (s *inlineParts) committed(live map[chunkstore.PartID]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, p := range s.mem {
		if live[id] {
			s.mem[id] = inlinePart{sealed: p.sealed}
		} else {
			delete(s.mem, id)
		}
	}
}
