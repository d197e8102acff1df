package chunkstore

import (
	"bytes"
	"errors"
	"os"
	"syscall"
	"testing"

	"github.com/ssefs/ssefs/dare"
)

// TestTamperedPartFileNeverReads changes a stored part file the ways an
// attacker with write access to the store can (append, truncate, swap,
// flip, remove) and checks that reading it through Reader always fails
// with an integrity error and never returns bytes. Appended bytes sit past
// the final package, where DARE never looks: only the size check catches
// them, and it does so on any read, not just one of the last package.
func TestTamperedPartFileNeverReads(t *testing.T) {
	oek := randBytes(t, 32)
	pt := randBytes(t, 3*dare.PackageSize+17)
	other := randBytes(t, 2*dare.PackageSize)
	const id, otherID = PartID(7), PartID(8)

	appendBytes := func(b []byte) func(t *testing.T, d *Dir) {
		return func(t *testing.T, d *Dir) {
			f, err := os.OpenFile(d.path(id), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Write(b); err != nil {
				t.Fatal(err)
			}
		}
	}
	truncate := func(size int64) func(t *testing.T, d *Dir) {
		return func(t *testing.T, d *Dir) {
			if err := os.Truncate(d.path(id), size); err != nil {
				t.Fatal(err)
			}
		}
	}
	flip := func(off int64) func(t *testing.T, d *Dir) {
		return func(t *testing.T, d *Dir) {
			b, err := os.ReadFile(d.path(id))
			if err != nil {
				t.Fatal(err)
			}
			if off < 0 {
				off += int64(len(b))
			}
			b[off] ^= 0x40
			if err := os.WriteFile(d.path(id), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	copyOver := func(t *testing.T, d *Dir, from PartID) {
		b, err := os.ReadFile(d.path(from))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(d.path(id), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	encSize := dare.EncryptedSize(int64(len(pt)))
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, d *Dir)
		want   []error // any of these
		// local: the change is inside one package, which only a read of
		// that package notices (the whole-part read here); any other
		// change fails every read.
		local bool
	}{
		{"append one byte", appendBytes([]byte{0}), []error{ErrPartSize}, false},
		{"append a package", appendBytes(make([]byte, dare.PackageSize+32)), []error{ErrPartSize}, false},
		{"truncate one byte", truncate(encSize - 1), []error{ErrPartSize}, false},
		{"truncate to a package", truncate(dare.EncryptedSize(dare.PackageSize)), []error{ErrPartSize}, false},
		{"truncate to empty", truncate(0), []error{ErrPartSize}, false},
		{"flip header", flip(0), []error{dare.ErrAuthentication, dare.ErrFormat}, true},
		{"flip first package", flip(100), []error{dare.ErrAuthentication}, true},
		{"flip last byte", flip(-1), []error{dare.ErrAuthentication}, true},
		{"swap other part, other size", func(t *testing.T, d *Dir) { copyOver(t, d, otherID) }, []error{ErrPartSize}, false},
		{"swap same part under another id", func(t *testing.T, d *Dir) {
			// Same plaintext and size sealed as otherID: only the id-bound
			// key tells them apart.
			twin, err := SealPart(dare.DefaultCipher(), oek, otherID, pt)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(d.path(id), twin, 0o600); err != nil {
				t.Fatal(err)
			}
		}, []error{dare.ErrAuthentication}, false},
		{"remove", func(t *testing.T, d *Dir) { os.Remove(d.path(id)) }, []error{ErrPartNotFound}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := openTestDir(t)
			for pid, data := range map[PartID][]byte{id: pt, otherID: other} {
				sealed, err := SealPart(dare.DefaultCipher(), oek, pid, data)
				if err != nil {
					t.Fatal(err)
				}
				if err := d.Write(pid, sealed); err != nil {
					t.Fatal(err)
				}
			}
			tc.tamper(t, d)
			ranges := [][2]int{{0, len(pt)}, {0, 10}, {len(pt) - 5, 5}}
			if tc.local {
				ranges = ranges[:1]
			}
			for _, rg := range ranges {
				p := make([]byte, rg[1])
				n, err := ReadPartAt(oek, id, d.Reader(id, encSize), encSize, p, int64(rg[0]))
				if !matchesAny(err, tc.want) {
					t.Errorf("read [%d,+%d) = %d, %v; want one of %v", rg[0], rg[1], n, err, tc.want)
				}
				if !bytes.Equal(p[:n], pt[rg[0]:rg[0]+n]) {
					t.Errorf("read returned %d bytes that are not the part's", n)
				}
			}
		})
	}
}

func matchesAny(err error, targets []error) bool {
	for _, e := range targets {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// TestReaderSizeIsCheckedOnceOpen shows the size the fd cache keeps: a part
// read correctly, then read again through a Reader promising another size
// (a run whose record was changed), fails without reopening the file.
func TestReaderSizeIsCheckedOnceOpen(t *testing.T) {
	d := openTestDir(t)
	oek, pt := randBytes(t, 32), randBytes(t, 1000)
	sealed, err := SealPart(dare.DefaultCipher(), oek, 1, pt)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Write(1, sealed); err != nil {
		t.Fatal(err)
	}
	p := make([]byte, len(pt))
	size := int64(len(sealed))
	if n, err := ReadPartAt(oek, 1, d.Reader(1, size), size, p, 0); n != len(pt) || !bytes.Equal(p, pt) {
		t.Fatalf("read = %d, %v", n, err)
	}
	if _, err := d.Reader(1, size+1).ReadAt(p[:1], 0); !errors.Is(err, ErrPartSize) {
		t.Errorf("Reader with a wrong size = %v, want ErrPartSize", err)
	}
}

// TestSpecialFileInPartPlace: a FIFO, a symbolic link (to a device or to a
// part) or a directory at a part's name fails reads, Size and Sync at once
// with ErrPartNotRegular; a FIFO used to block the open for good.
func TestSpecialFileInPartPlace(t *testing.T) {
	oek := randBytes(t, 32)
	pt := randBytes(t, dare.PackageSize+5)
	for name, plant := range map[string]func(p, other string) error{
		"fifo":            func(p, _ string) error { return syscall.Mkfifo(p, 0o600) },
		"symlink to zero": func(p, _ string) error { return os.Symlink("/dev/zero", p) },
		"symlink to part": func(p, other string) error { return os.Symlink(other, p) },
		"directory":       func(p, _ string) error { return os.Mkdir(p, 0o700) },
	} {
		t.Run(name, func(t *testing.T) {
			d, err := OpenDir(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			const id, other = PartID(9), PartID(10)
			for _, i := range []PartID{id, other} {
				sealed, err := SealPart(dare.AES256GCM, oek, i, pt)
				if err != nil {
					t.Fatal(err)
				}
				if err := d.Write(i, sealed); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Remove(d.path(id)); err != nil {
				t.Fatal(err)
			}
			if err := plant(d.path(id), d.path(other)); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, len(pt))
			if _, err := ReadPartAt(oek, id, d.Reader(id, dare.EncryptedSize(int64(len(pt)))), dare.EncryptedSize(int64(len(pt))), buf, 0); !errors.Is(err, ErrPartNotRegular) {
				t.Errorf("read: %v, want ErrPartNotRegular", err)
			}
			if _, err := d.ReadAt(id, buf, 0); !errors.Is(err, ErrPartNotRegular) {
				t.Errorf("ReadAt: %v, want ErrPartNotRegular", err)
			}
			if _, err := d.Size(id); !errors.Is(err, ErrPartNotRegular) {
				t.Errorf("Size: %v, want ErrPartNotRegular", err)
			}
			if err := d.Sync(id); !errors.Is(err, ErrPartNotRegular) {
				t.Errorf("Sync: %v, want ErrPartNotRegular", err)
			}
			if err := d.Write(id, []byte("x")); !errors.Is(err, ErrPartExists) {
				t.Errorf("Write over it: %v, want ErrPartExists", err)
			}
		})
	}
}
