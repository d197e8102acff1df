package object

import (
	"github.com/ssefs/ssefs/chunkstore"
)

// partStore is where the sealed parts of runs live, as the content code
// sees it: a chunkstore.Store plus the two points where a store whose
// parts live in the metadata joins a metadata transaction. Two
// implementations: fileParts (part files, the store's parts directory) and
// inlineParts (small parts as records next to their version).
type partStore interface {
	chunkstore.Store

	// commitIn adds to txn, the transaction of the version that first
	// references part id, what makes the part durable with that version:
	// nothing for a part file (Sync made it durable before), the record
	// of an inline part.
	commitIn(txn *metaTxn, id chunkstore.PartID) error

	// dropIn does in txn, the transaction that removes the last reference
	// to part id, what removing the part needs there (deleting an inline
	// part's record); free does the rest once txn committed.
	dropIn(txn *metaTxn, id chunkstore.PartID) error

	// free finishes removing a part dropIn dropped and returns the sealed
	// bytes that gave back; encSize is the size its run promises. A part
	// file is removed (its size counts even if the unlink fails, as gc
	// reports what it found).
	free(id chunkstore.PartID, encSize int64) (int64, error)

	// keepsSealed reports whether Write keeps the slice it is given, which
	// the caller must then not recycle.
	keepsSealed() bool
}

// fileParts is the part directory as a partStore: part files become
// durable by Sync, before the version that references them commits.
type fileParts struct{ *chunkstore.Dir }

func (fileParts) commitIn(*metaTxn, chunkstore.PartID) error { return nil }
func (fileParts) dropIn(*metaTxn, chunkstore.PartID) error   { return nil }
func (fileParts) keepsSealed() bool                          { return false }

func (p fileParts) free(id chunkstore.PartID, _ int64) (int64, error) {
	var freed int64
	if sz, err := p.Size(id); err == nil {
		freed = sz
	}
	return freed, p.Remove(id)
}

// fileParts is the store's part directory.
func (l *Layer) fileParts() fileParts { return fileParts{l.st.Parts} }

// storeOf is the store holding a committed run's part, for code with no
// open file (purge, compaction): its inline parts are read from and
// dropped in the metadata, with no cache.
func (l *Layer) storeOf(r Run) partStore {
	if r.Inline { // the run's on-disk flag is what says where its part is
		return newInlineParts(l.db, 0)
	}
	return l.fileParts()
}

// storeOf is the store holding run r's part for this open file, whose
// inline parts (written since the last commit, or kept from it) it
// reads from memory.
func (f *File) storeOf(r Run) partStore {
	if r.Inline {
		return f.inl
	}
	return f.l.fileParts()
}

// pendingPart is a part written since the last commit, and its store.
type pendingPart struct {
	id    chunkstore.PartID
	store partStore
}
