// Package storetest is the test suite every chunkstore.Store
// implementation passes: the content layer relies on exactly these rules.
package storetest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"

	"github.com/ssefs/ssefs/chunkstore"
	"github.com/ssefs/ssefs/dare"
)

// Harness adapts one implementation to the suite.
type Harness struct {
	// New returns an empty store.
	New func(t *testing.T) chunkstore.Store
	// Persist makes the written parts ids durable the way the content
	// layer does (Sync, and for parts kept in metadata, the transaction
	// of their version) and returns a store that reads only what was
	// persisted, as after a remount.
	Persist func(t *testing.T, s chunkstore.Store, ids ...chunkstore.PartID) chunkstore.Store
	// Replace overwrites the persisted bytes of part id with b, as
	// someone with write access to the store could.
	Replace func(t *testing.T, s chunkstore.Store, id chunkstore.PartID, b []byte)
}

// Run runs the suite against h.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"WriteReadSize", testWriteReadSize},
		{"Missing", testMissing},
		{"Remove", testRemove},
		{"Walk", testWalk},
		{"WrongSize", testWrongSize},
		{"Tampered", testTampered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, h) })
	}
}

var oek = bytes.Repeat([]byte{7}, 32)

// sealed seals n random plaintext bytes as part id.
func sealed(t *testing.T, id chunkstore.PartID, n int) (plain, sealedPart []byte) {
	t.Helper()
	plain = make([]byte, n)
	if _, err := rand.Read(plain); err != nil {
		t.Fatal(err)
	}
	s, err := chunkstore.SealPart(dare.AES256GCM, oek, id, plain)
	if err != nil {
		t.Fatal(err)
	}
	return plain, s
}

// read reads plaintext [off, off+n) of part id through Open.
func read(s chunkstore.Store, id chunkstore.PartID, plainLen int64, off, n int) ([]byte, error) {
	encSize := dare.EncryptedSize(plainLen)
	ra, err := s.Open(id, encSize)
	if err != nil {
		return nil, err
	}
	p := make([]byte, n)
	got, err := chunkstore.ReadPartAt(oek, id, ra, encSize, p, int64(off))
	if errors.Is(err, io.EOF) && got == n {
		err = nil
	}
	return p[:got], err
}

func write(t *testing.T, s chunkstore.Store, id chunkstore.PartID, b []byte) {
	t.Helper()
	if err := s.Write(id, b); err != nil {
		t.Fatalf("Write(%v): %v", id, err)
	}
}

func testWriteReadSize(t *testing.T, h Harness) {
	s := h.New(t)
	const id = chunkstore.PartID(0x10203)
	plain, sp := sealed(t, id, 2*dare.PackageSize+100)
	write(t, s, id, sp)
	check := func(t *testing.T, s chunkstore.Store) {
		t.Helper()
		got, err := read(s, id, int64(len(plain)), dare.PackageSize-10, 200)
		if err != nil || !bytes.Equal(got, plain[dare.PackageSize-10:dare.PackageSize+190]) {
			t.Fatalf("read across packages: %v, equal %v", err, bytes.Equal(got, plain[dare.PackageSize-10:dare.PackageSize+190]))
		}
		if sz, err := s.Size(id); err != nil || sz != int64(len(sp)) {
			t.Fatalf("Size = %d, %v; want %d", sz, err, len(sp))
		}
		s.Prefetch(id)
	}
	t.Run("written", func(t *testing.T) { check(t, s) })
	if err := s.Sync(id); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	t.Run("persisted", func(t *testing.T) { check(t, h.Persist(t, s, id)) })
}

func testMissing(t *testing.T, h Harness) {
	s := h.New(t)
	const id = chunkstore.PartID(42)
	if _, err := read(s, id, 10, 0, 10); !errors.Is(err, chunkstore.ErrPartNotFound) {
		t.Fatalf("read of a missing part: %v, want ErrPartNotFound", err)
	}
	if _, err := s.Size(id); !errors.Is(err, chunkstore.ErrPartNotFound) {
		t.Fatalf("Size of a missing part: %v, want ErrPartNotFound", err)
	}
	if err := s.Remove(id); err != nil {
		t.Fatalf("Remove of a missing part: %v", err)
	}
	s.Prefetch(id) // advice only: no panic, no error
}

func testRemove(t *testing.T, h Harness) {
	s := h.New(t)
	const kept, gone = chunkstore.PartID(1), chunkstore.PartID(2)
	_, a := sealed(t, kept, 100)
	_, b := sealed(t, gone, 100)
	write(t, s, kept, a)
	write(t, s, gone, b)
	s = h.Persist(t, s, kept, gone)
	if err := s.Remove(gone); err != nil {
		t.Fatal(err)
	}
	if _, err := read(s, gone, 100, 0, 100); !errors.Is(err, chunkstore.ErrPartNotFound) {
		t.Fatalf("read of a removed part: %v, want ErrPartNotFound", err)
	}
	if _, err := read(s, kept, 100, 0, 100); err != nil {
		t.Fatalf("read of the other part: %v", err)
	}
}

func testWalk(t *testing.T, h Harness) {
	s := h.New(t)
	want := map[chunkstore.PartID]int64{}
	var ids []chunkstore.PartID
	for _, id := range []chunkstore.PartID{3, 0x10000, 0x1ff00} {
		_, sp := sealed(t, id, int(id%1000)+1)
		write(t, s, id, sp)
		want[id] = int64(len(sp))
		ids = append(ids, id)
	}
	s = h.Persist(t, s, ids...)
	got := map[chunkstore.PartID]int64{}
	if err := s.Walk(func(id chunkstore.PartID, size int64) error { got[id] = size; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("Walk found %v, want %v", got, want)
	}
	for id, sz := range want {
		if got[id] != sz {
			t.Fatalf("Walk found %v, want %v", got, want)
		}
	}
}

// testWrongSize: a stored part longer or shorter than its record says
// never reads, whatever the offset.
func testWrongSize(t *testing.T, h Harness) {
	const id = chunkstore.PartID(9)
	for _, tc := range []struct {
		name   string
		mangle func(b []byte) []byte
	}{
		{"appended", func(b []byte) []byte { return append(b, 0) }},
		{"cut", func(b []byte) []byte { return b[:len(b)-1] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := h.New(t)
			plain, sp := sealed(t, id, dare.PackageSize+5)
			write(t, s, id, sp)
			s = h.Persist(t, s, id)
			h.Replace(t, s, id, tc.mangle(bytes.Clone(sp)))
			got, err := read(s, id, int64(len(plain)), 0, 10)
			if !errors.Is(err, chunkstore.ErrPartSize) || len(got) != 0 {
				t.Fatalf("read: %d bytes, %v; want ErrPartSize and none", len(got), err)
			}
		})
	}
}

// testTampered: a stored part of the right size with changed bytes, or
// another part's bytes, fails authentication.
func testTampered(t *testing.T, h Harness) {
	const id, other = chunkstore.PartID(11), chunkstore.PartID(12)
	s := h.New(t)
	plain, sp := sealed(t, id, 300)
	_, op := sealed(t, other, 300)
	write(t, s, id, sp)
	s = h.Persist(t, s, id)
	for _, tc := range []struct {
		name  string
		bytes []byte
	}{
		{"flipped", func() []byte { b := bytes.Clone(sp); b[len(b)/2] ^= 0x40; return b }()},
		{"other part", op},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.Replace(t, s, id, tc.bytes)
			got, err := read(s, id, int64(len(plain)), 0, len(plain))
			if !errors.Is(err, dare.ErrAuthentication) && !errors.Is(err, dare.ErrFormat) {
				t.Fatalf("read: %d bytes, %v; want an authentication error", len(got), err)
			}
		})
	}
}
