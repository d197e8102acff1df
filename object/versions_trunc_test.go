package object

import (
	"bytes"
	"errors"
	"testing"
)

// TestTruncateAtOpenIsOneVersion: a shell's `>` opens with O_TRUNC, closes
// a duplicate descriptor (a flush with nothing written yet), writes, and
// closes: one version, as one S3 PUT. Opening with O_TRUNC and closing
// without writing is one (empty) version too, made at the release.
func TestTruncateAtOpenIsOneVersion(t *testing.T) {
	l := newTestLayer(t)
	ino := writeObj(t, l, "f", "old content")
	for _, tc := range []struct {
		name    string
		content string // written after the truncate; "" writes nothing
	}{
		{"truncate, flush, write, close", "new content"},
		{"truncate, close", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := versionIDs(t, l, ino)
			f, err := l.OpenFile(ino)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Truncate(0); err != nil {
				t.Fatal(err)
			}
			if err := f.Flush(); err != nil { // close(3) after dup2(3, 1)
				t.Fatal(err)
			}
			if tc.content != "" {
				if _, err := f.WriteAt([]byte(tc.content), 0); err != nil {
					t.Fatal(err)
				}
				if err := f.Flush(); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.Release(); err != nil {
				t.Fatal(err)
			}
			after := versionIDs(t, l, ino)
			if len(after) != len(before)+1 {
				t.Fatalf("%d versions after one open, want %d", len(after), len(before)+1)
			}
			if got := currentContent(t, l, ino); !bytes.Equal(got, []byte(tc.content)) {
				t.Fatalf("current version %q, want %q", got, tc.content)
			}
		})
	}
}

// TestHugeOffsetsAreEFBIG: writes and truncates past MaxFileSize fail with
// ErrFileTooBig (EFBIG) instead of overflowing; a write that crosses the
// limit is short, as on ext4; the file is otherwise unchanged.
func TestHugeOffsetsAreEFBIG(t *testing.T) {
	l := newTestLayer(t)
	ino := writeObj(t, l, "f", "content")
	f, err := l.OpenFile(ino)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	for _, tc := range []struct {
		off  int64
		n    int
		want int // bytes written
	}{
		{1<<63 - 2, 2, 0},
		{1<<63 - 65536, 65536, 0},
		{1<<63 - 1, 1, 0},
		{MaxFileSize, 1, 0},
		{MaxFileSize - 1, 2, 1},
	} {
		n, err := f.WriteAt(make([]byte, tc.n), tc.off)
		if n != tc.want || !errors.Is(err, ErrFileTooBig) {
			t.Errorf("write of %d at %d: %d, %v; want %d, ErrFileTooBig", tc.n, tc.off, n, err, tc.want)
		}
	}
	if got := f.Size(); got != MaxFileSize {
		t.Fatalf("size %d after the short write, want %d", got, int64(MaxFileSize))
	}
	for _, size := range []int64{MaxFileSize + 1, 1<<63 - 1} {
		if err := f.Truncate(size); !errors.Is(err, ErrFileTooBig) {
			t.Errorf("truncate to %d: %v, want ErrFileTooBig", size, err)
		}
	}
	if err := f.Truncate(7); err != nil {
		t.Fatal(err)
	}
	checkContent(t, f, []byte("content"))
}
