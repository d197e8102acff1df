package dare

import (
	"crypto/cipher"
	"runtime"
	"sync"
)

// parallelMin is the package count from which Encrypt, Decrypt and DecryptAt
// spread packages over CPUs; below it goroutine start-up costs more than it
// saves.
const parallelMin = 4

// forRanges calls fn on contiguous ranges [lo, hi) that together cover
// packages [0, n), one range per worker, each worker with its own AEAD. It
// returns the error of the lowest range that failed.
func forRanges(c Cipher, key []byte, n int64, fn func(aead cipher.AEAD, lo, hi int64) error) error {
	aead, err := newAEAD(c, key) // validates key and cipher before any goroutine starts
	if err != nil {
		return err
	}
	workers := int64(runtime.GOMAXPROCS(0))
	if n < parallelMin || workers < 2 {
		return fn(aead, 0, n)
	}
	workers = min(workers, n)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := int64(1); w < workers; w++ {
		wg.Go(func() {
			a, err := newAEAD(c, key)
			if err == nil {
				err = fn(a, n*w/workers, n*(w+1)/workers)
			}
			errs[w] = err
		})
	}
	errs[0] = fn(aead, 0, n/workers)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
