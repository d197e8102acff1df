package main

import (
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// unmountOnSignal unmounts mnt on SIGINT or SIGTERM, always: if the mount is
// busy (a file held open, a shell's cwd inside) it is detached lazily
// (MNT_DETACH, or fusermount3 -u -z), the log says so, and the returned
// channel closes so the daemon closes the store and exits; the kernel then
// ends the connection and what was still open there gets errors.
func unmountOnSignal(server *fuse.Server, mnt string) (detached <-chan struct{}) {
	ch := make(chan struct{})
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sigs
		log.Printf("ssefs: %v: unmounting %s", s, mnt)
		err := server.Unmount()
		if err == nil {
			return
		}
		log.Printf("ssefs: unmounting %s: %v; detaching it lazily (files still open there fail from now on)", mnt, err)
		if err := unmount(mnt, true); err != nil {
			log.Printf("ssefs: lazy unmount: %v", err)
		}
		close(ch)
	}()
	return ch
}
