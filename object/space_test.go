package object

import (
	"bytes"
	"crypto/rand"
	"errors"
	mrand "math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ssefs/ssefs/dare"
	"github.com/ssefs/ssefs/keyring"
	"github.com/ssefs/ssefs/store"
)

// TestPartFloorIsFullDisk: a part refused because it would eat the space
// kept for the metadata (store.ErrNoSpace, not an errno from the file
// system) is a full disk for the write-back pipeline like a real ENOSPC:
// close fails with ENOSPC (not EIO), no version is committed, nothing
// written is lost while the file is open, and a close after space is freed
// commits the complete content.
func TestPartFloorIsFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	fsDir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", fsDir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	r := &reopenable{dir: filepath.Join(fsDir, "store")}
	t.Cleanup(func() {
		r.close(t)
		exec.Command("umount", "-l", fsDir).Run()
	})
	rand.Read(r.mk[:])
	if err := store.Init(r.dir, r.mk, store.InitOptions{Cipher: dare.DefaultCipher(), KDF: keyring.KeyFileKDF()}); err != nil {
		t.Fatal(err)
	}
	r.open(t)
	n := createFile(t, r.l, RootIno, "f")
	// Leave 6 MiB above the floor: a 12 MiB write passes no FUSE check here
	// (the object layer is called directly) and meets the part check.
	var st unix.Statfs_t
	if err := unix.Statfs(r.dir, &st); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(fsDir, "filler")
	if err := os.WriteFile(filler, make([]byte, int64(st.Bavail)*st.Bsize-store.MetaFloor-6<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := r.l.OpenFile(n.Ino)
	if err != nil {
		t.Fatal(err)
	}
	content := randomBytes(mrand.New(mrand.NewSource(5)), 12<<20)
	werr := writeAll(f, content)
	ferr := f.Flush()
	if !errors.Is(ferr, syscall.ENOSPC) {
		t.Fatalf("close: %v (a write: %v), want ENOSPC", ferr, werr)
	}
	if !errors.Is(ferr, store.ErrNoSpace) {
		t.Fatalf("close: %v, want the part check's refusal", ferr)
	}
	if got := versionIDs(t, r.l, n.Ino); len(got) != 0 {
		t.Fatalf("versions %v committed by a failed close", got)
	}
	checkContent(t, f, content)
	os.Remove(filler)
	if err := f.Flush(); err != nil {
		t.Fatalf("close after space was freed: %v", err)
	}
	if err := f.Release(); err != nil {
		t.Fatal(err)
	}
	if got := currentContent(t, r.l, n.Ino); !bytes.Equal(got, content) {
		t.Fatalf("the commit after space was freed is %d bytes, not the complete %d", len(got), len(content))
	}
	checkAfterReopen(t, r, n.Ino, content)
}
