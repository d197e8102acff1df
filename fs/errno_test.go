package fs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/ssefs/ssefs/chunkstore"
	"github.com/ssefs/ssefs/dare"
	"github.com/ssefs/ssefs/keyring"
	"github.com/ssefs/ssefs/object"
	"github.com/ssefs/ssefs/store"
)

// logCapture collects what the log package prints while a test runs.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	os.Stderr.Write(p) // still shown with -v
	return c.buf.Write(p)
}

// String returns everything logged so far.
func (c *logCapture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// Reset forgets what was logged so far.
func (c *logCapture) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Reset()
}

// captureLog sends the log package's output (the mount's log: mount.log
// when ssefs runs as a daemon) to a buffer until the test ends.
func captureLog(t testing.TB) *logCapture {
	c := &logCapture{}
	prev := log.Writer()
	log.SetOutput(c)
	t.Cleanup(func() { log.SetOutput(prev) })
	return c
}

// missingPartError is what the part directory really returns for a part
// file that is gone: ErrPartNotFound wrapping the open's ENOENT.
func missingPartError(t *testing.T) error {
	d, err := chunkstore.OpenDir(filepath.Join(t.TempDir(), "parts"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_, err = d.Reader(42, 100).ReadAt(make([]byte, 1), 0)
	if !errors.Is(err, chunkstore.ErrPartNotFound) {
		t.Fatalf("reading a missing part = %v, want ErrPartNotFound", err)
	}
	return fmt.Errorf("object 7 part 42 at 0: %w", err)
}

// TestToErrno is the errno table: every typed error the lower layers
// return, bare and wrapped as they arrive at the FUSE edge, with the errno
// a caller must see and whether the mount's log must name it. It is
// written out here rather than derived from errnoTable, so a wrong entry
// or a wrong precedence there fails it, and it must cover every entry.
func TestToErrno(t *testing.T) {
	pathErr := func(errno syscall.Errno) error {
		return &os.PathError{Op: "open", Path: "/store/parts/00/00/000000000000002a", Err: errno}
	}
	cases := []struct {
		name  string
		err   error
		errno syscall.Errno
		log   string // a substring the log line must hold; "" = no log line
	}{
		{"not found", object.ErrNotFound, syscall.ENOENT, ""},
		{"exists", object.ErrExists, syscall.EEXIST, ""},
		{"not empty", object.ErrNotEmpty, syscall.ENOTEMPTY, ""},
		{"not dir", object.ErrNotDir, syscall.ENOTDIR, ""},
		{"is dir", object.ErrIsDir, syscall.EISDIR, ""},
		{"invalid", object.ErrInvalid, syscall.EINVAL, ""},
		{"lock disabled", object.ErrLockDisabled, syscall.EOPNOTSUPP, ""},
		{"lock past until", object.ErrLockPastUntil, syscall.EINVAL, ""},
		{"lock bad mode", object.ErrLockBadMode, syscall.EINVAL, ""},
		{"lock not version", object.ErrLockNotVersion, syscall.EINVAL, ""},
		{"no data", object.ErrNoData, syscall.ENODATA, ""},
		{"too big", object.ErrTooBig, syscall.E2BIG, ""},
		{"name too long", object.ErrNameTooLong, syscall.ENAMETOOLONG, ""},
		{"key deleted", keyring.ErrKeyDeleted, syscall.EKEYREVOKED, ""},
		{"kms sealed", keyring.ErrSealed, syscall.ENOKEY, ""},
		{"key sealed", keyring.ErrKeySealed, syscall.ENOKEY, ""},
		{"key not found", keyring.ErrKeyNotFound, syscall.ENOKEY, ""},
		{"unseal", keyring.ErrUnseal, syscall.EACCES, "does not unseal"},
		{"unseal as it arrives", fmt.Errorf("%w: %w", keyring.ErrUnseal, dare.ErrAuthentication), syscall.EACCES, "does not unseal"},
		{"no customer key", object.ErrNoCustomerKey, syscall.ENOKEY, ""},
		{"wrong customer key", object.ErrWrongCustomerKey, syscall.EACCES, ""},
		{"wrong customer key as it arrives", fmt.Errorf("%w: %w", object.ErrWrongCustomerKey, fmt.Errorf("%w: %w", keyring.ErrUnseal, dare.ErrAuthentication)), syscall.EACCES, ""},
		{"customer key format", object.ErrCustomerKeyFormat, syscall.EINVAL, ""},
		{"invalid key name", keyring.ErrInvalidKeyName, syscall.EINVAL, ""},
		{"key exists", keyring.ErrKeyExists, syscall.EEXIST, ""},
		{"no space", syscall.ENOSPC, syscall.ENOSPC, ""},
		{"no space in a path error", pathErr(syscall.ENOSPC), syscall.ENOSPC, ""},
		{"space kept for the metadata", store.ErrNoSpace, syscall.ENOSPC, ""},
		{"space kept for the metadata as it arrives", fmt.Errorf("object 7: chunkstore: writing part 2: %w",
			&store.NoSpaceError{Dir: "/store", Free: 1, Need: 2, Stage: "storing a part"}), syscall.ENOSPC, ""},
		{"quota", syscall.EDQUOT, syscall.EDQUOT, ""},
		{"file too big", object.ErrFileTooBig, syscall.EFBIG, ""},
		{"read-only", syscall.EROFS, syscall.EROFS, ""},
		{"locked", object.ErrLocked, syscall.EPERM, "object lock"},

		// Integrity failures: EIO and a log line, whatever else they wrap.
		{"authentication", dare.ErrAuthentication, syscall.EIO, "INTEGRITY"},
		{"malformed stream", dare.ErrFormat, syscall.EIO, "INTEGRITY"},
		{"unsupported DARE version", dare.ErrUnsupportedVersion, syscall.EIO, "INTEGRITY"},
		{"corrupt metadata", object.ErrCorrupt, syscall.EIO, "INTEGRITY"},
		{"missing part file", missingPartError(t), syscall.EIO, "part 42"},
		{"part of the wrong size", fmt.Errorf("object 7 part 42: %w", chunkstore.ErrPartSize), syscall.EIO, "part 42"},
		{"part file not a regular file", fmt.Errorf("object 7 part 42 at 0: %w: 000000000000002a: %w", chunkstore.ErrPartNotRegular, pathErr(syscall.ELOOP)), syscall.EIO, "part 42"},
		{"missing inline part", fmt.Errorf("object 7 inline part 42: %w", chunkstore.ErrPartNotFound), syscall.EIO, "inline part 42"},
		{"authentication wrapping not found", fmt.Errorf("%w: %w", object.ErrNotFound, dare.ErrAuthentication), syscall.EIO, "INTEGRITY"},
		{"missing store file", pathErr(syscall.ENOENT), syscall.EIO, "missing data"},
		{"unexpected", errors.New("something odd"), syscall.EIO, "something odd"},
		{"bare errno", syscall.EINTR, syscall.EINTR, ""},
	}
	logged := captureLog(t)
	for _, tc := range cases {
		for i, err := range []error{tc.err, fmt.Errorf("object 7: %w", tc.err), fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", tc.err))} {
			logged.Reset()
			if got := toErrno(context.Background(), "read", err); got != tc.errno {
				t.Errorf("%s (wrapped %d times): toErrno(%v) = %v, want %v", tc.name, i, err, got, tc.errno)
			}
			out := logged.String()
			switch {
			case tc.log == "" && out != "":
				t.Errorf("%s: logged %q, want no log line", tc.name, out)
			case tc.log != "" && !strings.Contains(out, tc.log):
				t.Errorf("%s: logged %q, want a line holding %q", tc.name, out, tc.log)
			}
		}
	}
	covered := func(target error) bool {
		for _, tc := range cases {
			if errors.Is(tc.err, target) {
				return true
			}
		}
		return false
	}
	for _, e := range errnoTable {
		if !covered(e.err) {
			t.Errorf("errnoTable maps %v, which this test does not check", e.err)
		}
	}
	for _, e := range integrityErrors {
		if !covered(e) {
			t.Errorf("integrityErrors holds %v, which this test does not check", e)
		}
	}
}
