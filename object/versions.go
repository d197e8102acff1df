package object

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/ssefs/ssefs/chunkstore"
	"github.com/ssefs/ssefs/dare"
	"github.com/ssefs/ssefs/keyring"
)

// VersionInfo describes one version of a file, for listings.
type VersionInfo struct {
	ID           uint64 `json:"id"`
	Size         int64  `json:"size"`
	Mtime        int64  `json:"mtime"`
	DeleteMarker bool   `json:"delete_marker,omitempty"`
	Current      bool   `json:"current,omitempty"`
	// Owner is the owner and mode the record holds (nil: none recorded),
	// read without checking the record's MAC: for display only. Access
	// decisions use File.VersionOwner of an opened version.
	Owner *VersionOwner `json:"-"`
}

// Name is how the versions view names the version: a UTC timestamp that
// sorts by time in ls, and the version id.
func (v VersionInfo) Name() string {
	name := time.Unix(0, int64(v.ID)).UTC().Format("20060102T150405.000000000Z") + "_" + fmt.Sprint(v.ID)
	if v.DeleteMarker {
		name += "_deleted"
	}
	return name
}

// ParseVersion accepts a version id or a versions-view entry name.
func ParseVersion(s string) (uint64, error) {
	if i := strings.IndexByte(s, '_'); i >= 0 {
		s = strings.TrimSuffix(s[i+1:], "_deleted")
	}
	var id uint64
	if _, err := fmt.Sscan(s, &id); err != nil || id == 0 {
		return 0, fmt.Errorf("%w: bad version %q", ErrInvalid, s)
	}
	return id, nil
}

// Versions lists the versions of a file, oldest first. Only the header of
// each record is decoded, so listing stays fast for fragmented files.
func (l *Layer) Versions(ino Ino) ([]VersionInfo, error) {
	n, err := l.Inode(ino)
	if err != nil {
		return nil, err
	}
	if !isReg(n.Mode) {
		return nil, ErrInvalid
	}
	var out []VersionInfo
	prefix := versionPrefix(ino)
	err = l.db.View(func(txn *metaTxn) error {
		it, err := txn.iterate(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 256})
		if err != nil {
			return err
		}
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var v Version // the record's one decoder, so the layout lives in records.go alone
			if err := it.Item().Value(v.UnmarshalBinary); err != nil {
				return fmt.Errorf("object %d: version record: %w", ino, err)
			}
			vi := VersionInfo{ID: v.ID, Size: v.Size, Mtime: v.Mtime, DeleteMarker: v.Deleted(), Owner: v.Owner}
			vi.Current = vi.ID == n.Version
			out = append(out, vi)
		}
		return nil
	})
	return out, err
}

// OpenVersion returns a read-only content state of one version. It is not
// shared with open handles and needs no Release.
func (l *Layer) OpenVersion(ino Ino, id uint64) (*File, error) {
	_, oek, v, err := l.versionOf(ino, id)
	if err != nil {
		return nil, err
	}
	return &File{l: l, ino: ino, oek: oek, base: v.ID, runs: v.Runs, size: v.Size, mtime: v.Mtime,
		owner: v.Owner, dirty: map[ChunkIndex]*dirtyChunk{}, inl: newInlineParts(l.db, ino), detached: true}, nil
}

// VersionOwner is the owner and mode recorded (and authenticated) with the
// version a File from OpenVersion reads; nil if its record has none (record
// versions 1 and 2). Nil for a File from OpenFile.
func (f *File) VersionOwner() *VersionOwner { return f.owner }

// versionOf loads an object's inode, its unsealed key and one of its
// versions, authenticated.
func (l *Layer) versionOf(ino Ino, id uint64) (*Inode, keyring.ObjectKey, *Version, error) {
	var oek keyring.ObjectKey
	n, err := l.Inode(ino)
	if err != nil {
		return nil, oek, nil, err
	}
	if oek, err = l.objectKey(n); err != nil {
		return nil, oek, nil, err
	}
	v, err := l.loadVersion(n, id, oek)
	return n, oek, v, err
}

// Restore makes version id the current content again, as a new version
// sharing its parts (S3's copy of a version onto its own key). A deleted
// file gets its last name back if that name is free.
func (l *Layer) Restore(ino Ino, id uint64) (*VersionInfo, error) {
	if f := l.openState(ino); f != nil {
		if err := f.Commit(); err != nil {
			return nil, err
		}
	}
	_, oek, old, err := l.versionOf(ino, id)
	if err != nil {
		return nil, err
	}
	if old.Deleted() {
		return nil, fmt.Errorf("%w: version %d is a delete marker", ErrInvalid, id)
	}
	now := time.Now().UnixNano()
	v := &Version{Size: old.Size, Mtime: now, Runs: old.Runs}
	var relinked nameRef
	// The restored copy is a new commit: it records the owner and mode the
	// file has now, not those of the version it copies.
	err = l.mutate(commitNow, func(txn *metaTxn) error {
		n, err := l.getInode(txn, ino)
		if err != nil {
			return err
		}
		relink := n.Nlink == 0
		if relink {
			if relinked, err = l.readRelink(txn, n); err != nil {
				return err
			}
		}
		v.ID = nextVersionID(n.Version, now)
		if err := l.applyLockDefault(txn, ino, v.ID, now); err != nil { // reads, then its first write
			return err
		}
		if relink {
			if err := l.relinkDeleted(txn, n, relinked); err != nil {
				return err
			}
		}
		v.Owner = &VersionOwner{Mode: n.Mode, UID: n.UID, GID: n.GID}
		v.Seal(oek[:], ino)
		b, _ := v.MarshalBinary()
		if err := txn.putBytes(versionKey(ino, v.ID), b); err != nil {
			return err
		}
		n.Version, n.Size, n.Mtime, n.Ctime = v.ID, v.Size, v.Mtime, now
		return l.putInode(txn, n)
	})
	if err != nil {
		return nil, err
	}
	l.reloadOpen(ino, v)
	l.notify(Change{Ino: ino})
	if relinked.name != "" {
		l.notify(Change{Parent: relinked.parent, Name: relinked.name})
	}
	return &VersionInfo{ID: v.ID, Size: v.Size, Mtime: v.Mtime, Current: true}, nil
}

// readRelink does the checks and reads of relinkDeleted, before the
// mutation's first write (metaTxn's rule), and returns the name to restore.
func (l *Layer) readRelink(txn *metaTxn, n *Inode) (nameRef, error) {
	item, err := txn.getItem(deletedKey(n.Ino))
	if err != nil {
		return nameRef{}, fmt.Errorf("object %d is deleted and its former name is unknown: %w", n.Ino, ErrNotFound)
	}
	var loc deletedRecord
	if err := item.Value(loc.UnmarshalBinary); err != nil || !loc.Named {
		return nameRef{}, fmt.Errorf("object %d is deleted and its name was taken over: %w", n.Ino, ErrExists)
	}
	ref := nameRef{parent: loc.Parent, name: loc.Name}
	if _, err := getDirent(txn, ref.parent, ref.name); err == nil {
		return nameRef{}, fmt.Errorf("cannot restore %q: %w", ref.name, ErrExists)
	}
	if _, err := tombstoneOf(txn, n.Ino); err != nil {
		return nameRef{}, err
	}
	if _, err := l.getInode(txn, ref.parent); err != nil {
		return nameRef{}, err
	}
	return ref, nil
}

// relinkDeleted puts a deleted object back under the name its tombstone
// records, which readRelink found before the mutation's first write.
func (l *Layer) relinkDeleted(txn *metaTxn, n *Inode, ref nameRef) error {
	if err := l.clearTombstone(txn, n.Ino); err != nil {
		return err
	}
	n.Nlink = 1
	if err := l.touchDir(txn, ref.parent, time.Now().UnixNano(), 0); err != nil {
		return err
	}
	return putDirent(txn, ref.parent, ref.name, Dirent{Ino: n.Ino, Mode: n.Mode & syscall.S_IFMT})
}

// reloadOpen points the open content state of ino, if any, at version v.
func (l *Layer) reloadOpen(ino Ino, v *Version) {
	f := l.openState(ino)
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drainLocked()
	f.dropDirty()
	f.base, f.size, f.mtime, f.modified, f.refused = v.ID, v.Size, v.Mtime, false, nil
	f.setRuns(append([]Run(nil), v.Runs...)) // windows decrypted from the old runs are stale
}

// Purge permanently removes versions of ino: the one given, or with
// allNoncurrent every version but the current one. Parts that no remaining
// version references are deleted. Purging the current version makes the
// newest remaining one current; purging the last one removes the object and
// its name.
func (l *Layer) Purge(ino Ino, id uint64, allNoncurrent bool) (purged int, freed int64, err error) {
	if f := l.openState(ino); f != nil {
		if err := f.Commit(); err != nil {
			return 0, 0, err
		}
	}
	vs, err := l.Versions(ino)
	if err != nil {
		return 0, 0, err
	}
	drop := map[uint64]bool{}
	for _, v := range vs {
		if (allNoncurrent && !v.Current) || (!allNoncurrent && v.ID == id) {
			drop[v.ID] = true
		}
	}
	if !allNoncurrent && !drop[id] {
		return 0, 0, fmt.Errorf("object %d has no version %d: %w", ino, id, ErrNotFound)
	}
	return l.purgeVersions(ino, drop)
}

// purgeVersions deletes the given versions in one transaction and then the
// parts only they referenced. Part files are removed after the commit: a
// crash in between leaves unreferenced parts for gc, never a dangling one.
func (l *Layer) purgeVersions(ino Ino, drop map[uint64]bool) (int, int64, error) {
	if len(drop) == 0 {
		return 0, 0, nil
	}
	var dead []Run
	var newCur *Version
	var names []nameRef
	err := l.mutate(commitNow, func(txn *metaTxn) error {
		dead, newCur, names = nil, nil, nil
		n, err := l.getInode(txn, ino)
		if err != nil {
			return err
		}
		if err := l.checkPurge(txn, ino, drop); err != nil {
			return err // object lock: docs/LOCK.md
		}
		live := map[chunkstore.PartID]bool{}
		var keep []*Version
		it, err := txn.iterate(badger.IteratorOptions{Prefix: versionPrefix(ino), PrefetchValues: true})
		if err != nil {
			return err
		}
		for it.Rewind(); it.Valid(); it.Next() {
			var v Version
			if err := it.Item().Value(v.UnmarshalBinary); err != nil {
				it.Close()
				return err
			}
			if drop[v.ID] {
				dead = append(dead, v.Runs...)
				continue
			}
			keep = append(keep, &v)
			for _, r := range v.Runs {
				live[r.Part] = true
			}
		}
		it.Close()
		// What the end of the purge reads is read before its first write.
		var relink *nameRef
		var tomb tombstoneState
		switch {
		case len(keep) == 0:
			if names, tomb, err = l.readRemoval(txn, n); err != nil {
				return err
			}
		case drop[n.Version] && n.Nlink == 0 && !keep[len(keep)-1].Deleted():
			ref, err := l.readRelink(txn, n)
			if err != nil {
				return err
			}
			relink = &ref
		}
		for id := range drop {
			if err := txn.delete(versionKey(ino, id)); err != nil {
				return err
			}
			if err := txn.delete(lockKey(ino, id)); err != nil { // an expired lock goes with its version
				return err
			}
		}
		dead = deadRuns(dead, live)
		for _, r := range dead {
			if err := l.storeOf(r).dropIn(txn, r.Part); err != nil {
				return err
			}
		}
		switch {
		case len(keep) == 0:
			return l.removeObject(txn, n, names, tomb)
		case drop[n.Version]:
			newCur = keep[len(keep)-1]
			if relink != nil {
				// Removing a delete marker undeletes the file, as in S3.
				if err := l.relinkDeleted(txn, n, *relink); err != nil {
					return err
				}
				names = append(names, *relink)
			}
			n.Version, n.Size, n.Mtime, n.Ctime = newCur.ID, newCur.Size, newCur.Mtime, time.Now().UnixNano()
			if newCur.Deleted() && n.Nlink > 0 {
				newCur = nil // keep the name; the newest left is a marker: the file reads empty
				n.Size = 0
			}
			return l.putInode(txn, n)
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	var freed int64
	seen := map[chunkstore.PartID]bool{}
	for _, r := range dead {
		if seen[r.Part] {
			continue
		}
		seen[r.Part] = true
		sz, err := l.storeOf(r).free(r.Part, dare.EncryptedSize(r.PartLen))
		freed += sz
		if err != nil {
			return len(drop), freed, err
		}
	}
	if newCur != nil {
		l.reloadOpen(ino, newCur)
	}
	l.notify(Change{Ino: ino})
	for _, nm := range names {
		l.notify(Change{Parent: nm.parent, Name: nm.name})
	}
	return len(drop), freed, nil
}

// deadRuns keeps one run per part that no live version references.
func deadRuns(runs []Run, live map[chunkstore.PartID]bool) []Run {
	var out []Run
	seen := map[chunkstore.PartID]bool{}
	for _, r := range runs {
		if !live[r.Part] && !seen[r.Part] {
			seen[r.Part] = true
			out = append(out, r)
		}
	}
	return out
}

// readRemoval reads what removeObject reads, before the mutation's first
// write (metaTxn's rule), and returns the names of n, which go with it: S3
// deletes a key whose last version is deleted.
func (l *Layer) readRemoval(txn *metaTxn, n *Inode) ([]nameRef, tombstoneState, error) {
	var names []nameRef
	if n.Nlink > 0 {
		var err error
		if names, err = l.namesOf(txn, n.Ino); err != nil {
			return nil, tombstoneState{}, err
		}
		for _, nm := range names {
			if _, err := l.getInode(txn, nm.parent); err != nil {
				return nil, tombstoneState{}, err
			}
		}
	}
	tomb, err := tombstoneOf(txn, n.Ino)
	return names, tomb, err
}

// removeObject deletes an object that has no versions left and its names,
// and tombstone, which readRemoval found.
func (l *Layer) removeObject(txn *metaTxn, n *Inode, names []nameRef, tomb tombstoneState) error {
	now := time.Now().UnixNano()
	for _, nm := range names {
		if err := txn.delete(direntKey(nm.parent, nm.name)); err != nil {
			return err
		}
		if err := l.touchDir(txn, nm.parent, now, 0); err != nil {
			return err
		}
	}
	l.forgetKey(n.Ino)
	return l.purgeObject(txn, n, tomb)
}

type nameRef struct {
	parent Ino
	name   string
}

// namesOf finds the directory entries of ino by scanning dirents; only
// purging the last version of a linked file needs it.
func (l *Layer) namesOf(txn *metaTxn, ino Ino) ([]nameRef, error) {
	var out []nameRef
	it, err := txn.iterate(badger.IteratorOptions{Prefix: prefixKey(pfxDirent), PrefetchValues: true})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		var d Dirent
		if err := it.Item().Value(d.UnmarshalBinary); err != nil {
			return nil, err
		}
		if d.Ino == ino {
			k := it.Item().Key()
			out = append(out, nameRef{parent: keyIno(k), name: keyName(k)})
		}
	}
	return out, nil
}

// ResolvePath finds the object at a slash-separated path relative to the
// root. The last component may name a deleted file (its tombstone).
func (l *Layer) ResolvePath(rel string) (*Inode, error) {
	cur := RootIno
	parts := strings.FieldsFunc(rel, func(r rune) bool { return r == '/' })
	for i, p := range parts {
		n, err := l.Lookup(cur, p)
		if errors.Is(err, ErrNotFound) && i == len(parts)-1 {
			return l.LookupDeleted(cur, p)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", strings.Join(parts[:i+1], "/"), err)
		}
		cur = n.Ino
	}
	return l.Attr(cur)
}
