package object

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"testing"
)

// The write-back pipeline's error paths: each test makes a step fail for
// real (a full tmpfs, an immutable directory, a part file that vanishes,
// a stored part that no longer authenticates) and checks the versions
// committed, byte for byte.

// currentContent reads the committed current version of ino (not the
// open state), or nil when the file has no version.
func currentContent(t *testing.T, l *Layer, ino Ino) []byte {
	t.Helper()
	n, err := l.Inode(ino)
	if err != nil {
		t.Fatal(err)
	}
	if n.Version == 0 {
		return nil
	}
	v, err := l.OpenVersion(ino, n.Version)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, v.Size())
	if k, err := v.ReadAt(b, 0); k != len(b) || (err != nil && !isEOF(err)) {
		t.Fatalf("reading the current version: %d of %d bytes: %v", k, len(b), err)
	}
	return b
}

// partFiles lists the part files of the store.
func partFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(filepath.Join(dir, "parts"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && len(d.Name()) == 16 {
			out = append(out, d.Name())
		}
		return nil
	})
	slices.Sort(out)
	return out
}

// smallPartsDisk puts the store's part directory on a tmpfs of size bytes
// (the metadata stays where it is: a full disk under Badger is another
// matter), as a nearly full disk.
func smallPartsDisk(t *testing.T, r *reopenable, size int) {
	t.Helper()
	r.close(t)
	parts := filepath.Join(r.dir, "parts")
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", parts).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() {
		r.close(t)
		exec.Command("umount", "-l", parts).Run()
	})
	r.open(t)
}

// immutableParts makes every directory of the part store immutable, so
// part files can be neither created nor removed (EPERM).
func immutableParts(t *testing.T, dir string) (undo func()) {
	t.Helper()
	var dirs []string
	filepath.WalkDir(filepath.Join(dir, "parts"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for _, d := range dirs {
		if out, err := exec.Command("chattr", "+i", d).CombinedOutput(); err != nil {
			t.Skipf("cannot make part directories immutable here: %v %s", err, out)
		}
	}
	undo = func() {
		for _, d := range dirs {
			exec.Command("chattr", "-i", d).Run()
		}
	}
	t.Cleanup(undo)
	return undo
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	rng.Read(b)
	return b
}

// writeAll writes b from offset 0 in 1 MiB writes, as cp does, and returns
// the first error (later writes are still made).
func writeAll(f *File, b []byte) error {
	var first error
	for off := 0; off < len(b); off += 1 << 20 {
		if _, err := f.WriteAt(b[off:min(len(b), off+1<<20)], int64(off)); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// TestFullDiskNeverCommitsZeros is the cp of a file bigger than the free
// space: writes and close fail with ENOSPC, the current version stays what
// it was (absent for a new file) and the failed session's parts are gone;
// a commit after space is freed stores the complete new content.
func TestFullDiskNeverCommitsZeros(t *testing.T) {
	for _, tc := range []struct {
		name      string
		old       int // committed content before the cp; 0: a new file
		freeSpace bool
	}{
		{"new file", 0, false},
		{"overwrite", 3 << 20, false},
		{"new file, space freed", 0, true},
		{"overwrite, space freed", 3 << 20, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReopenable(t)
			smallPartsDisk(t, r, 16<<20)
			rng := rand.New(rand.NewSource(int64(tc.old) + 1))
			n := createFile(t, r.l, RootIno, "f")
			old := randomBytes(rng, tc.old)
			if tc.old > 0 {
				f, _ := r.l.OpenFile(n.Ino)
				if err := writeAll(f, old); err != nil {
					t.Fatal(err)
				}
				if err := f.Release(); err != nil {
					t.Fatal(err)
				}
			} else {
				old = nil
			}
			filler := filepath.Join(r.dir, "parts", "filler")
			if err := os.WriteFile(filler, make([]byte, 8<<20), 0o600); err != nil {
				t.Fatal(err)
			}
			before, versions := partFiles(t, r.dir), versionIDs(t, r.l, n.Ino)

			f, err := r.l.OpenFile(n.Ino)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Truncate(0); err != nil { // O_TRUNC
				t.Fatal(err)
			}
			content := randomBytes(rng, 12<<20) // more than the ~5 MiB free
			werr := writeAll(f, content)
			ferr := f.Flush()
			if !errors.Is(ferr, syscall.ENOSPC) {
				t.Fatalf("close: %v (a write: %v), want ENOSPC", ferr, werr)
			}
			if err := f.Sync(); !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fsync after the failed close: %v, want ENOSPC", err)
			}
			if got := versionIDs(t, r.l, n.Ino); !slices.Equal(got, versions) {
				t.Fatalf("versions %v after the failed close, want %v", got, versions)
			}
			if got := currentContent(t, r.l, n.Ino); !bytes.Equal(got, old) {
				t.Fatalf("current version is %d bytes, not the old %d bytes", len(got), len(old))
			}
			checkContent(t, f, content) // nothing written is lost while open
			if tc.freeSpace {
				os.Remove(filler)
				if err := f.Flush(); err != nil {
					t.Fatalf("close after space was freed: %v", err)
				}
				if err := f.Release(); err != nil {
					t.Fatal(err)
				}
				if got := currentContent(t, r.l, n.Ino); !bytes.Equal(got, content) {
					t.Fatal("the commit after space was freed is not the complete content")
				}
				checkNoReservations(t, r.l)
				checkAfterReopen(t, r, n.Ino, content)
				return
			}
			if err := f.Release(); !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("last release: %v, want ENOSPC", err)
			}
			if got := partFiles(t, r.dir); !slices.Equal(got, before) {
				t.Fatalf("part files %v after the failed session, want %v (its parts removed)", got, before)
			}
			checkNoReservations(t, r.l)
			if got := versionIDs(t, r.l, n.Ino); !slices.Equal(got, versions) {
				t.Fatalf("versions %v after release, want %v", got, versions)
			}
			checkAfterReopen(t, r, n.Ino, old)
		})
	}
}

// TestUnwritablePartsFailClose: a part that cannot be written for another
// reason than space (an immutable directory: EPERM) fails the close with
// ErrWriteBack (EIO at the FUSE edge), and no version is committed.
func TestUnwritablePartsFailClose(t *testing.T) {
	r := newReopenable(t)
	rng := rand.New(rand.NewSource(3))
	n, f, old := committedRandomFile(t, r.l, "f", 2<<20, rng)
	f.Release()
	versions := versionIDs(t, r.l, n.Ino)
	undo := immutableParts(t, r.dir)
	f, err := r.l.OpenFile(n.Ino)
	if err != nil {
		t.Fatal(err)
	}
	content := randomBytes(rng, 10<<20)
	writeAll(f, content)
	err = f.Flush()
	if !errors.Is(err, ErrWriteBack) || errors.Is(err, syscall.EPERM) {
		t.Fatalf("close: %v, want ErrWriteBack and no raw EPERM", err)
	}
	if err := f.Release(); err == nil {
		t.Fatal("last release committed while parts cannot be written")
	}
	undo()
	if got := versionIDs(t, r.l, n.Ino); !slices.Equal(got, versions) {
		t.Fatalf("versions %v, want %v", got, versions)
	}
	checkAfterReopen(t, r, n.Ino, old)
}

// TestVanishedPartFailsCommit: commit makes the parts durable before it
// writes the version, so a part file that is gone by then (deleted behind
// the mount, or an fdatasync that failed) fails the commit and no version
// references it. The failure latches: the bytes are no longer in memory,
// so even when the part is back no later commit of that open state is
// made, and the release removes the session's parts.
func TestVanishedPartFailsCommit(t *testing.T) {
	r := newReopenable(t)
	rng := rand.New(rand.NewSource(4))
	n, f, old := committedRandomFile(t, r.l, "f", 1<<20, rng)
	f.Release()
	versions := versionIDs(t, r.l, n.Ino)
	before := partFiles(t, r.dir)

	f, err := r.l.OpenFile(n.Ino)
	if err != nil {
		t.Fatal(err)
	}
	content := randomBytes(rng, 20<<20) // spills in the background
	if err := writeAll(f, content); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.drainLocked()
	if len(f.pending) == 0 {
		f.mu.Unlock()
		t.Fatal("nothing was spilled")
	}
	victim := filepath.Join(shardOf(r.dir, f.pending[0].id), f.pending[0].id.String())
	f.mu.Unlock()
	if err := os.Rename(victim, victim+".away"); err != nil {
		t.Fatal(err)
	}
	if err := f.Flush(); err == nil {
		t.Fatal("commit succeeded with a part file missing")
	}
	if got := versionIDs(t, r.l, n.Ino); !slices.Equal(got, versions) {
		t.Fatalf("versions %v after the failed commit, want %v", got, versions)
	}
	if err := os.Rename(victim+".away", victim); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err == nil {
		t.Fatal("a later fsync committed after a failed part sync")
	}
	if _, err := f.WriteAt([]byte("x"), 0); err == nil {
		t.Fatal("a write was accepted after a failed part sync")
	}
	if err := f.Release(); err == nil {
		t.Fatal("the last release committed after a failed part sync")
	}
	if got := versionIDs(t, r.l, n.Ino); !slices.Equal(got, versions) {
		t.Fatalf("versions %v after release, want %v", got, versions)
	}
	if got := partFiles(t, r.dir); !slices.Equal(got, before) {
		t.Fatalf("%d part files after the failed session, want the %d from before", len(got), len(before))
	}
	checkNoReservations(t, r.l)
	checkAfterReopen(t, r, n.Ino, old)
}

// TestLostBufferLatches: when a spill fails and the chunk's buffers cannot
// be merged back (the stored bytes under a sparse buffer no longer
// authenticate), older buffers of the chunk are gone. No commit of that
// open state may then succeed, even once the stored part is readable again:
// it would be a version with a gap.
func TestLostBufferLatches(t *testing.T) {
	r := newReopenable(t)
	rng := rand.New(rand.NewSource(6))
	n, f, old := committedRandomFile(t, r.l, "f", 256<<10, rng)
	f.Release()
	versions := versionIDs(t, r.l, n.Ino)
	f, err := r.l.OpenFile(n.Ino)
	if err != nil {
		t.Fatal(err)
	}
	// Chunk 0 gets two sparse buffers: one taken for a spill (in flight),
	// and a newer one that does not touch it.
	if _, err := f.WriteAt([]byte("older write"), 1000); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	batches := f.takeBatches(f.l.fileParts())
	f.mu.Unlock()
	if _, err := f.WriteAt([]byte("newer write"), 30000); err != nil {
		t.Fatal(err)
	}
	part := f.runs[0].Part
	path := filepath.Join(shardOf(r.dir, part), part.String())
	flipByte(t, path, 100)
	f.mu.Lock()
	batches[0].err = errors.New("injected: writing the part failed")
	f.install(batches[0])
	f.mu.Unlock()
	flipByte(t, path, 100) // readable again
	for i := range 2 {
		if err := f.Flush(); err == nil {
			t.Fatalf("commit %d succeeded after a buffer was lost", i+1)
		}
	}
	if err := f.Release(); err == nil {
		t.Fatal("the last release committed after a buffer was lost")
	}
	if got := versionIDs(t, r.l, n.Ino); !slices.Equal(got, versions) {
		t.Fatalf("versions %v, want %v", got, versions)
	}
	checkAfterReopen(t, r, n.Ino, old)
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	b := make([]byte, 1)
	if _, err := fh.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x55
	if _, err := fh.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestOpenDuringFailedReleaseKeepsBuffers: an open that takes the shared
// state while the last release's commit fails (a full disk) must find the
// buffers intact: the release drops the state only if it is still the
// last reference. Dropping them anyway left a state whose unstored ranges
// read as zeros, and whose next commit made them a version.
func TestOpenDuringFailedReleaseKeepsBuffers(t *testing.T) {
	r := newReopenable(t)
	smallPartsDisk(t, r, 16<<20)
	filler := filepath.Join(r.dir, "parts", "filler")
	if err := os.WriteFile(filler, make([]byte, 10<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(10))
	n := createFile(t, r.l, RootIno, "f")
	f, err := r.l.OpenFile(n.Ino)
	if err != nil {
		t.Fatal(err)
	}
	content := randomBytes(rng, 12<<20)
	writeAll(f, content)
	refs := func() int {
		r.l.filesMu.Lock()
		defer r.l.filesMu.Unlock()
		return f.refs
	}
	// Hold the state while the release starts (refs drops to 0) and a new
	// open joins it (refs back to 1), then let the release's commit fail.
	f.mu.Lock()
	released := make(chan error, 1)
	go func() { released <- f.Release() }()
	for refs() != 0 {
		runtime.Gosched()
	}
	opened := make(chan *File, 1)
	go func() {
		g, err := r.l.OpenFile(n.Ino)
		if err != nil {
			t.Error(err)
		}
		opened <- g
	}()
	for refs() != 1 {
		runtime.Gosched()
	}
	f.mu.Unlock()
	if err := <-released; !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("release on a full disk: %v, want ENOSPC", err)
	}
	g := <-opened
	if g == nil {
		t.FailNow()
	}
	checkContent(t, g, content)
	os.Remove(filler)
	if err := g.Flush(); err != nil {
		if err = g.Flush(); err != nil { // the first may report the old failure
			t.Fatal(err)
		}
	}
	if err := g.Release(); err != nil {
		t.Fatal(err)
	}
	if got := currentContent(t, r.l, n.Ino); !bytes.Equal(got, content) {
		t.Fatal("the commit after space was freed is not the complete content")
	}
}
