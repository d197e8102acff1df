package object

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/ssefs/ssefs/chunkstore"
	"github.com/ssefs/ssefs/dare"
)

// errCompactRace aborts a compaction that lost a race with an open or a
// commit; the file is simply left for the next pass.
var errCompactRace = errors.New("object: file changed during compaction")

// fragmented reports whether runs use many more runs than needed: random
// writes leave patch runs that each cost a decryption to read.
func fragmented(runs []Run) bool {
	var mapped int64
	for _, r := range runs {
		mapped += r.Len
	}
	ideal := int((mapped+partChunks*ChunkSize-1)/(partChunks*ChunkSize)) + 1
	return len(runs) > 8 && len(runs) > 2*ideal
}

// Compact rewrites the current version of a fragmented file (many small
// parts left by random writes) into fresh 4 MiB parts. The content and the
// version id stay the same; only the run list is replaced, so readers of
// any version see the same bytes. Parts no version references any more
// are freed. Open files are skipped, and so is an object removed since
// the caller listed it (gc lists every object first, while the kernel's
// forgets purge removed ones).
func (l *Layer) Compact(ino Ino) (compacted bool, freed int64, err error) {
	compacted, freed, err = l.compact(ino)
	if errors.Is(err, ErrNotFound) {
		if _, ierr := l.Inode(ino); errors.Is(ierr, ErrNotFound) {
			return false, 0, nil
		}
	}
	return compacted, freed, err
}

func (l *Layer) compact(ino Ino) (compacted bool, freed int64, err error) {
	if l.isOpen(ino) {
		return false, 0, nil
	}
	n, err := l.Inode(ino)
	if err != nil || !isReg(n.Mode) || n.Version == 0 {
		return false, 0, err
	}
	if locked, err := l.LockedVersions(ino); err != nil || locked[n.Version].Version != 0 {
		return false, 0, err // a locked version's parts are never rewritten: docs/LOCK.md
	}
	src, err := l.OpenVersion(ino, n.Version)
	if err != nil || src.size == 0 || !fragmented(src.runs) {
		return false, 0, err
	}
	if l.st.Space.CheckData(src.size) != nil {
		return false, 0, nil // it writes before it frees: not on a full disk (gc must still free space)
	}
	var newRuns []Run
	var written []chunkstore.PartID
	var writtenBytes int64
	var reserved []chunkstore.PartID // released once committed or removed: gc must not see them before
	defer func() { l.releaseParts(reserved...) }()
	parts := l.fileParts() // compaction writes part files: its parts are far too big to go inline
	cleanup := func() {
		for _, id := range written {
			parts.Remove(id)
		}
	}
	buf := make([]byte, partChunks*ChunkSize)
	for _, span := range mappedSpans(src.runs) {
		for off := span[0]; off < span[1]; off += partChunks * ChunkSize {
			length := min(span[1]-off, partChunks*ChunkSize, src.size-off)
			if length <= 0 {
				break
			}
			if _, err := src.ReadAt(buf[:length], off); err != nil && length > 0 && !isEOF(err) {
				cleanup()
				return false, 0, err
			}
			id, err := l.reservePart()
			if err != nil {
				cleanup()
				return false, 0, err
			}
			reserved = append(reserved, id)
			sealed, err := chunkstore.SealPart(l.cipher, src.oek[:], id, buf[:length])
			if err == nil {
				var got chunkstore.PartID
				if got, sealed, err = l.storePart(src.oek[:], id, sealed); got != id {
					id = got
					reserved = append(reserved, id)
				}
			}
			if err != nil {
				cleanup()
				return false, 0, err
			}
			written = append(written, id)
			writtenBytes += int64(len(sealed))
			newRuns = append(newRuns, Run{Off: off, Len: length, Part: id, PartLen: length})
		}
	}
	if err := parts.Sync(written...); err != nil {
		cleanup()
		return false, 0, err
	}
	// The same version: it keeps its recorded owner (none for a record of
	// an older store, which then stays in record version 2).
	v := &Version{ID: n.Version, Size: src.size, Mtime: src.mtime, Owner: src.owner, Runs: newRuns}
	v.Seal(src.oek[:], ino)
	var dead []Run
	// Hold both locks across the commit: an OpenFile waiting for filesMu
	// then loads the new run list, never the old one whose parts go.
	l.nsMu.Lock()
	l.filesMu.Lock()
	_, open := l.files[ino]
	err = errCompactRace
	if !open {
		err = l.db.mutate(commitNow, func(txn *metaTxn) error {
			cur, err := l.getInode(txn, ino)
			if err != nil {
				return err
			}
			if cur.Version != v.ID {
				return errCompactRace
			}
			if dead, err = l.unreferenced(txn, ino, src.runs, v); err != nil {
				return err
			}
			if err := txn.put(versionKey(ino, v.ID), v); err != nil {
				return err
			}
			for _, r := range dead {
				if err := l.storeOf(r).dropIn(txn, r.Part); err != nil {
					return err
				}
			}
			return nil
		})
	}
	l.filesMu.Unlock()
	l.nsMu.Unlock()
	if err != nil {
		cleanup()
		if errors.Is(err, errCompactRace) {
			return false, 0, nil
		}
		return false, 0, fmt.Errorf("object %d: compaction: %w", ino, err)
	}
	for _, r := range dead {
		sz, _ := l.storeOf(r).free(r.Part, dare.EncryptedSize(r.PartLen)) // a part left behind is gc's
		freed += sz
	}
	l.notify(Change{Ino: ino})
	return true, freed - writtenBytes, nil
}

// unreferenced returns one run per part of runs that no version of ino
// references once next replaces the stored version of its id.
func (l *Layer) unreferenced(txn *metaTxn, ino Ino, runs []Run, next *Version) ([]Run, error) {
	live := map[chunkstore.PartID]bool{}
	it, err := txn.iterate(badger.IteratorOptions{Prefix: versionPrefix(ino), PrefetchValues: true})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		var v Version
		if err := it.Item().Value(v.UnmarshalBinary); err != nil {
			return nil, err
		}
		if v.ID == next.ID {
			continue
		}
		for _, r := range v.Runs {
			live[r.Part] = true
		}
	}
	for _, r := range next.Runs {
		live[r.Part] = true
	}
	return deadRuns(runs, live), nil
}

// CompactAll compacts every fragmented file that is not open and returns
// how many it rewrote and the bytes that saved.
func (l *Layer) CompactAll() (int, int64, error) {
	var inos []Ino
	err := l.db.View(func(txn *metaTxn) error {
		it, err := txn.iterate(badger.IteratorOptions{Prefix: prefixKey(pfxInode)})
		if err != nil {
			return err
		}
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			inos = append(inos, keyIno(it.Item().Key()))
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	count, saved := 0, int64(0)
	for _, ino := range inos {
		ok, freed, err := l.Compact(ino)
		if err != nil {
			return count, saved, err
		}
		if ok {
			count++
			saved += freed
		}
	}
	return count, saved, nil
}

// mappedSpans merges runs into [first, end) byte ranges without holes, so
// compaction keeps a sparse file sparse.
func mappedSpans(runs []Run) [][2]int64 {
	var out [][2]int64
	for _, r := range runs {
		if k := len(out); k > 0 && out[k-1][1] == r.Off {
			out[k-1][1] = r.End()
			continue
		}
		out = append(out, [2]int64{r.Off, r.End()})
	}
	return out
}
