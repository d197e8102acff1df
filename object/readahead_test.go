package object

import (
	"bytes"
	"errors"
	"math/rand"
	"testing"

	"github.com/ssefs/ssefs/keyring"
)

// TestReadAheadModel: a sequential reader (which gets windows decrypted
// ahead of it) interleaved with writes, truncates and commits that change
// what lies ahead reads exactly what a byte model holds; windows decrypted
// before a change are never served after it.
func TestReadAheadModel(t *testing.T) {
	l := newTestLayer(t)
	rng := rand.New(rand.NewSource(11))
	_, f, model := committedRandomFile(t, l, "seq", 12<<20, rng)
	defer f.Release()
	served := 0
	for pass := range 6 {
		for off := 0; off < len(model); off += 128 << 10 {
			got := make([]byte, 128<<10)
			n, err := f.ReadAt(got, int64(off))
			want := model[off:min(len(model), off+len(got))]
			if n != len(want) || !bytes.Equal(got[:n], want) || (err != nil && !isEOF(err)) {
				t.Fatalf("pass %d: read at %d: %d bytes (%v), want %d, equal=%v", pass, off, n, err, len(want), bytes.Equal(got[:n], want))
			}
			f.ra.mu.Lock()
			served += len(f.ra.wins)
			f.ra.mu.Unlock()
			switch rng.Intn(12) {
			case 0: // overwrite bytes a window may already hold
				p := make([]byte, 1+rng.Intn(300<<10))
				rng.Read(p)
				at := off + rng.Intn(3<<20)
				if at+len(p) > len(model) {
					break
				}
				if _, err := f.WriteAt(p, int64(at)); err != nil {
					t.Fatal(err)
				}
				copy(model[at:], p)
			case 1: // commit: the runs change under every window
				if err := f.Commit(); err != nil {
					t.Fatal(err)
				}
			case 2: // shrink ahead of the reader, then grow again with zeros
				cut := off + rng.Intn(2<<20)
				if cut >= len(model) {
					break
				}
				if err := f.Truncate(int64(cut)); err != nil {
					t.Fatal(err)
				}
				if err := f.Truncate(int64(len(model))); err != nil {
					t.Fatal(err)
				}
				clear(model[cut:])
			}
		}
	}
	if served == 0 {
		t.Fatal("no window was ever decrypted ahead: the test did not exercise read-ahead")
	}
	checkContent(t, f, model)
}

// TestReadAheadDroppedOnSeal: sealing the KMS leaves no window (and so no
// plaintext decrypted ahead) behind, and the next read fails with the KMS's
// reason instead of being served from memory.
func TestReadAheadDroppedOnSeal(t *testing.T) {
	l := newTestLayer(t)
	rng := rand.New(rand.NewSource(12))
	_, f, _ := committedRandomFile(t, l, "seq", 8<<20, rng)
	defer f.Release()
	buf := make([]byte, 128<<10)
	for off := int64(0); off < 1<<20; off += int64(len(buf)) {
		if _, err := f.ReadAt(buf, off); err != nil {
			t.Fatal(err)
		}
	}
	f.ra.mu.Lock()
	var held []*raWin
	for _, w := range f.ra.wins {
		held = append(held, w)
	}
	f.ra.mu.Unlock()
	if len(held) == 0 {
		t.Fatal("no window ahead of a sequential reader")
	}
	for _, w := range held {
		<-w.done
	}
	if err := l.KMSSeal(); err != nil {
		t.Fatal(err)
	}
	f.ra.mu.Lock()
	left := len(f.ra.wins)
	f.ra.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d windows survive a seal", left)
	}
	for _, w := range held {
		if !w.dead {
			t.Fatal("a window was not dropped")
		}
	}
	if _, err := f.ReadAt(buf, 1<<20); !errors.Is(err, keyring.ErrSealed) {
		t.Fatalf("read after seal: %v, want ErrSealed", err)
	}
}

// TestReadAheadAfterPurgeOfCurrent: windows decrypted ahead of a reader
// from the current version are never served after a purge of that version
// made an older one current under the open file (the purge replaces the
// open state's run list).
func TestReadAheadAfterPurgeOfCurrent(t *testing.T) {
	l := newTestLayer(t)
	rng := rand.New(rand.NewSource(12))
	n, f, v1 := committedRandomFile(t, l, "purged", 4<<20, rng)
	defer f.Release()
	v2 := make([]byte, len(v1))
	rng.Read(v2)
	if _, err := f.WriteAt(v2, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 128<<10)
	for off := int64(0); off < 1<<20; off += int64(len(buf)) { // a sequential reader: windows of v2 ahead
		if _, err := f.ReadAt(buf, off); err != nil {
			t.Fatal(err)
		}
	}
	f.ra.mu.Lock()
	var wins []*raWin
	for _, w := range f.ra.wins {
		wins = append(wins, w)
	}
	f.ra.mu.Unlock()
	if len(wins) == 0 {
		t.Fatal("no read-ahead window after a sequential read: the test no longer tests anything")
	}
	for _, w := range wins { // decrypted, so the purge below cannot make them fail instead
		<-w.done
	}
	vs, err := l.Versions(n.Ino)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Purge(n.Ino, vs[len(vs)-1].ID, false); err != nil {
		t.Fatal(err)
	}
	for off := int64(1 << 20); off < int64(len(v1)); off += int64(len(buf)) {
		if _, err := f.ReadAt(buf, off); err != nil && !isEOF(err) {
			t.Fatal(err)
		}
		if !bytes.Equal(buf, v1[off:off+int64(len(buf))]) {
			t.Fatalf("read at %d after the purge of the current version: not the bytes of the version now current", off)
		}
	}
}
