package chunkstore

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteDirect: parts big enough for O_DIRECT read back byte for byte,
// whatever their length's alignment, their buffer's alignment, and whether
// the filesystem supports O_DIRECT at all (tmpfs does not).
func TestWriteDirect(t *testing.T) {
	roots := []string{t.TempDir()}
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		shm, err := os.MkdirTemp("/dev/shm", "ssefs-direct-")
		if err == nil {
			defer os.RemoveAll(shm)
			roots = append(roots, shm)
		}
	}
	big := make([]byte, 5<<20+8192)
	rand.Read(big)
	cases := []struct {
		name string
		data []byte
	}{
		{"aligned length", big[:4<<20]},
		{"unaligned tail", big[:3<<20+12345]},
		{"unaligned buffer", big[1 : 2<<20+1]},
		{"below the direct minimum", big[:directMin-1]},
		{"shorter than one block past the minimum", big[:directMin+1]},
	}
	for _, root := range roots {
		d, err := OpenDir(filepath.Join(root, "parts"))
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range cases {
			id := PartID(i + 1)
			if err := d.Write(id, c.data); err != nil {
				t.Fatalf("%s on %s: %v", c.name, root, err)
			}
			if err := d.Sync(id); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(d.path(id))
			if err != nil || !bytes.Equal(got, c.data) {
				t.Fatalf("%s on %s: read back %d bytes (%v), want %d identical", c.name, root, len(got), err, len(c.data))
			}
			buf := make([]byte, len(c.data))
			if n, err := d.ReadAt(id, buf, 0); n != len(buf) || !bytes.Equal(buf, c.data) {
				t.Fatalf("%s on %s: ReadAt %d, %v", c.name, root, n, err)
			}
		}
		d.Close()
	}
}
