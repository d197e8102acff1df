package fs

import (
	"bytes"
	"io"
	"math/rand"
	"os"
	"testing"

	"github.com/ssefs/ssefs/fusebdi"
)

// TestSequentialReadThroughMount: as root the mount raises the kernel's
// read-ahead to 512 KiB, and a cold sequential read (daemon read-ahead
// windows, part prefetch) returns exactly what was written, also while
// another descriptor overwrites bytes just ahead of the reader.
func TestSequentialReadThroughMount(t *testing.T) {
	m := newTestMount(t)
	if os.Geteuid() == 0 {
		if kib, err := fusebdi.ReadAhead(m.mnt); err != nil || kib != fusebdi.ReadAheadKiB {
			t.Fatalf("kernel read-ahead of the mount: %d KiB (%v), want %d", kib, err, fusebdi.ReadAheadKiB)
		}
	}
	rng := rand.New(rand.NewSource(3))
	want := make([]byte, 24<<20+12345)
	rng.Read(want)
	p := m.path("big")
	if err := os.WriteFile(p, want, 0o644); err != nil {
		t.Fatal(err)
	}
	m.remount() // nothing of it in the kernel's page cache
	r, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var got bytes.Buffer
	buf := make([]byte, 1<<20)
	for {
		if pos := got.Len(); pos > 0 && pos%(4<<20) == 0 && pos+(3<<20) < len(want) {
			patch := bytes.Repeat([]byte{byte(pos >> 20)}, 70000)
			at := pos + (2 << 20) + 100
			if _, err := w.WriteAt(patch, int64(at)); err != nil {
				t.Fatal(err)
			}
			copy(want[at:], patch)
		}
		n, err := r.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("read %d bytes, want %d; content differs", got.Len(), len(want))
	}
}
