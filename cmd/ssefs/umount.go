package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ssefs/ssefs/internal/storefile"
	"github.com/ssefs/ssefs/store"
)

func storeSocket(dir string) string { return filepath.Join(dir, store.SocketFile) }

func runUmount(env *cliEnv, args []string) error {
	fs := newFlags(env, "umount", "MOUNTPOINT")
	lazy := fs.Bool("z", false, "lazy unmount (detach now, finish when no longer busy)")
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	mnt, err := filepath.Abs(pos[0])
	if err != nil {
		return err
	}
	loc, ok := findMount(mnt)
	if !ok || loc.mountpoint != mnt {
		return fmt.Errorf("%s is not an ssefs mount", mnt)
	}
	if err := unmount(mnt, *lazy); err != nil {
		return err
	}
	// The daemon flushes and closes the store after the kernel lets go;
	// wait for its lock so a following mount or admin command finds it free.
	lock := filepath.Join(loc.store, store.LockFile)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		f, err := storefile.Open(lock, os.O_RDWR, 0)
		if err != nil {
			return nil
		}
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		f.Close()
		if err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("unmounted %s, but the mount daemon has not released %s after 30s", mnt, loc.store)
}

func unmount(mnt string, lazy bool) error {
	if os.Geteuid() == 0 {
		flags := 0
		if lazy {
			flags = unix.MNT_DETACH
		}
		if err := unix.Unmount(mnt, flags); err != nil {
			return fmt.Errorf("unmounting %s: %w", mnt, err)
		}
		return nil
	}
	args := []string{"-u", mnt}
	if lazy {
		args = []string{"-u", "-z", mnt}
	}
	out, err := exec.Command("fusermount3", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("fusermount3 -u %s: %v: %s", mnt, err, out)
	}
	return nil
}
