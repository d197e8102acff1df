package object

import (
	"errors"
	"fmt"
	"log"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/ssefs/ssefs/store"
)

// Write-back metadata (docs/ARCHITECTURE.md, "Metadata write path").
//
// Every write of the object layer goes through metaDB, which keeps one
// Badger read-write transaction open as the batch: consecutive mutations
// write into it and read their own and their predecessors' pending writes
// through it, and it is committed as one atomic transaction when it is
// flushDelay old, when it grows past batchMaxWrites/batchMaxBytes, before a
// mutation that must be committed when it returns (commitNow), before any
// read that cannot see the batch (View), and on Sync (fsync, fsyncdir,
// unmount). The store therefore always holds a prefix of the operations.
//
// Rules for code running inside a batch (mutate):
//   - validate before writing: an error returned after a write cannot be
//     undone inside a shared transaction, so it discards the whole batch
//     and latches the error (see below); metaTxn enforces it;
//   - never call View, Sync or another mutate: they wait for the batch.
//
// A failed commit loses every operation of the batch, which the kernel was
// already told succeeded. The error is latched: every later write and every
// Sync returns it, so nothing that was fsynced or is fsynced later can be
// reported durable, until the store is opened again.

// Batch limits. A Badger transaction may hold at most 15% of a memtable
// (1.2 MiB and about 13k entries with the store's 8 MiB memtables); a batch
// is committed well before that, so one more operation always fits.
const (
	flushDelay     = 10 * time.Millisecond
	batchMaxWrites = 2048
	batchMaxBytes  = 256 << 10
	// syncBatchMax: a mutation that must commit on return joins a pending
	// batch only when it is this small, so its own writes never hit the limit.
	syncBatchMax = 64 << 10
)

// commitMode says when a mutation's writes are committed.
type commitMode int

const (
	// commitLater leaves the mutation in the pending batch, committed
	// within flushDelay or by the next sync point.
	commitLater commitMode = iota
	// commitNow commits the batch, this mutation included, before
	// returning: for callers with side effects outside Badger that need the
	// commit (freeing parts, destroying keys) and for code not written for
	// batches.
	commitNow
	// commitAlone commits earlier writes first, so the mutation starts on an
	// empty transaction, and then leaves it pending (big multi-object purges,
	// which scan a snapshot only while the batch holds nothing else).
	commitAlone
)

// ErrBatchLost wraps the error of a failed batch commit.
var ErrBatchLost = errors.New("object: metadata batch lost")

// metaDB is the object layer's handle on the Badger database. Its methods
// mirror the few of *badger.DB the layer uses, routed through the batch.
type metaDB struct {
	raw *badger.DB

	mu      sync.Mutex  // guards everything below and every use of txn
	txn     *badger.Txn // the open batch, nil when none
	writes  int64       // entries written into txn by its mutations
	size    int64       // their size as Badger estimates it
	timer   *time.Timer // pending flush of the batch
	latched error       // a lost batch: returned by every later write and sync
	closed  bool

	ro    *badger.Txn // read snapshot while no batch is open (read)
	dirty atomic.Bool // txn holds writes not yet committed

	// onDiscard runs (under mu) whenever pending writes are dropped without
	// commit, so the layer forgets what it cached from them.
	onDiscard func()
	// commitHook, if set, runs before each commit; an error fails it (tests).
	commitHook func() error
	// space gives Badger the store's reserve before a commit on a full disk.
	space *store.Space

	commits atomic.Int64  // batches committed (tests, stats)
	delay   time.Duration // how long a batch may stay pending (flushDelay; tests)

	valueThreshold int64   // Badger's: values below it are counted inline
	under          metaTxn // the metaTxn of mutate, read and list, reused under mu
}

func newMetaDB(raw *badger.DB) *metaDB {
	return &metaDB{raw: raw, delay: flushDelay, valueThreshold: raw.Opts().ValueThreshold}
}

// wrap returns a new metaTxn for a Badger transaction that is not current
// (see metaTxn.current): a view.
func (m *metaDB) wrap(b *badger.Txn) *metaTxn {
	return &metaTxn{b: b, valueThreshold: m.valueThreshold, raw: m.raw}
}

// wrapLocked returns the metaTxn for the batch or the read snapshot,
// reused: callers hold mu, so only one is in use at a time, and the
// functions they run do not keep it.
func (m *metaDB) wrapLocked(b *badger.Txn) *metaTxn {
	t := &m.under
	*t = metaTxn{b: b, current: true, valueThreshold: m.valueThreshold, raw: m.raw}
	t.touched, t.touchedInos = t.keyBuf[:0], t.inoBuf[:0]
	return t
}

// mutate runs fn inside the batch as one atomic mutation, committed as
// mode says. It does not take the namespace lock: every write, batched or
// not, is serialised by the batch, so there are no conflicts to retry.
func (m *metaDB) mutate(mode commitMode, fn func(txn *metaTxn) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.latched != nil {
		return m.latched
	}
	if m.closed {
		return fmt.Errorf("object: metadata closed")
	}
	if m.txn != nil && m.dirty.Load() {
		full := m.writes >= batchMaxWrites || m.size >= batchMaxBytes
		if full || mode == commitAlone || (mode == commitNow && m.size >= syncBatchMax) {
			if err := m.commitLocked(); err != nil {
				return err
			}
		}
	}
	if m.txn == nil {
		m.txn = m.raw.NewTransaction(true)
		m.writes, m.size = 0, 0
	}
	t := m.wrapLocked(m.txn)
	t.mutation, t.batchWasEmpty = true, m.writes == 0
	err := fn(t)
	t.closeScan()
	wrote := t.writes > 0
	m.writes += t.writes
	m.size += t.size
	if !wrote && !m.dirty.Load() {
		m.dropTxnLocked() // read-only: a long-lived clean batch would pile up read keys
	}
	switch {
	case err != nil && !wrote:
		return err // nothing of it in the batch
	case err != nil && t.batchWasEmpty:
		m.discardLocked() // only its own writes: dropped as a lone transaction would be
		return err
	case err != nil:
		// Its partial writes are entangled with earlier operations'.
		m.loseLocked(fmt.Errorf("%w: a mutation failed after writing: %w", ErrBatchLost, err))
		return err
	case !wrote:
		return nil
	}
	m.dirty.Store(true)
	if mode == commitNow || m.writes >= batchMaxWrites || m.size >= batchMaxBytes {
		return m.commitLocked()
	}
	if m.timer == nil {
		m.timer = time.AfterFunc(m.delay, m.timerFlush)
	}
	return nil
}

// read runs fn on a view that includes the pending batch, without
// committing it: the batch itself, or with no batch open a read-only
// snapshot kept until the next commit. fn may only get (an iterator over
// the batch would sort all its pending writes).
func (m *metaDB) read(fn func(txn *metaTxn) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.txn != nil {
		return fn(m.wrapLocked(m.txn))
	}
	if m.ro == nil {
		m.ro = m.raw.NewTransaction(false)
	}
	return fn(m.wrapLocked(m.ro))
}

// list runs fn, which may iterate, on a snapshot of every mutation made so
// far (a pending batch is committed first) under the batch lock, so fn may
// fill caches. A lost batch is not an error here, as in View.
func (m *metaDB) list(fn func(txn *metaTxn) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dirty.Load() {
		m.commitLocked()
	}
	if m.txn != nil { // clean: nothing pending (never left open, but be safe)
		m.dropTxnLocked()
	}
	if m.ro == nil {
		m.ro = m.raw.NewTransaction(false)
	}
	return fn(m.wrapLocked(m.ro))
}

// dropTxnLocked discards the batch transaction and whatever it holds.
func (m *metaDB) dropTxnLocked() {
	if m.txn != nil {
		m.txn.Discard()
		m.txn = nil
	}
}

// dropROLocked discards the read snapshot, after a commit made it stale.
func (m *metaDB) dropROLocked() {
	if m.ro != nil {
		m.ro.Discard()
		m.ro = nil
	}
}

// commitLocked commits the open batch, if any.
func (m *metaDB) commitLocked() error {
	m.stopTimerLocked()
	txn := m.txn
	if txn == nil {
		return m.latched
	}
	m.txn = nil
	if !m.dirty.Load() {
		txn.Discard()
		return m.latched
	}
	var err error
	if m.commitHook != nil {
		err = m.commitHook()
	}
	if err == nil {
		m.space.Headroom()
		size := m.size // as Badger estimates it (metaTxn counts every write)
		err = txn.Commit()
		m.space.Committed(size)
	} else {
		txn.Discard()
	}
	m.dirty.Store(false)
	m.dropROLocked()
	if err != nil {
		m.loseLocked(fmt.Errorf("%w: commit failed: %w", ErrBatchLost, err))
		return m.latched
	}
	m.commits.Add(1)
	return nil
}

// stopTimerLocked cancels the pending flush: the batch is being committed
// or dropped now.
func (m *metaDB) stopTimerLocked() {
	if m.timer != nil {
		m.timer.Stop()
		m.timer = nil
	}
}

// discardLocked drops the batch's writes and tells the caches.
func (m *metaDB) discardLocked() {
	m.stopTimerLocked()
	m.dropTxnLocked()
	m.dirty.Store(false)
	if m.onDiscard != nil {
		m.onDiscard()
	}
}

// loseLocked drops the batch and latches err.
func (m *metaDB) loseLocked(err error) {
	m.discardLocked()
	if m.latched == nil {
		m.latched = err
		log.Printf("ssefs: %v; metadata writes fail until the store is opened again", err)
	}
}

func (m *metaDB) timerFlush() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.timer == nil {
		return // committed meanwhile
	}
	m.timer = nil
	m.commitLocked() // an error is latched and reported by the next write or sync
}

// Flush commits the pending batch.
func (m *metaDB) Flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.commitLocked()
}

// Sync commits the pending batch and makes everything committed durable.
func (m *metaDB) Sync() error {
	if err := m.Flush(); err != nil {
		return err
	}
	return m.raw.Sync()
}

// View runs fn in a read-only transaction that sees every mutation made so
// far: a pending batch is committed first. A lost batch is not an error
// here: the view then shows what the store holds.
func (m *metaDB) View(fn func(txn *metaTxn) error) error {
	if m.dirty.Load() {
		m.Flush()
	}
	return m.raw.View(func(b *badger.Txn) error { return fn(m.wrap(b)) })
}

// GetSequence and RunValueLogGC pass through: sequences write only their
// own keys, and value-log GC only rewrites committed values.
func (m *metaDB) GetSequence(key []byte, bandwidth uint64) (*badger.Sequence, error) {
	return m.raw.GetSequence(key, bandwidth)
}

func (m *metaDB) RunValueLogGC(discardRatio float64) error { return m.raw.RunValueLogGC(discardRatio) }

// close commits the pending batch and refuses further writes.
func (m *metaDB) close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	err := m.commitLocked()
	m.dropROLocked()
	m.closed = true
	return err
}

// Err returns the latched error of a lost batch, if any.
func (m *metaDB) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.latched
}
