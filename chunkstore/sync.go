package chunkstore

import (
	"fmt"
	"os"
	"sync"

	"github.com/ssefs/ssefs/internal/storefile"
)

// syncWorkers bounds concurrent fdatasync calls: devices with deep queues
// finish a batch much sooner in parallel, and a bound keeps fd use modest.
const syncWorkers = 8

// Sync makes parts durable: it fdatasyncs each part file, then fsyncs each
// distinct shard directory once (and any directory that gained a new shard
// since the last Sync). After it returns nil the parts survive power loss.
func (d *Dir) Sync(ids ...PartID) error {
	if d.closed.Load() {
		return ErrClosed
	}
	shards := make(map[string]struct{})
	for _, id := range ids {
		shards[d.shardDir(id)] = struct{}{}
	}
	err := parallel(len(ids), func(i int) error {
		f, err := storefile.Open(d.path(ids[i]), os.O_RDONLY, 0)
		if err != nil {
			return d.notFound(ids[i], err)
		}
		defer f.Close()
		if err := fdatasync(f); err != nil {
			return fmt.Errorf("chunkstore: syncing part %v: %w", ids[i], err)
		}
		return nil
	})
	if err != nil {
		return err
	}

	// Snapshot the dirty parents without clearing: an entry is dropped
	// only once its fsync succeeded, so a concurrent Sync never returns
	// before the directories its parts depend on are durable.
	d.mu.Lock()
	for dir := range d.dirty {
		shards[dir] = struct{}{}
	}
	d.mu.Unlock()
	dirs := make([]string, 0, len(shards))
	for dir := range shards {
		dirs = append(dirs, dir)
	}
	if err := parallel(len(dirs), func(i int) error { return syncDir(dirs[i]) }); err != nil {
		return err
	}
	d.mu.Lock()
	for _, dir := range dirs {
		delete(d.dirty, dir)
	}
	d.mu.Unlock()
	return nil
}

func syncDir(dir string) error {
	f, err := storefile.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("chunkstore: syncing directory: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("chunkstore: syncing directory %s: %w", dir, err)
	}
	return nil
}

// parallel runs fn(0..n-1) on up to syncWorkers goroutines and returns the
// first error by index.
func parallel(n int, fn func(i int) error) error {
	errs := make([]error, n)
	sem := make(chan struct{}, syncWorkers)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = fn(i)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
