package chunkstore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ssefs/ssefs/dare"
)

func openTestDir(t testing.TB) *Dir {
	t.Helper()
	d, err := OpenDir(filepath.Join(t.TempDir(), "parts"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestOpenDirCreatesPrivateRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "parts")
	d, err := OpenDir(root)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	st, err := os.Stat(root)
	if err != nil || !st.IsDir() || st.Mode().Perm()&0o077 != 0 {
		t.Fatalf("root: %v, %v", st.Mode(), err)
	}
	if _, err := OpenDir(root); err != nil {
		t.Errorf("reopening: %v", err)
	}
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o600)
	if _, err := OpenDir(file); err == nil {
		t.Error("OpenDir on a regular file succeeded")
	}
}

func TestPartPath(t *testing.T) {
	d := openTestDir(t)
	for _, tc := range []struct {
		id   PartID
		want string
	}{
		{0, "00/00/0000000000000000"},
		{1, "00/00/0000000000000001"},
		{0x1234, "00/12/0000000000001234"},
		{0xdeadbeef00abcdef, "ab/cd/deadbeef00abcdef"},
	} {
		if got, _ := filepath.Rel(d.root, d.path(tc.id)); got != tc.want {
			t.Errorf("path(%#x) = %s, want %s", uint64(tc.id), got, tc.want)
		}
	}
	if err := d.Write(0x1234, []byte("x")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(d.root, "00/12/0000000000001234"))
	if err != nil || st.Mode().Perm()&0o077 != 0 {
		t.Fatalf("part file: %v, %v", st, err)
	}
	for _, dir := range []string{"00", "00/12"} {
		st, err := os.Stat(filepath.Join(d.root, dir))
		if err != nil || st.Mode().Perm()&0o077 != 0 {
			t.Errorf("shard %s: %v, %v", dir, st, err)
		}
	}
}

func TestWriteReadRemove(t *testing.T) {
	d := openTestDir(t)
	data := []byte("sealed bytes")
	if err := d.Write(5, data); err != nil {
		t.Fatal(err)
	}
	err := d.Write(5, []byte("other"))
	if !errors.Is(err, ErrPartExists) || !errors.Is(err, fs.ErrExist) {
		t.Errorf("second Write = %v, want ErrPartExists", err)
	}
	p := make([]byte, len(data)+5)
	n, err := d.ReadAt(5, p, 0)
	if n != len(data) || err != io.EOF || !bytes.Equal(p[:n], data) {
		t.Errorf("ReadAt = %d %q, %v", n, p[:n], err)
	}
	n, err = d.ReadAt(5, p[:4], 7)
	if n != 4 || err != nil || string(p[:4]) != "byte" {
		t.Errorf("ReadAt(off 7) = %d %q, %v", n, p[:n], err)
	}
	if err := d.Sync(5); err != nil {
		t.Errorf("Sync: %v", err)
	}
	if err := d.Remove(5); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadAt(5, p, 0); !errors.Is(err, ErrPartNotFound) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadAt after Remove (fd was cached) = %v, want ErrPartNotFound", err)
	}
	if _, err := d.Size(5); !errors.Is(err, ErrPartNotFound) {
		t.Errorf("Size after Remove = %v", err)
	}
	if err := d.Remove(5); err != nil {
		t.Errorf("Remove of a missing part = %v, want nil", err)
	}
	if err := d.Sync(5); !errors.Is(err, ErrPartNotFound) {
		t.Errorf("Sync of a missing part = %v, want ErrPartNotFound", err)
	}
	if d.fds.len() != 0 {
		t.Errorf("%d fds cached after Remove", d.fds.len())
	}
}

func TestSyncMany(t *testing.T) {
	d := openTestDir(t)
	var ids []PartID
	for i := range 40 {
		id := PartID(i * 97)
		ids = append(ids, id)
		if err := d.Write(id, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if len(d.dirty) == 0 {
		t.Fatal("new shard directories were not recorded for Sync")
	}
	if err := d.Sync(ids...); err != nil {
		t.Fatal(err)
	}
	if len(d.dirty) != 0 {
		t.Errorf("%d directories still dirty after Sync", len(d.dirty))
	}
	if err := d.Sync(); err != nil {
		t.Errorf("empty Sync: %v", err)
	}
}

func TestWalkUsage(t *testing.T) {
	d := openTestDir(t)
	want := map[PartID]int64{}
	var total int64
	for i := range 300 {
		id := PartID(i*7919 + 3)
		data := make([]byte, i%50+1)
		if err := d.Write(id, data); err != nil {
			t.Fatal(err)
		}
		want[id] = int64(len(data))
		total += int64(len(data))
	}
	// Strays that are not parts must be ignored.
	os.WriteFile(filepath.Join(d.root, "store.lock"), nil, 0o600)
	os.WriteFile(filepath.Join(d.shardDir(3), "0000000000000003.tmp"), nil, 0o600)
	os.WriteFile(filepath.Join(d.shardDir(3), PartID(0x40000).String()), nil, 0o600) // wrong shard
	os.MkdirAll(filepath.Join(d.root, "zz", "00"), 0o700)

	got := map[PartID]int64{}
	err := d.Walk(func(id PartID, size int64) error {
		if _, dup := got[id]; dup {
			t.Errorf("Walk visited %v twice", id)
		}
		got[id] = size
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("Walk found %d parts, want %d", len(got), len(want))
	}
	for id, size := range want {
		if got[id] != size {
			t.Errorf("Walk: part %v size %d, want %d", id, got[id], size)
		}
	}
	bytes, parts, err := d.Usage()
	if err != nil || bytes != total || parts != int64(len(want)) {
		t.Errorf("Usage = %d bytes, %d parts, %v; want %d, %d", bytes, parts, err, total, len(want))
	}
	stop := errors.New("stop")
	calls := 0
	if err := d.Walk(func(PartID, int64) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("Walk with failing fn = %v after %d calls", err, calls)
	}
}

// TestReplayAndSplice: part files copied onto other ids, or between
// objects, never decrypt.
func TestReplayAndSplice(t *testing.T) {
	for _, c := range []dare.Cipher{dare.AES256GCM, dare.ChaCha20Poly1305} {
		d := openTestDir(t)
		oek, other := randBytes(t, 32), randBytes(t, 32)
		pa, pb := randBytes(t, 1000), randBytes(t, 1000)
		a, _ := SealPart(c, oek, 1, pa)
		b, _ := SealPart(c, oek, 2, pb)
		x, _ := SealPart(c, other, 2, pb)
		for id, data := range map[PartID][]byte{1: a, 2: b} {
			if err := d.Write(id, data); err != nil {
				t.Fatal(err)
			}
		}
		// Replay: an older part A's file is copied over part B's file.
		read := func(id PartID) []byte {
			sz, _ := d.Size(id)
			raw := make([]byte, sz)
			d.ReadAt(id, raw, 0)
			return raw
		}
		d.Remove(2)
		if err := d.Write(2, read(1)); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenPart(oek, 2, read(2)); !errors.Is(err, dare.ErrAuthentication) {
			t.Errorf("%v: replayed part A as B: %v", c, err)
		}
		p := make([]byte, 10)
		if _, err := ReadPartAt(oek, 2, d.Reader(2, int64(len(a))), int64(len(a)), p, 500); !errors.Is(err, dare.ErrAuthentication) {
			t.Errorf("%v: ReadPartAt of replayed part: %v", c, err)
		}
		// Splice from another object: same id, other OEK.
		d.Remove(2)
		d.Write(2, x)
		if _, err := OpenPart(oek, 2, read(2)); !errors.Is(err, dare.ErrAuthentication) {
			t.Errorf("%v: part of another object: %v", c, err)
		}
	}
}

// TestConcurrentReadRemove runs readers against parts being removed, with
// more parts than the fd cache holds; run with -race.
func TestConcurrentReadRemove(t *testing.T) {
	d := openTestDir(t)
	const parts = fdCacheSize * 2
	data := bytes.Repeat([]byte("abcdefgh"), 512)
	for i := range parts {
		if err := d.Write(PartID(i), data); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	for g := range 8 {
		wg.Go(func() {
			p := make([]byte, 64)
			for j := range 2000 {
				id := PartID((g*31 + j) % parts)
				n, err := d.ReadAt(id, p, int64(j%len(data)/8*8))
				if errors.Is(err, ErrPartNotFound) {
					continue
				}
				if err != nil && err != io.EOF || n > 0 && !bytes.Equal(p[:n], data[:n]) {
					errc <- fmt.Errorf("ReadAt(%v) = %d, %v", id, n, err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := 0; i < parts; i += 2 {
			if err := d.Remove(PartID(i)); err != nil {
				errc <- err
				return
			}
		}
	})
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if n := d.fds.len(); n > fdCacheSize {
		t.Errorf("fd cache holds %d entries, limit %d", n, fdCacheSize)
	}
	for i := 0; i < parts; i += 2 {
		if _, err := d.ReadAt(PartID(i), make([]byte, 1), 0); !errors.Is(err, ErrPartNotFound) {
			t.Errorf("removed part %d still readable: %v", i, err)
		}
	}
}

func TestClose(t *testing.T) {
	d := openTestDir(t)
	if err := d.Write(1, []byte("x")); err != nil {
		t.Fatal(err)
	}
	d.ReadAt(1, make([]byte, 1), 0)
	d.Close()
	if _, err := d.ReadAt(1, make([]byte, 1), 0); !errors.Is(err, ErrClosed) {
		t.Errorf("ReadAt after Close = %v", err)
	}
	if err := d.Write(2, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %v", err)
	}
	if d.fds.len() != 0 {
		t.Errorf("%d fds open after Close", d.fds.len())
	}
}
