package object

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/ssefs/ssefs/chunkstore"
)

// MaxFileSize is the largest file size: a write or truncate past it fails
// with ErrFileTooBig (EFBIG), as on ext4, instead of overflowing the
// offset arithmetic of chunks and runs near 2^63.
const MaxFileSize = 1 << 62

var (
	// ErrFileTooBig: a write or truncate past MaxFileSize.
	ErrFileTooBig = errors.New("object: file too large")
	// ErrWriteBack marks a failure of the write-back pipeline (sealing,
	// writing or syncing parts) other than a full disk or quota: EIO.
	ErrWriteBack = errors.New("object: write-back failed")
)

// writeBackError wraps a failure to seal, write or sync parts (err names
// the object). A full disk
// or quota stays recognisable (ENOSPC, EDQUOT at the FUSE edge, so a user
// knows to free space); anything else (EPERM of an immutable directory,
// EIO of the disk, a vanished part) becomes ErrWriteBack, EIO, whatever
// errno the store's file system chose.
func writeBackError(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, ErrWriteBack) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrWriteBack, err)
}

// latch records a failure that lost data the write-back pipeline held
// (a write buffer that could not be merged back, parts whose fdatasync
// failed or that vanished before the commit). From then on every write,
// truncate and commit of this open state fails with it, so no version is
// ever made from content with a gap; the last Release discards the state,
// and the next open starts again from the last committed version.
// Callers hold f.mu.
func (f *File) latch(err error) error {
	if f.lost == nil {
		f.lost = err
	}
	return f.lost
}

// discardUncommitted removes the parts spilled since the last commit (no
// version references them) and ends their reservations, so a failed
// commit on a full disk gives the space back at once. Callers hold f.mu
// and have drained the pipeline.
func (f *File) discardUncommitted() {
	for _, p := range f.pending {
		p.store.Remove(p.id)
	}
	f.releasePending()
	f.pending = nil
}

// releasePending ends the reservations of the pending parts: committed
// (in the metadata batch, which gc's scan sees) or removed.
func (f *File) releasePending() {
	for _, p := range f.pending {
		f.l.releaseParts(p.id)
	}
}

// syncPending makes the parts written since the last commit durable, with
// one Sync per store. The part directory syncs even when no part file is
// pending, as it always has: its Sync also makes durable the shard
// directories created since the last one. Callers hold f.mu.
func (f *File) syncPending() error {
	files := f.l.fileParts()
	if err := syncStore(files, f.pending); err != nil {
		return err
	}
	for i, p := range f.pending {
		if p.store != partStore(files) && !syncedBefore(f.pending[:i], p.store) {
			if err := syncStore(p.store, f.pending); err != nil {
				return err
			}
		}
	}
	return nil
}

// syncedBefore reports whether one of pending is in store s.
func syncedBefore(pending []pendingPart, s partStore) bool {
	for _, p := range pending {
		if p.store == s {
			return true
		}
	}
	return false
}

// syncStore syncs the parts of pending that s holds.
func syncStore(s partStore, pending []pendingPart) error {
	n := 0
	for _, p := range pending {
		if p.store == s {
			n++
		}
	}
	ids := make([]chunkstore.PartID, 0, n)
	for _, p := range pending {
		if p.store == s {
			ids = append(ids, p.id)
		}
	}
	return s.Sync(ids...)
}
