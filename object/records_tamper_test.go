package object

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// Offsets into a version record of record version 3 (docs/FORMAT.md).
const (
	vrecID    = 1
	vrecSize  = 9
	vrecMtime = 17
	vrecFlags = 25
	vrecMode  = 26
	vrecUID   = 30
	vrecNRuns = 38
	vrecRuns  = 42
	vrunPart  = 16 // within a run
)

// TestTamperedVersionRecords changes the current version record of a file
// in the store's metadata while the store is closed, the ways an attacker
// who can write the store could, and opens it again: every change must
// make the open fail with ErrCorrupt (EIO at the mount), never give other
// bytes (the older version's, zeros, fewer) and never "no such file". It
// runs for a file in part files and for one whose parts are inline.
func TestTamperedVersionRecords(t *testing.T) {
	type records struct{ cur, old []byte }
	setU64 := func(b []byte, off int, v uint64) []byte {
		b = bytes.Clone(b)
		binary.BigEndian.PutUint64(b[off:], v)
		return b
	}
	cases := []struct {
		name   string
		tamper func(r records) []byte // the new current record; nil deletes it
	}{
		{"flip MAC", func(r records) []byte {
			b := bytes.Clone(r.cur)
			b[len(b)-1] ^= 1
			return b
		}},
		{"flip mtime", func(r records) []byte {
			b := bytes.Clone(r.cur)
			b[vrecMtime] ^= 1
			return b
		}},
		{"size shorter", func(r records) []byte {
			return setU64(r.cur, vrecSize, binary.BigEndian.Uint64(r.cur[vrecSize:])-1)
		}},
		{"size longer", func(r records) []byte {
			return setU64(r.cur, vrecSize, binary.BigEndian.Uint64(r.cur[vrecSize:])+100)
		}},
		{"run points at the older version's part", func(r records) []byte {
			oldPart := binary.BigEndian.Uint64(r.old[vrecRuns+vrunPart:])
			return setU64(r.cur, vrecRuns+vrunPart, oldPart)
		}},
		{"runs dropped", func(r records) []byte {
			b := bytes.Clone(r.cur[:vrecRuns])
			binary.BigEndian.PutUint32(b[vrecNRuns:], 0)
			return append(b, r.cur[len(r.cur)-32:]...)
		}},
		{"older record replayed", func(r records) []byte { return bytes.Clone(r.old) }},
		{"older record replayed as a delete marker", func(r records) []byte {
			b := setU64(r.old, vrecID, binary.BigEndian.Uint64(r.cur[vrecID:]))
			b[vrecFlags] |= VersionDeleteMarker
			return b
		}},
		{"delete marker flag set", func(r records) []byte {
			b := bytes.Clone(r.cur)
			b[vrecFlags] |= VersionDeleteMarker
			return b
		}},
		{"owner changed", func(r records) []byte {
			b := bytes.Clone(r.cur)
			binary.BigEndian.PutUint32(b[vrecUID:], 65534)
			return b
		}},
		{"mode widened", func(r records) []byte {
			b := bytes.Clone(r.cur)
			b[vrecMode+3] |= 0o007 // the file is 0644
			return b
		}},
		{"owner stripped (record version 2)", func(r records) []byte {
			b := append([]byte{2}, r.cur[1:vrecMode]...)
			return append(b, r.cur[vrecNRuns:]...)
		}},
		{"cut short", func(r records) []byte { return bytes.Clone(r.cur[:len(r.cur)-5]) }},
		{"removed", func(records) []byte { return nil }},
	}
	for _, sz := range []struct {
		name string
		size int
	}{{"inline", 3000}, {"part files", 3*ChunkSize + 100}} {
		for _, tc := range cases {
			t.Run(sz.name+"/"+tc.name, func(t *testing.T) {
				r := newReopenable(t)
				oldData := bytes.Repeat([]byte("old!"), sz.size/4)
				newData := bytes.Repeat([]byte("NEW."), sz.size/4)
				n := createFile(t, r.l, RootIno, "f")
				for _, data := range [][]byte{oldData, newData} {
					f, err := r.l.OpenFile(n.Ino)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := f.WriteAt(data, 0); err != nil {
						t.Fatal(err)
					}
					if err := f.Release(); err != nil {
						t.Fatal(err)
					}
				}
				vs, err := r.l.Versions(n.Ino)
				if err != nil || len(vs) != 2 {
					t.Fatalf("versions = %v, %v", vs, err)
				}
				if got := readAll(t, r.l, n.Ino); !bytes.Equal(got, newData) {
					t.Fatal("the untampered file does not read back")
				}
				r.close(t)
				r.open(t)

				// Tamper through the layer's own handle on the metadata, then
				// open the store again so that no cache remembers the record.
				var rec records
				err = r.l.db.mutate(commitNow, func(txn *metaTxn) error {
					for p, id := range map[*[]byte]uint64{&rec.old: vs[0].ID, &rec.cur: vs[1].ID} {
						item, err := txn.getItem(versionKey(n.Ino, id))
						if err != nil {
							return err
						}
						if *p, err = item.ValueCopy(nil); err != nil {
							return err
						}
					}
					if b := tc.tamper(rec); b != nil {
						return txn.putBytes(versionKey(n.Ino, vs[1].ID), b)
					}
					return txn.delete(versionKey(n.Ino, vs[1].ID))
				})
				if err != nil {
					t.Fatal(err)
				}
				r.close(t)
				r.open(t)

				f, err := r.l.OpenFile(n.Ino)
				if err == nil {
					b := make([]byte, len(newData)+200)
					got, rerr := f.ReadAt(b, 0)
					f.Release()
					t.Fatalf("tampered record opened; read = %d bytes (%q…), %v", got, b[:min(got, 8)], rerr)
				}
				if !errors.Is(err, ErrCorrupt) {
					t.Errorf("open = %v, want ErrCorrupt", err)
				}
				// The older version is untouched and still reads.
				old, err := r.l.OpenVersion(n.Ino, vs[0].ID)
				if err != nil {
					t.Fatalf("older version: %v", err)
				}
				b := make([]byte, len(oldData))
				if got, err := old.ReadAt(b, 0); got != len(oldData) || (err != nil && err != io.EOF) || !bytes.Equal(b, oldData) {
					t.Errorf("older version read = %d, %v", got, err)
				}
			})
		}
	}
}

// TestTamperedOlderVersionRecord: a version opened by id (the versions
// view) is authenticated like the current one.
func TestTamperedOlderVersionRecord(t *testing.T) {
	r := newReopenable(t)
	ino := writeObj(t, r.l, "f", "first")
	f, err := r.l.OpenFile(ino)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("second"), 0)
	if err := f.Release(); err != nil {
		t.Fatal(err)
	}
	vs, err := r.l.Versions(ino)
	if err != nil || len(vs) != 2 {
		t.Fatalf("versions = %v, %v", vs, err)
	}
	err = r.l.db.mutate(commitNow, func(txn *metaTxn) error {
		item, err := txn.getItem(versionKey(ino, vs[0].ID))
		if err != nil {
			return err
		}
		b, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		binary.BigEndian.PutUint64(b[vrecSize:], 2) // "fi"
		return txn.putBytes(versionKey(ino, vs[0].ID), b)
	})
	if err != nil {
		t.Fatal(err)
	}
	r.close(t)
	r.open(t)
	if _, err := r.l.OpenVersion(ino, vs[0].ID); !errors.Is(err, ErrCorrupt) {
		t.Errorf("OpenVersion of a tampered record = %v, want ErrCorrupt", err)
	}
	if got, err := readObj(t, r.l, ino); got != "second" || err != nil {
		t.Errorf("current version = %q, %v", got, err)
	}
}

func readAll(t *testing.T, l *Layer, ino Ino) []byte {
	t.Helper()
	f, err := l.OpenFile(ino)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	b := make([]byte, f.Size())
	if n, err := f.ReadAt(b, 0); n != len(b) || (err != nil && err != io.EOF) {
		t.Fatalf("read = %d, %v", n, err)
	}
	return b
}
