package object

import "errors"

// Errors of the object layer; the FUSE frontend maps each to an errno.
var (
	ErrNotFound    = errors.New("object: no such entry")
	ErrExists      = errors.New("object: entry exists")
	ErrNotEmpty    = errors.New("object: directory not empty")
	ErrNotDir      = errors.New("object: not a directory")
	ErrIsDir       = errors.New("object: is a directory")
	ErrInvalid     = errors.New("object: invalid argument")
	ErrNoData      = errors.New("object: no such attribute")
	ErrTooBig      = errors.New("object: value too large")
	ErrCorrupt     = errors.New("object: metadata failed authentication")
	ErrNameTooLong = errors.New("object: name too long")
)

// MaxNameLen is the longest entry name, as on ext4.
const MaxNameLen = 255

// MaxXattrSize bounds one extended attribute value, as the kernel does.
const MaxXattrSize = 64 << 10
