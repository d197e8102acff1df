package object

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// ErrReadAfterWrite is returned by a read that a mutation makes after its
// first write (see metaTxn).
var ErrReadAfterWrite = errors.New("object: metadata read after the mutation's first write")

// metaTxn is the transaction a mutation or a read of the object layer runs
// in: a Badger transaction behind typed get/put/delete that counts the
// writes made through it.
//
// Rule: every check that can fail happens before the first write. A
// mutation shares its Badger transaction with the pending batch, so an
// error it returns after writing cannot be undone on its own and loses the
// whole batch (meta_batch.go). A read is where such checks come from, so
// after the first write get, has and iterate refuse with ErrReadAfterWrite.
// The only reads a mutation may make once it has started writing are
// re-reads of keys the mutation read before its first write or wrote
// itself (whatever about them could fail was checked before the first
// write), and deletePrefixes, which scans in order to delete. A mutation
// that needs more reads them up front. Functions given a metaTxn do not
// keep it: metaDB reuses it.
type metaTxn struct {
	b *badger.Txn
	// current: b is the batch or the read snapshot of metaDB, used under
	// its lock, so what it reads is the current state and caches may be
	// filled from it and answer for it.
	current bool
	// mutation: the transaction of a mutation, which keeps the rule.
	mutation bool
	// batchWasEmpty (mutations only): the batch held no writes of earlier
	// mutations when this one started, so a snapshot of the store shows
	// its start state.
	batchWasEmpty bool
	// writes and size count what was written through this transaction, the
	// size as Badger estimates it for its transaction limits.
	writes, size   int64
	valueThreshold int64
	// touched holds the keys read before the first write and the keys
	// written: the only ones a read after the first write may ask for.
	// Inodes are kept apart, by number, so that reads the inode cache
	// answers build no key.
	touched     [][]byte
	touchedInos []Ino
	keyBuf      [8][]byte   // backing of touched and touchedInos in the
	inoBuf      [8]Ino      // reused transaction of metaDB
	scan        *badger.Txn // read-only snapshot for deletePrefixes, made on first use
	raw         *badger.DB
}

// Badger adds this many bytes per entry to its transaction size estimate
// (the version suffix of the key), and two for the meta bytes.
const (
	txnEntryOverhead = 10 + 2
	txnValuePointer  = 12
)

// checkRead admits a read of key under the rule and notes the key. It is
// called for reads served by the layer's caches too, so that whether a
// mutation keeps the rule does not depend on what is cached.
func (t *metaTxn) checkRead(key []byte) error {
	if t.writes == 0 {
		if t.mutation {
			t.touched = append(t.touched, key)
		}
		return nil
	}
	for _, k := range t.touched {
		if bytes.Equal(k, key) {
			return nil
		}
	}
	return fmt.Errorf("%w (key %q)", ErrReadAfterWrite, keyPrefixOf(key))
}

// checkInodeRead is checkRead for the inode record of ino.
func (t *metaTxn) checkInodeRead(ino Ino) error {
	if t.writes == 0 {
		if t.mutation {
			t.touchedInos = append(t.touchedInos, ino)
		}
		return nil
	}
	for _, i := range t.touchedInos {
		if i == ino {
			return nil
		}
	}
	return fmt.Errorf("%w (inode %d)", ErrReadAfterWrite, ino)
}

// noteInodeWrite records that the mutation wrote the inode record of ino,
// which it may then read again.
func (t *metaTxn) noteInodeWrite(ino Ino) { t.touchedInos = append(t.touchedInos, ino) }

// keyPrefixOf names a key in an error without exposing record contents.
func keyPrefixOf(key []byte) []byte {
	if len(key) > 4 {
		return key[:4]
	}
	return key
}

// getItem returns the item stored under key, badger.ErrKeyNotFound if none.
func (t *metaTxn) getItem(key []byte) (*badger.Item, error) {
	if err := t.checkRead(key); err != nil {
		return nil, err
	}
	return t.b.Get(key)
}

// get decodes the record stored under key into rec; found is false if
// there is none.
func (t *metaTxn) get(key []byte, rec encoding.BinaryUnmarshaler) (found bool, err error) {
	item, err := t.getItem(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, item.Value(rec.UnmarshalBinary)
}

// has reports whether a key is stored.
func (t *metaTxn) has(key []byte) (bool, error) {
	_, err := t.getItem(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// iterate returns an iterator on the transaction; the caller closes it.
func (t *metaTxn) iterate(opts badger.IteratorOptions) (*badger.Iterator, error) {
	if t.writes > 0 {
		return nil, fmt.Errorf("%w (iteration of %q)", ErrReadAfterWrite, keyPrefixOf(opts.Prefix))
	}
	return t.b.NewIterator(opts), nil
}

// put writes the encoded record under key.
func (t *metaTxn) put(key []byte, rec encoding.BinaryMarshaler) error {
	b, err := rec.MarshalBinary()
	if err != nil {
		return fmt.Errorf("object: encoding record %q: %w", keyPrefixOf(key), err)
	}
	return t.putBytes(key, b)
}

// putBytes writes value under key.
func (t *metaTxn) putBytes(key, value []byte) error {
	if err := t.b.Set(key, value); err != nil {
		return err
	}
	t.count(key, value)
	t.touched = append(t.touched, key)
	return nil
}

// delete removes key; deleting a key that is not stored is no error.
func (t *metaTxn) delete(key []byte) error {
	if err := t.b.Delete(key); err != nil {
		return err
	}
	t.count(key, nil)
	t.touched = append(t.touched, key)
	return nil
}

func (t *metaTxn) count(key, value []byte) {
	t.writes++
	v := int64(len(value))
	if v >= t.valueThreshold {
		v = txnValuePointer
	}
	t.size += int64(len(key)) + v + txnEntryOverhead
}

// deletePrefixes deletes every key under the prefixes. It is a write, not a
// check: it may run after the mutation's first write, and it cannot fail
// half-way for a reason a check could have caught.
//
// When the batch held no writes of earlier mutations when this one started
// it scans a read-only snapshot (one for the whole mutation): an iterator on
// the write transaction would re-sort all its pending writes each time,
// which makes batched purges quadratic. Callers never add keys under a
// prefix earlier in the same mutation. Each prefix gets an iterator of its
// own, bounded by it: an unbounded one skips every deleted key after it.
func (t *metaTxn) deletePrefixes(prefixes ...[]byte) error {
	src := t.b
	if t.batchWasEmpty {
		src = t.snapshot()
	}
	var keys [][]byte
	for _, prefix := range prefixes {
		it := src.NewIterator(badger.IteratorOptions{Prefix: prefix})
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		it.Close()
	}
	for _, k := range keys {
		if err := t.b.Delete(k); err != nil {
			return err
		}
		t.count(k, nil)
	}
	return nil
}

// snapshot returns a read-only snapshot of what is committed, kept for the
// running mutation and closed by closeScan.
func (t *metaTxn) snapshot() *badger.Txn {
	if t.scan == nil {
		t.scan = t.raw.NewTransaction(false)
	}
	return t.scan
}

func (t *metaTxn) closeScan() {
	if t.scan != nil {
		t.scan.Discard()
		t.scan = nil
	}
}
