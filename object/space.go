package object

// The free-space guard of the store (store.Space) seen from the object
// layer: data writes and operations that add metadata are refused with
// store.ErrNoSpace before they eat the room kept for the metadata database.

// RoomFor returns an error wrapping store.ErrNoSpace if n more bytes of
// data would eat into the space kept for the metadata database.
func (f *File) RoomFor(n int) error { return f.l.st.Space.CheckData(int64(n)) }

// roomForMeta returns an error wrapping store.ErrNoSpace when the
// filesystem is too full for metadata to grow; unlink, purge and gc never
// call it, so space can always be freed.
func (l *Layer) roomForMeta() error { return l.st.Space.CheckMeta() }

// roomForLog returns an error wrapping store.ErrNoSpace when a metadata
// update that adds no name (setattr, rename) could make Badger write where
// the disk has no block for it (store.Space.CheckLog).
func (l *Layer) roomForLog() error { return l.st.Space.CheckLog() }
