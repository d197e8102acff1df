package chunkstore

import "errors"

var (
	// ErrPartNotFound reports a part with no file; the error also matches
	// fs.ErrNotExist.
	ErrPartNotFound = errors.New("chunkstore: part not found")

	// ErrPartSize reports a part file whose size is not the sealed size its
	// record promises: bytes were appended to it, or it was cut short, or
	// another part's file was copied over it. Like ErrPartNotFound it means
	// missing or tampered data, never a part that may be read anyway.
	ErrPartSize = errors.New("chunkstore: part file size does not match its record")

	// ErrPartNotRegular reports a part whose name holds something other
	// than a regular file: a FIFO, a symbolic link, a device, a directory.
	// Such a file is never opened for reading (a FIFO would block), and,
	// like ErrPartNotFound, it means missing or tampered data.
	ErrPartNotRegular = errors.New("chunkstore: part is not a regular file")

	// ErrPartExists reports a Write to an id that already has a file; part
	// files are never rewritten. The error also matches fs.ErrExist.
	ErrPartExists = errors.New("chunkstore: part already exists")

	// ErrClosed reports use of a Dir after Close.
	ErrClosed = errors.New("chunkstore: dir closed")

	// ErrObjectKey reports an object encryption key that is not 32 bytes.
	ErrObjectKey = errors.New("chunkstore: object key must be 32 bytes")
)
