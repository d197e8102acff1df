package object

import (
	"errors"
	"slices"
	"strings"
)

// The name cache remembers directory entries (and the absence of names)
// so lookups, creates and unlinks need no Badger read. It is guarded by the
// batch lock (l.db.mu), like the batch it mirrors: it is only filled from
// the batch or the read snapshot (metaTxn.current), only changed by mutations in
// the batch, and cleared with it when pending writes are dropped. So it
// always equals what a read of the batch would return.
//
// Code in this package that changes dirents outside the helpers here
// (versions.go removeObject, relinkDeleted) calls touchDir on the parent,
// which forgets the directory.
//
// A directory created by this mount starts complete (every entry it has is
// cached, so a miss is an answer) and without tombstones, which is what
// makes creating a tree (tar -x, cp -r) read nothing back.
type nameCache struct {
	dirs  map[Ino]*dirNames
	count int
}

type dirNames struct {
	names    map[string]Dirent // Ino 0: known not to exist
	complete bool              // names holds every entry of the directory
	noTombs  bool              // the directory has no tombstones
}

// maxCachedNames bounds the cache; past it, it starts over.
const maxCachedNames = 100_000

func (c *nameCache) dir(d Ino, create bool) *dirNames {
	dn := c.dirs[d]
	if dn == nil && create {
		if c.dirs == nil || c.count >= maxCachedNames {
			c.dirs, c.count = map[Ino]*dirNames{}, 0
		}
		dn = &dirNames{names: map[string]Dirent{}}
		c.dirs[d] = dn
	}
	return dn
}

func (c *nameCache) set(parent Ino, name string, d Dirent) {
	dn := c.dir(parent, true)
	if _, ok := dn.names[name]; !ok {
		c.count++
	}
	dn.names[name] = d
}

func (c *nameCache) clear() { c.dirs, c.count = nil, 0 }

// dirent returns the entry name in parent, from the cache when txn is the
// batch or the read snapshot, caching what it reads.
func (l *Layer) dirent(txn *metaTxn, parent Ino, name string) (Dirent, error) {
	if !txn.current {
		return getDirent(txn, parent, name)
	}
	c := &l.names
	if dn := c.dirs[parent]; dn != nil && txn.mutation {
		if err := txn.checkRead(direntKey(parent, name)); err != nil {
			return Dirent{}, err
		}
	}
	if dn := c.dirs[parent]; dn != nil {
		if d, ok := dn.names[name]; ok {
			if d.Ino == 0 {
				return Dirent{}, ErrNotFound
			}
			return d, nil
		}
		if dn.complete {
			return Dirent{}, ErrNotFound
		}
	}
	d, err := getDirent(txn, parent, name)
	switch {
	case err == nil:
		c.set(parent, name, d)
	case errors.Is(err, ErrNotFound):
		c.set(parent, name, Dirent{})
	}
	return d, err
}

// putDirent writes a dirent in the batch and the cache.
func (l *Layer) putDirent(txn *metaTxn, parent Ino, name string, d Dirent) error {
	if err := putDirent(txn, parent, name, d); err != nil {
		return err
	}
	if txn.current {
		l.names.set(parent, name, d)
	} else {
		l.forgetDir(parent)
	}
	return nil
}

// delDirent deletes a dirent in the batch and the cache.
func (l *Layer) delDirent(txn *metaTxn, parent Ino, name string) error {
	if err := txn.delete(direntKey(parent, name)); err != nil {
		return err
	}
	if txn.current {
		l.names.set(parent, name, Dirent{})
	} else {
		l.forgetDir(parent)
	}
	return nil
}

// newDirCache records that dir was just created: empty, no tombstones.
func (l *Layer) newDirCache(dir Ino) {
	dn := l.names.dir(dir, true)
	dn.complete, dn.noTombs = true, true
}

// forgetDir drops what the cache knows about dir.
func (l *Layer) forgetDir(dir Ino) {
	if dn := l.names.dirs[dir]; dn != nil {
		l.names.count -= len(dn.names)
		delete(l.names.dirs, dir)
	}
}

// tomb returns the deleted object last named parent/name, answering from
// the cache for directories known to have no tombstones.
func (l *Layer) tomb(txn *metaTxn, parent Ino, name string) (Ino, error) {
	if txn.current {
		if dn := l.names.dirs[parent]; dn != nil && dn.noTombs {
			if txn.mutation {
				if err := txn.checkRead(tombKey(parent, name)); err != nil {
					return 0, err
				}
			}
			return 0, ErrNotFound
		}
	}
	return getTomb(txn, parent, name)
}

// tombAdded notes that parent may now have tombstones.
func (l *Layer) tombAdded(parent Ino) {
	if dn := l.names.dirs[parent]; dn != nil {
		dn.noTombs = false
	}
}

// listedDir records the complete listing of dir (under the batch lock,
// from a snapshot with nothing pending).
func (l *Layer) listedDir(dir Ino, ents []DirEntry) {
	if len(ents) > maxCachedNames/4 {
		return // not worth evicting everything else for
	}
	noTombs := false
	if dn := l.names.dirs[dir]; dn != nil {
		noTombs = dn.noTombs
	}
	l.forgetDir(dir)
	dn := l.names.dir(dir, true)
	for _, e := range ents {
		dn.names[e.Name] = Dirent{Ino: e.Ino, Mode: e.Mode}
	}
	l.names.count += len(ents)
	dn.complete, dn.noTombs = true, noTombs
}

// cachedListing returns the entries of dir in name order when the cache
// knows every one (with the batch lock, as a read of the batch).
func (l *Layer) cachedListing(dir Ino) (out []DirEntry, ok bool) {
	l.db.mu.Lock()
	defer l.db.mu.Unlock()
	dn := l.names.dirs[dir]
	if dn == nil || !dn.complete {
		return nil, false
	}
	out = make([]DirEntry, 0, len(dn.names))
	for name, d := range dn.names {
		if d.Ino != 0 {
			out = append(out, DirEntry{Name: name, Ino: d.Ino, Mode: d.Mode})
		}
	}
	slices.SortFunc(out, func(a, b DirEntry) int { return strings.Compare(a.Name, b.Name) })
	return out, true
}
