package fusebdi

import (
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
)

// The round trip through a real FUSE mount is fs.TestSequentialReadThroughMount;
// these check the lookup of a filesystem's bdi without changing any setting.

func TestReadAheadOfMissingPath(t *testing.T) {
	if _, err := ReadAhead(filepath.Join(t.TempDir(), "absent")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadAhead of a missing path: %v, want ErrNotExist", err)
	}
	if err := SetReadAhead(filepath.Join(t.TempDir(), "absent"), 512); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("SetReadAhead of a missing path: %v, want ErrNotExist", err)
	}
}
