package object

import (
	"errors"
	"fmt"
	"log"
	"sort"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/ssefs/ssefs/keyring"
)

// RotationStatus is the progress of one key rotation.
type RotationStatus struct {
	Name     string    `json:"name"`
	NewID    string    `json:"new_id"`
	Started  time.Time `json:"started"`
	Total    int64     `json:"total"`   // objects that needed a re-wrap when the pass began
	Done     int64     `json:"done"`    // re-wrapped so far
	Skipped  int64     `json:"skipped"` // gone meanwhile, or already unrecoverable
	Running  bool      `json:"running"`
	Finished bool      `json:"finished"` // old versions retired
	Retired  int       `json:"retired"`  // key versions crypto-erased at the end
	Waiting  string    `json:"waiting,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// rotations tracks the background re-wrap passes of one layer.
type rotations struct {
	mu      sync.Mutex
	m       map[string]*RotationStatus
	stop    chan struct{}
	stopped bool
	wg      sync.WaitGroup
}

// KeyRotate starts a rotation of the named key: a new key version becomes current at
// once (new files use it), and a background pass re-wraps the OEK of every object
// still under an older version; when it is done the old versions are crypto-erased.
// No data is rewritten. A rotation interrupted by a crash or unmount resumes when
// the store is next mounted (ResumeRotations) or rotated again.
func (l *Layer) KeyRotate(name string) (st RotationStatus, err error) {
	r := &l.sse.rot
	r.mu.Lock()
	if cur, ok := r.m[name]; ok && cur.Running {
		st = *cur
		r.mu.Unlock()
		return st, nil
	}
	r.mu.Unlock()
	rec, err := l.beginRotation(name)
	if err != nil {
		return st, err
	}
	return l.startRotation(rec)
}

// beginRotation returns the unfinished rotation of name or makes the new key version
// and records the rotation durably (sync'd), before any object is re-wrapped.
func (l *Layer) beginRotation(name string) (*rotationRecord, error) {
	rec, err := l.rotationRecord(name)
	if err != nil || rec != nil {
		return rec, err
	}
	var id string
	kv, err := l.st.KeyVersions()
	if err == nil {
		id, err = kv.RotateKey(name)
	}
	l.audit("key-rotate", name, err, "new version "+id)
	if err != nil {
		return nil, err
	}
	rec = &rotationRecord{Name: name, NewID: id, Started: time.Now().UTC()}
	b, _ := rec.MarshalBinary()
	if err := l.db.mutate(commitNow, func(txn *metaTxn) error { return txn.putBytes(rotationKey(name), b) }); err != nil {
		return nil, fmt.Errorf("object: recording rotation of %q: %w", name, err)
	}
	if err := l.db.Sync(); err != nil {
		return nil, fmt.Errorf("object: recording rotation of %q: %w", name, err)
	}
	return rec, nil
}

func (l *Layer) rotationRecord(name string) (*rotationRecord, error) {
	var rec *rotationRecord
	err := l.db.View(func(txn *metaTxn) error {
		item, err := txn.getItem(rotationKey(name))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		rec = &rotationRecord{}
		return item.Value(rec.UnmarshalBinary)
	})
	return rec, err
}

// ResumeRotations restarts every unfinished rotation in the background. The mount
// calls it once it serves requests.
func (l *Layer) ResumeRotations() {
	var recs []*rotationRecord
	err := l.db.View(func(txn *metaTxn) error {
		it, err := txn.iterate(badger.IteratorOptions{Prefix: prefixKey(pfxRotation), PrefetchValues: true})
		if err != nil {
			return err
		}
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var rec rotationRecord
			if err := it.Item().Value(rec.UnmarshalBinary); err != nil {
				return err
			}
			recs = append(recs, &rec)
		}
		return nil
	})
	if err != nil {
		log.Printf("ssefs: reading unfinished rotations: %v", err)
	}
	for _, rec := range recs {
		if _, err := l.startRotation(rec); err != nil {
			log.Printf("ssefs: resuming rotation of %q: %v", rec.Name, err)
		}
	}
}

// Rotations reports the rotations this layer has run or is running, by name.
func (l *Layer) Rotations() []RotationStatus {
	r := &l.sse.rot
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]RotationStatus, 0, len(r.m))
	for _, s := range r.m {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (l *Layer) startRotation(rec *rotationRecord) (RotationStatus, error) {
	r := &l.sse.rot
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return RotationStatus{}, errors.New("object: layer is closing")
	}
	if cur, ok := r.m[rec.Name]; ok && cur.Running {
		return *cur, nil
	}
	if r.m == nil {
		r.m = map[string]*RotationStatus{}
		r.stop = make(chan struct{})
	}
	s := &RotationStatus{Name: rec.Name, NewID: rec.NewID, Started: rec.Started, Running: true}
	r.m[rec.Name] = s
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		err := l.runRotation(rec, s)
		r.mu.Lock()
		s.Running = false
		if err != nil {
			s.Error = err.Error()
		}
		r.mu.Unlock()
		if err != nil && !errors.Is(err, errStopped) {
			log.Printf("ssefs: rotation of %q: %v", rec.Name, err)
		}
	}()
	return *s, nil
}

var errStopped = errors.New("object: rotation stopped (resumes at next mount)")

// runRotation re-wraps every object still under an older version of the key, then
// retires the old versions and drops the record.
func (l *Layer) runRotation(rec *rotationRecord, s *RotationStatus) error {
	kv, err := l.st.KeyVersions()
	if err != nil {
		return err
	}
	r := &l.sse.rot
	var todo []Ino
	var domains []keyring.Domain
	err = l.db.View(func(txn *metaTxn) error {
		it, err := txn.iterate(badger.IteratorOptions{Prefix: prefixKey(pfxInode)})
		if err != nil {
			return err
		}
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var n Inode
			if err := it.Item().Value(n.UnmarshalBinary); err != nil {
				return err
			}
			if !isReg(n.Mode) || n.SSE.KeyName != rec.Name || keyring.Domain(n.SSE.Domain) == keyring.DomainSSEC {
				continue
			}
			if id, _ := keyring.DEKKeyID(n.SSE.SealedDEK); id != rec.NewID {
				todo = append(todo, n.Ino)
				domains = append(domains, keyring.Domain(n.SSE.Domain))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.mu.Lock()
	s.Total = int64(len(todo))
	r.mu.Unlock()
	for i, ino := range todo {
		if _, err := kv.KeyVersionIDs(rec.Name); errors.Is(err, keyring.ErrKeyNotFound) {
			// The key was deleted meanwhile: nothing left to rotate.
			l.db.mutate(commitNow, func(txn *metaTxn) error { return txn.delete(rotationKey(rec.Name)) })
			return fmt.Errorf("key %q was deleted during its rotation", rec.Name)
		}
		for {
			select {
			case <-r.stop:
				return errStopped
			default:
			}
			_, err := l.Rewrap(ino, SSEChoice{Domain: domains[i], KeyName: rec.Name})
			r.mu.Lock()
			s.Waiting = ""
			switch {
			case err == nil:
				s.Done++
			case errors.Is(err, ErrNotFound), errors.Is(err, keyring.ErrKeyDeleted), errors.Is(err, ErrInvalid):
				s.Skipped++
			case errors.Is(err, keyring.ErrSealed), errors.Is(err, keyring.ErrKeySealed):
				s.Waiting = "key or KMS sealed: waiting for unseal"
			default:
				r.mu.Unlock()
				return fmt.Errorf("object %d: %w", ino, err)
			}
			waiting := s.Waiting != ""
			r.mu.Unlock()
			if !waiting {
				break
			}
			select {
			case <-r.stop:
				return errStopped
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	n, err := kv.RetireOldVersions(rec.Name)
	if err != nil {
		return fmt.Errorf("retiring old versions of %q: %w", rec.Name, err)
	}
	if err := l.db.mutate(commitNow, func(txn *metaTxn) error { return txn.delete(rotationKey(rec.Name)) }); err != nil {
		return err
	}
	l.audit("key-rotate-done", rec.Name, nil, fmt.Sprintf("%d objects re-wrapped, %d versions retired", s.Done, n))
	r.mu.Lock()
	s.Finished, s.Retired = true, n
	r.mu.Unlock()
	return nil
}

// stopRotations stops the background passes (they resume at the next mount) and
// waits for them; the layer calls it when closing.
func (l *Layer) stopRotations() {
	r := &l.sse.rot
	r.mu.Lock()
	if !r.stopped {
		r.stopped = true
		if r.stop != nil {
			close(r.stop)
		}
	}
	r.mu.Unlock()
	r.wg.Wait()
}
