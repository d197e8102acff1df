package chunkstore

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// errMappedFault is what a hardware fault on a mapped part becomes: the
// file was truncated under the mapping, or the disk failed to deliver a
// page. Either way the read fails (EIO) and the daemon lives on.
var errMappedFault = errors.New("chunkstore: fault reading a mapped part (file truncated or I/O error)")

// catchFault runs fn with faults on mapped memory turned into an error
// instead of a crash of the whole daemon. It applies to the calling
// goroutine only, so every goroutine that reads a mapping must call it;
// the goroutine's previous setting is restored. Panics that are not
// memory faults are passed on unchanged.
func catchFault(fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			f, ok := r.(interface{ Addr() uintptr })
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("%w: at address %#x", errMappedFault, f.Addr())
		}
	}()
	return fn()
}
