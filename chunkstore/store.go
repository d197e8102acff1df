package chunkstore

import "io"

// Store is where sealed parts live. The content layer reaches parts only
// through it, so where a part is kept (a file in a directory, a record in
// the metadata, later an object store) is the implementation's business.
// Parts are written once under an id that is never reused.
type Store interface {
	// Write stores a sealed part. It need not be durable before Sync.
	Write(id PartID, sealed []byte) error
	// Open returns a reader of part id's sealed bytes. encSize is the
	// sealed size the part's record promises: a stored part of any other
	// size fails (here or on every read) with ErrPartSize, a missing one
	// with ErrPartNotFound.
	Open(id PartID, encSize int64) (io.ReaderAt, error)
	// Size is the sealed size of a stored part (ErrPartNotFound if none).
	Size(id PartID) (int64, error)
	// Remove deletes a part; a missing part is not an error.
	Remove(id PartID) error
	// Sync makes written parts durable.
	Sync(ids ...PartID) error
	// Prefetch hints that part id will be read soon; it is only advice.
	Prefetch(id PartID)
	// Walk calls fn for every stored part with its sealed size.
	Walk(fn func(id PartID, size int64) error) error
}

var _ Store = (*Dir)(nil)

// Open is Reader for the Store interface: a part file's size is checked
// on each read (from the size cached when its descriptor opened), so Open
// itself never fails.
func (d *Dir) Open(id PartID, encSize int64) (io.ReaderAt, error) {
	return d.Reader(id, encSize), nil
}
