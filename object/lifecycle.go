package object

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/ssefs/ssefs/chunkstore"
)

// Rule is a lifecycle rule, S3-style, for a directory subtree (the root's
// rule is the store's). A subdirectory's own rule replaces its parent's.
type Rule struct {
	// KeepNoncurrent keeps this many newest noncurrent versions (0: no limit by count).
	KeepNoncurrent int `json:"keep_noncurrent,omitempty"`
	// NoncurrentDays expires versions noncurrent for longer (0: no limit by age).
	NoncurrentDays int `json:"noncurrent_days,omitempty"`
	// ExpireDeleteMarkers removes a delete marker once no other version is left,
	// and with it the deleted file.
	ExpireDeleteMarkers bool `json:"expire_delete_markers,omitempty"`
}

// Empty reports whether the rule expires nothing.
func (r Rule) Empty() bool {
	return r.KeepNoncurrent == 0 && r.NoncurrentDays == 0 && !r.ExpireDeleteMarkers
}

// SetRule sets (or with an empty rule, clears) the rule of directory dir.
func (l *Layer) SetRule(dir Ino, r Rule) error {
	if r.KeepNoncurrent < 0 || r.NoncurrentDays < 0 {
		return fmt.Errorf("%w: negative lifecycle values", ErrInvalid)
	}
	return l.mutate(commitNow, func(txn *metaTxn) error {
		n, err := l.getInode(txn, dir)
		if err != nil {
			return err
		}
		if !isDir(n.Mode) {
			return ErrNotDir
		}
		if r.Empty() {
			return txn.delete(ruleKey(dir))
		}
		b, _ := ruleRecord(r).MarshalBinary()
		return txn.putBytes(ruleKey(dir), b)
	})
}

// RuleOf returns the rule set on dir itself, if any.
func (l *Layer) RuleOf(dir Ino) (Rule, bool, error) {
	var r Rule
	found := false
	err := l.db.View(func(txn *metaTxn) error {
		item, err := txn.getItem(ruleKey(dir))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		var rec ruleRecord
		err = item.Value(rec.UnmarshalBinary)
		r = Rule(rec)
		return err
	})
	return r, found, err
}

// expired returns the ids of versions the rule expires, given versions
// oldest first. The current version is never expired by age or count.
func (r Rule) expired(vs []VersionInfo, now time.Time) []uint64 {
	var out []uint64
	cur := len(vs) - 1
	for i := range vs {
		if vs[i].Current {
			cur = i
		}
	}
	newer := 0 // noncurrent versions newer than i
	for i := cur - 1; i >= 0; i-- {
		since := time.Unix(0, int64(vs[i+1].ID)) // noncurrent since the next version
		byAge := r.NoncurrentDays > 0 && now.Sub(since) > time.Duration(r.NoncurrentDays)*24*time.Hour
		byCount := r.KeepNoncurrent > 0 && newer >= r.KeepNoncurrent
		var exp bool
		switch {
		case r.NoncurrentDays > 0 && r.KeepNoncurrent > 0:
			exp = byAge && byCount
		default:
			exp = byAge || byCount
		}
		if exp {
			out = append(out, vs[i].ID)
		}
		newer++
	}
	if r.ExpireDeleteMarkers && cur >= 0 && vs[cur].DeleteMarker && len(out) == cur {
		out = append(out, vs[cur].ID) // only the marker would be left
	}
	return out
}

// GCReport says what a lifecycle run or gc removed.
type GCReport struct {
	Objects         int   `json:"objects_scanned"`
	VersionsExpired int   `json:"versions_expired"`
	ObjectsRemoved  int   `json:"objects_removed"`
	BytesFreed      int64 `json:"bytes_freed"`
	OrphanParts     int   `json:"orphan_parts_removed"`
	Compacted       int   `json:"files_compacted"`
}

// ApplyLifecycle walks the namespace, applies each directory's effective
// rule to its files (live and deleted), and frees what expired.
func (l *Layer) ApplyLifecycle(now time.Time) (GCReport, error) {
	var rep GCReport
	root, _, err := l.RuleOf(RootIno)
	if err != nil {
		return rep, err
	}
	seen := map[Ino]bool{}
	if err := l.lifecycleDir(RootIno, root, now, &rep, seen); err != nil {
		return rep, err
	}
	// Deleted objects whose name was taken over by another object are no
	// longer under any directory: the store's rule applies.
	var shadowed []Ino
	err = l.db.View(func(txn *metaTxn) error {
		it, err := txn.iterate(badger.IteratorOptions{Prefix: prefixKey(pfxDeleted)})
		if err != nil {
			return err
		}
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if ino := keyIno(it.Item().Key()); !seen[ino] {
				shadowed = append(shadowed, ino)
			}
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	for _, ino := range shadowed {
		if err := l.lifecycleFile(ino, root, now, &rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func (l *Layer) lifecycleDir(dir Ino, inherited Rule, now time.Time, rep *GCReport, seen map[Ino]bool) error {
	rule := inherited
	if r, ok, err := l.RuleOf(dir); err != nil {
		return err
	} else if ok {
		rule = r
	}
	ents, err := l.ReadDir(dir)
	if err != nil {
		return err
	}
	tombs, err := l.TombstonesOf(dir)
	if err != nil {
		return err
	}
	for _, e := range append(ents, tombs...) {
		switch {
		case e.Mode == syscall.S_IFDIR:
			if err := l.lifecycleDir(e.Ino, rule, now, rep, seen); err != nil {
				return err
			}
		case e.Mode == syscall.S_IFREG && !seen[e.Ino]:
			seen[e.Ino] = true
			if err := l.lifecycleFile(e.Ino, rule, now, rep); err != nil {
				return err
			}
		}
	}
	return nil
}

func (l *Layer) lifecycleFile(ino Ino, rule Rule, now time.Time, rep *GCReport) error {
	rep.Objects++
	if rule.Empty() {
		return nil
	}
	vs, err := l.Versions(ino)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	ids := rule.expired(vs, now)
	if len(ids) == 0 {
		return nil
	}
	locked, err := l.LockedVersions(ino)
	if err != nil {
		return err
	}
	drop := make(map[uint64]bool, len(ids))
	for _, id := range ids {
		if _, ok := locked[id]; !ok { // locked versions never expire; delete markers are never locked
			drop[id] = true
		}
	}
	if len(drop) == 0 {
		return nil
	}
	n, freed, err := l.purgeVersions(ino, drop)
	if err != nil {
		return fmt.Errorf("lifecycle of object %d: %w", ino, err)
	}
	rep.VersionsExpired += n
	rep.BytesFreed += freed
	if n == len(vs) {
		rep.ObjectsRemoved++
	}
	return nil
}

// CollectGarbage runs the lifecycle rules and then removes part files no
// version references: leftovers of a crash between writing parts and
// committing them. Parts of open files and parts newer than the scan are
// never touched.
func (l *Layer) CollectGarbage(now time.Time) (GCReport, error) {
	rep, err := l.ApplyLifecycle(now)
	if err != nil {
		return rep, err
	}
	compacted, saved, err := l.CompactAll()
	rep.Compacted += compacted
	rep.BytesFreed += saved
	if err != nil {
		return rep, err
	}
	if err := l.removeOrphanParts(&rep); err != nil {
		return rep, err
	}
	// Let Badger drop value-log space freed by deleted inline parts; it
	// writes before it frees, so not on a full disk.
	for l.st.Space.ValueLogGCRoom() && l.db.RunValueLogGC(0.5) == nil {
	}
	return rep, nil
}

// removeOrphanParts removes the part files no version references that are
// older than the scan and reserved by no writer.
func (l *Layer) removeOrphanParts(rep *GCReport) error {
	// The horizon and the reserved ids come first: a part a live writer
	// holds is reserved, and one released since was committed before the
	// scan below starts, so no writer's part can look like an orphan.
	horizon, reserved, err := l.gcHorizon()
	if err != nil {
		return err
	}
	live := map[chunkstore.PartID]bool{}
	err = l.db.View(func(txn *metaTxn) error {
		it, err := txn.iterate(badger.IteratorOptions{Prefix: prefixKey(pfxVersion), PrefetchValues: true})
		if err != nil {
			return err
		}
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var v Version
			if err := it.Item().Value(v.UnmarshalBinary); err != nil {
				return err
			}
			for _, r := range v.Runs {
				live[r.Part] = true
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Only part files are listed: an inline part's record goes in the
	// transaction that drops its last version (dropIn), never later.
	parts := l.fileParts()
	var orphans []chunkstore.PartID
	err = parts.Walk(func(id chunkstore.PartID, size int64) error {
		if id < horizon && !live[id] && !reserved[id] {
			orphans = append(orphans, id)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range orphans {
		if sz, err := parts.Size(id); err == nil {
			rep.BytesFreed += sz
		}
		if err := parts.Remove(id); err != nil {
			return err
		}
		rep.OrphanParts++
	}
	return nil
}
