//go:build !linux

package chunkstore

import (
	"errors"
	"os"
)

// mapSupported is false where mappings are not implemented: parts are read
// with pread.
func mapSupported(string) bool { return false }

func mmapPart(*os.File, int64) ([]byte, error) {
	return nil, errors.New("chunkstore: mapping parts is not supported here")
}

func munmapPart([]byte) {}

var errPopulateUnsupported = errors.New("chunkstore: MADV_POPULATE_READ not supported")

func madvisePopulate([]byte) error { return errPopulateUnsupported }

func inPageCache([]byte) (bool, error) { return false, nil }
