//go:build !linux

package chunkstore

import "os"

// fdatasync falls back to a full fsync where fdatasync is unavailable.
func fdatasync(f *os.File) error { return f.Sync() }

// fadviseWillNeed is a no-op where posix_fadvise is not available.
func fadviseWillNeed(f *os.File) {}
