package main

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// smallTmpfs mounts a tmpfs of size bytes: a filesystem that really fills
// up, on which Badger's mapped files really fault when it is full.
func smallTmpfs(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mounting a tmpfs: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

func freeSpace(t *testing.T, dir string) int64 {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// writeSynced writes data to path and fsyncs it; the error is the first
// of write, fsync and close.
func writeSynced(path string, data []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	return errors.Join(werr, serr, cerr)
}

// fill writes path until the filesystem holding it is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for buf := make([]byte, 1<<20); ; {
		if _, err := f.Write(buf); err != nil {
			break
		}
	}
	f.Close()
	if free := freeSpace(t, filepath.Dir(path)); free != 0 {
		t.Fatalf("%d bytes free after filling from outside", free)
	}
}

// mountOnTmpfs creates a store on fsDir (a small tmpfs) and mounts it with
// the real daemon on a mountpoint under base; the test's end unmounts it.
func mountOnTmpfs(t *testing.T, fsDir, base string) (dir, mnt, pf string) {
	t.Helper()
	dir, mnt, pf = filepath.Join(fsDir, "store"), filepath.Join(base, "mnt"), filepath.Join(base, "pass")
	os.Mkdir(mnt, 0o755)
	os.WriteFile(pf, []byte("full disk test\n"), 0o600)
	mustSsefs(t, nil, "init", "--passphrase-file", pf, dir)
	mustSsefs(t, nil, "mount", "--passphrase-file", pf, dir, mnt)
	t.Cleanup(func() {
		if _, err := ssefs(t, nil, "umount", mnt); err != nil {
			exec.Command("fusermount3", "-uz", mnt).Run()
		}
	})
	return dir, mnt, pf
}

// okOrNoSpace fails the test unless err is nil or ENOSPC.
func okOrNoSpace(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("%s on a full disk: %v (want success or ENOSPC)", what, err)
	}
}

// TestFullDisk runs a mount on a 96 MiB tmpfs (the store keeps about 52
// MiB of it: headroom, reserve and two allocated metadata logs) through a
// full disk: filling it through the mount (one writer, then four in parallel) answers ENOSPC
// and the daemon lives; metadata operations work or answer ENOSPC; rm,
// versions purge and gc free space and writing works again; a disk filled
// to the last byte from outside, while mounted and while not, is survived
// and remounted, and every committed file reads back byte for byte.
func TestFullDisk(t *testing.T) {
	requireFUSE(t)
	fsDir := smallTmpfs(t, 96<<20)
	base := t.TempDir()
	dir, mnt, pf := mountOnTmpfs(t, fsDir, base)
	alive := func(stage string) {
		t.Helper()
		if out, err := ssefs(t, nil, "status", mnt); err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "mount.log"))
			t.Fatalf("%s: the mount daemon does not answer: %v\n%s\nmount.log:\n%s", stage, err, out, log)
		}
		if _, err := os.ReadDir(mnt); err != nil {
			t.Fatalf("%s: listing the mount: %v", stage, err)
		}
	}
	rng := rand.New(rand.NewSource(1))
	want := map[string][]byte{}
	verify := func(stage string) {
		t.Helper()
		for name, data := range want {
			got, err := os.ReadFile(filepath.Join(mnt, name))
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%s: %s reads %d bytes, err %v; want the %d committed bytes", stage, name, len(got), err, len(data))
			}
		}
	}

	// 1. Fill through the mount until a write answers ENOSPC.
	var full bool
	for i := 0; i < 128 && !full; i++ {
		name := fmt.Sprintf("f%03d", i)
		data := make([]byte, 1<<20)
		rng.Read(data)
		switch err := writeSynced(filepath.Join(mnt, name), data); {
		case err == nil:
			want[name] = data
		case errors.Is(err, syscall.ENOSPC):
			full = true
			os.Remove(filepath.Join(mnt, name))
		default:
			t.Fatalf("writing %s: %v (want success or ENOSPC)", name, err)
		}
	}
	if !full {
		t.Fatal("128 MiB written to a 96 MiB filesystem without ENOSPC")
	}
	t.Logf("%d MiB committed before ENOSPC; %d bytes free", len(want), freeSpace(t, fsDir))
	alive("after ENOSPC on data")
	// write(2) itself answers ENOSPC, before anything is buffered: an
	// append to a committed file is refused and leaves it as it was.
	f, err := os.OpenFile(filepath.Join(mnt, "f000"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(make([]byte, 1<<20)); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write(2) on a full disk = %v, want ENOSPC", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("closing a file whose write was refused: %v", err)
	}

	// 2. Metadata on the full disk: names, attributes, extended attributes
	// until ENOSPC. Badger's mapped files fault on a full disk, so without
	// the reserve this is where the daemon died.
	big := bytes.Repeat([]byte("x"), 3000)
	var xattrNoSpace bool
	for i := 0; i < 20000 && !xattrNoSpace; i++ {
		d := filepath.Join(mnt, fmt.Sprintf("d%05d", i))
		if err := os.Mkdir(d, 0o755); err != nil {
			okOrNoSpace(t, "mkdir", err)
			xattrNoSpace = true
			break
		}
		if err := unix.Setxattr(d, "user.big", big, 0); err != nil {
			okOrNoSpace(t, "setxattr", err)
			xattrNoSpace = true
		}
	}
	if !xattrNoSpace {
		t.Fatal("20000 directories with 3000-byte attributes fit on a full disk without ENOSPC")
	}
	okOrNoSpace(t, "rename", os.Rename(filepath.Join(mnt, "d00000"), filepath.Join(mnt, "renamed")))
	okOrNoSpace(t, "chmod", os.Chmod(filepath.Join(mnt, "f000"), 0o600))
	okOrNoSpace(t, "truncate", os.Truncate(filepath.Join(mnt, "f001"), 1<<20))
	alive("after ENOSPC on metadata")
	verify("full disk")

	// 3. Free space: rm, purge the versions rm kept, gc.
	before := freeSpace(t, fsDir)
	var removed []string
	for name := range want {
		if len(removed) == len(want)/2 {
			break
		}
		if err := os.Remove(filepath.Join(mnt, name)); err != nil {
			t.Fatalf("rm on a full disk: %v", err)
		}
		removed = append(removed, name)
	}
	for _, name := range removed {
		mustSsefs(t, nil, "versions", "purge", "--all-noncurrent", "--yes", filepath.Join(mnt, name))
		delete(want, name)
	}
	mustSsefs(t, nil, "gc", mnt)
	if after := freeSpace(t, fsDir); after < before+int64(len(removed))<<20 {
		t.Fatalf("rm, purge and gc of %d MiB: %d bytes free before, %d after", len(removed), before, after)
	}
	alive("after freeing space")
	for i := 0; i < 4; i++ {
		name := fmt.Sprintf("again%d", i)
		data := make([]byte, 1<<20)
		rng.Read(data)
		if err := writeSynced(filepath.Join(mnt, name), data); err != nil {
			t.Fatalf("writing after freeing space: %v", err)
		}
		want[name] = data
	}
	verify("after freeing space")

	// 4. Writers in parallel, without fsync, until ENOSPC: what they buffer
	// runs ahead of statfs, and the parts must still stop short of the
	// space the metadata needs. Each file holds nothing or exactly what
	// write(2) accepted (never zeros in place of data); the committed
	// files may not change and the daemon must live.
	type parResult struct {
		data     []byte
		accepted int
		err      error
	}
	results := make([]parResult, 4)
	var wg sync.WaitGroup
	for w := range results {
		results[w].data = make([]byte, 32<<20)
		rng.Read(results[w].data)
		wg.Add(1)
		go func(r *parResult, name string) {
			defer wg.Done()
			f, err := os.Create(name)
			if err != nil {
				r.err = err
				return
			}
			var werr error
			for off := 0; off < len(r.data) && werr == nil; off += 1 << 20 {
				var k int
				k, werr = f.Write(r.data[off : off+1<<20])
				r.accepted += k
			}
			r.err = errors.Join(werr, f.Close())
		}(&results[w], filepath.Join(mnt, fmt.Sprintf("par%d", w)))
	}
	wg.Wait()
	for w, r := range results {
		okOrNoSpace(t, "parallel write", r.err)
		got, err := os.ReadFile(filepath.Join(mnt, fmt.Sprintf("par%d", w)))
		if err != nil {
			t.Fatalf("reading par%d: %v", w, err)
		}
		if len(got) != 0 && !bytes.Equal(got, r.data[:r.accepted]) {
			t.Fatalf("par%d holds %d bytes that are not the %d bytes write(2) accepted (close: %v)", w, len(got), r.accepted, r.err)
		}
		if r.err == nil && len(got) != r.accepted {
			t.Fatalf("par%d: close succeeded but the file holds %d of %d bytes", w, len(got), r.accepted)
		}
		t.Logf("par%d: write(2) accepted %d MiB, holds %d MiB, %v", w, r.accepted>>20, len(got)>>20, r.err)
	}
	alive("after parallel writers hit ENOSPC")
	verify("after parallel writers hit ENOSPC")
	for w := 0; w < 4; w++ {
		name := filepath.Join(mnt, fmt.Sprintf("par%d", w))
		os.Remove(name)
		ssefs(t, nil, "versions", "purge", "--all-noncurrent", "--yes", name)
	}
	mustSsefs(t, nil, "gc", mnt)

	// 5. Fill the disk to the last byte from outside while mounted: the
	// next metadata commit hands the reserve to Badger; names get ENOSPC,
	// rm still works, and once the outside file is gone writing works.
	fill(t, filepath.Join(fsDir, "outside"))
	for i := 0; i < 50; i++ {
		okOrNoSpace(t, "mkdir after an outside fill", os.Mkdir(filepath.Join(mnt, fmt.Sprintf("o%02d", i)), 0o755))
	}
	var victim string
	for name := range want {
		victim = name
		break
	}
	if err := os.Remove(filepath.Join(mnt, victim)); err != nil {
		t.Fatalf("rm after an outside fill: %v", err)
	}
	delete(want, victim)
	alive("after an outside fill while mounted")
	verify("after an outside fill while mounted")
	if fi, err := os.Stat(filepath.Join(dir, "meta.reserve")); err != nil || fi.Size() != 0 {
		t.Fatalf("reserve file after an outside fill: %v, %v; want it released", fi, err)
	}
	os.Remove(filepath.Join(fsDir, "outside"))
	if err := writeSynced(filepath.Join(mnt, "after-outside"), []byte("back")); err != nil {
		t.Fatalf("writing once the outside file is gone: %v", err)
	}
	want["after-outside"] = []byte("back")

	// 6. Unmount, fill the disk to the last byte from outside, mount again.
	mustSsefs(t, nil, "umount", mnt)
	fill(t, filepath.Join(fsDir, "filler"))
	mustSsefs(t, nil, "mount", "--passphrase-file", pf, dir, mnt)
	alive("remount on a full disk")
	verify("remount on a full disk")
	if err := writeSynced(filepath.Join(mnt, "nospace"), make([]byte, 1<<20)); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("a write on the remounted full disk = %v, want ENOSPC", err)
	}
	os.Remove(filepath.Join(mnt, "nospace"))
	os.Remove(filepath.Join(fsDir, "filler"))
	if err := writeSynced(filepath.Join(mnt, "last"), []byte("room again")); err != nil {
		t.Fatalf("writing once the outside file is gone: %v", err)
	}
	want["last"] = []byte("room again")
	mustSsefs(t, nil, "umount", mnt)
	mustSsefs(t, nil, "mount", "--passphrase-file", pf, dir, mnt)
	verify("final remount")
	if log, _ := os.ReadFile(filepath.Join(dir, "mount.log")); strings.Contains(string(log), "panic") {
		t.Fatalf("mount.log shows a panic:\n%s", log)
	}
}

// TestFullDiskOutsideWriter fills the disk from outside twice: once to
// make the next metadata commit release the reserve, and again to eat the
// space the reserve gave back. Badger's logs are written through mmap, so
// a log page without a block was a SIGBUS that killed the daemon after a
// few setattrs. Now hundreds of setattr, chmod, rename, create and rm each
// work or answer ENOSPC, the daemon lives, everything works once the
// outside files are gone, and a remount reads every committed file.
func TestFullDiskOutsideWriter(t *testing.T) {
	requireFUSE(t)
	fsDir := smallTmpfs(t, 100<<20)
	base := t.TempDir()
	dir, mnt, pf := filepath.Join(fsDir, "store"), filepath.Join(base, "mnt"), filepath.Join(base, "pass")
	os.Mkdir(mnt, 0o755)
	os.WriteFile(pf, []byte("outside writer test\n"), 0o600)
	mustSsefs(t, nil, "init", "--passphrase-file", pf, dir)
	mustSsefs(t, nil, "mount", "--passphrase-file", pf, dir, mnt)
	t.Cleanup(func() {
		if _, err := ssefs(t, nil, "umount", mnt); err != nil {
			exec.Command("fusermount3", "-uz", mnt).Run()
		}
	})
	alive := func(stage string) {
		t.Helper()
		if out, err := ssefs(t, nil, "status", mnt); err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "mount.log"))
			t.Fatalf("%s: the mount daemon does not answer: %v\n%s\nmount.log:\n%s", stage, err, out, log)
		}
	}
	want := map[string][]byte{"a": []byte("hello\n")}
	if err := writeSynced(filepath.Join(mnt, "a"), want["a"]); err != nil {
		t.Fatal(err)
	}
	a := filepath.Join(mnt, "a")
	fill(t, filepath.Join(fsDir, "out1"))
	okOrNoSpace(t, "touch", os.Chtimes(a, time.Unix(1700000000, 0), time.Unix(1700000000, 0)))
	time.Sleep(50 * time.Millisecond) // the batch commit releases the reserve
	if fi, err := os.Stat(filepath.Join(dir, "meta.reserve")); err != nil || fi.Size() != 0 {
		t.Fatalf("reserve file after an outside fill: %v, %v; want it released", fi, err)
	}
	fill(t, filepath.Join(fsDir, "out2"))

	var ok, nospace int
	count := func(what string, err error) {
		t.Helper()
		okOrNoSpace(t, what, err)
		if err == nil {
			ok++
		} else {
			nospace++
		}
	}
	for i := 0; i < 300; i++ {
		ts := time.Unix(int64(1700000000+i), 0)
		count("touch", os.Chtimes(a, ts, ts))
		count("chmod", os.Chmod(a, os.FileMode(0o600|i%2*0o44)))
		name := fmt.Sprintf("n%03d", i)
		if err := os.WriteFile(filepath.Join(mnt, name), []byte(name), 0o644); err == nil {
			want[name] = []byte(name)
			ok++
		} else {
			// ENOSPC at create, or at close with the name made and empty.
			count("create", err)
			if rerr := os.Remove(filepath.Join(mnt, name)); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
				count("rm", rerr)
			}
		}
		if _, has := want[name]; has && i%3 == 0 {
			if err := os.Rename(filepath.Join(mnt, name), filepath.Join(mnt, name+".r")); err == nil {
				want[name+".r"] = want[name]
				delete(want, name)
				ok++
			} else {
				count("rename", err)
			}
		}
		if _, has := want[name]; has && i%3 == 1 {
			if err := os.Remove(filepath.Join(mnt, name)); err != nil {
				t.Fatalf("rm on a full disk: %v", err)
			}
			delete(want, name)
		}
		if i%50 == 49 {
			alive(fmt.Sprintf("after %d rounds on a disk filled from outside", i+1))
		}
	}
	t.Logf("on the full disk: %d operations worked, %d got ENOSPC", ok, nospace)
	alive("after the operations on the full disk")

	os.Remove(filepath.Join(fsDir, "out1"))
	os.Remove(filepath.Join(fsDir, "out2"))
	for i := 0; i < 20; i++ {
		name := fmt.Sprintf("after%02d", i)
		if err := writeSynced(filepath.Join(mnt, name), []byte(name)); err != nil {
			t.Fatalf("writing once the outside files are gone: %v", err)
		}
		want[name] = []byte(name)
		if err := os.Chtimes(filepath.Join(mnt, name), time.Unix(1600000000, 0), time.Unix(1600000000, 0)); err != nil {
			t.Fatalf("touch once the outside files are gone: %v", err)
		}
	}
	mustSsefs(t, nil, "umount", mnt)
	mustSsefs(t, nil, "mount", "--passphrase-file", pf, dir, mnt)
	for name, data := range want {
		if got, err := os.ReadFile(filepath.Join(mnt, name)); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("after remount %s reads %q, %v; want %q", name, got, err, data)
		}
	}
	if log, _ := os.ReadFile(filepath.Join(dir, "mount.log")); strings.Contains(string(log), "fatal error") || strings.Contains(string(log), "panic") {
		t.Fatalf("mount.log shows a crash:\n%s", log)
	}
}
