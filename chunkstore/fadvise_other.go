//go:build !linux

package chunkstore

import "os"

// fadviseWillNeed is a no-op where posix_fadvise is not available.
func fadviseWillNeed(f *os.File) {}
