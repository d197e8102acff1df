package object

import "fmt"

// The free-space guard of the store (store.Space) seen from the object
// layer: data writes and operations that add metadata are refused with
// store.ErrNoSpace before they eat the room kept for the metadata database.

// RoomFor returns an error wrapping store.ErrNoSpace if n more bytes of
// data would eat into the space kept for the metadata database. A refused
// write leaves the open's content incomplete: from then on a close (flush,
// the last release, an unmount) commits nothing and reports the refusal,
// so a cp that ran out of space never makes a truncated copy the current
// version, as a failed S3 PUT makes no version. An fsync still commits
// what the writes that were accepted hold (the caller saw the refusal and
// asked for exactly that, as a database retrying after freeing space
// does), and a commit ends the refusal.
func (f *File) RoomFor(n int) error {
	err := f.l.st.Space.CheckData(int64(n))
	if err != nil {
		f.mu.Lock()
		if f.refused == nil {
			f.refused = fmt.Errorf("object %d: a write was refused, the content is incomplete: %w", f.ino, err)
		}
		f.mu.Unlock()
	}
	return err
}

// commitComplete commits unless a write of this open was refused for
// space (then nothing is committed and the refusal is the error, unless
// the refused write was the open's only change).
func (f *File) commitComplete() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.commitCompleteLocked()
}

// commitCompleteLocked is commitComplete; callers hold f.mu.
func (f *File) commitCompleteLocked() error {
	if f.refused != nil {
		f.drainLocked()
		if !f.modified && f.lost == nil {
			f.refused = nil // the refused write was the only change: nothing is lost
			return nil
		}
		return f.refused
	}
	return f.commitLocked()
}

// roomForMeta returns an error wrapping store.ErrNoSpace when the
// filesystem is too full for metadata to grow; unlink, purge and gc never
// call it, so space can always be freed.
func (l *Layer) roomForMeta() error { return l.st.Space.CheckMeta() }

// roomForLog returns an error wrapping store.ErrNoSpace when a metadata
// update that adds no name (setattr, rename) could make Badger write where
// the disk has no block for it (store.Space.CheckLog).
func (l *Layer) roomForLog() error { return l.st.Space.CheckLog() }
