// Command loopback is a plain go-fuse passthrough mounted with the same
// options (and, as root, the same kernel read-ahead) as ssefs, so `ssefs
// bench` can show what FUSE itself costs.
//
//	loopback ORIGINAL MOUNTPOINT
//
// Every read and write goes through the daemon, as in an encrypting
// filesystem: it declines kernel passthrough (which go-fuse offers to
// loopback files when run as root) and strips O_DIRECT from the underlying
// open, so direct-I/O workloads time the FUSE round trip, not the disk.
// It serves in the foreground until unmounted or signalled.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ssefs/ssefs/fusebdi"
)

// node is a LoopbackNode whose opens ignore O_DIRECT and hand out files
// that decline passthrough.
type node struct{ *fs.LoopbackNode }

// file is a LoopbackFile served by the daemon rather than by the kernel.
type file struct{ *fs.LoopbackFile }

func (f *file) PassthroughFd() (int, bool) { return 0, false }

func wrap(fh fs.FileHandle) fs.FileHandle {
	if lf, ok := fh.(*fs.LoopbackFile); ok {
		return &file{lf}
	}
	return fh
}

func (n *node) WrapChild(ctx context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	return &node{ops.(*fs.LoopbackNode)}
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	fh, fl, errno := n.LoopbackNode.Open(ctx, flags&^syscall.O_DIRECT)
	return wrap(fh), fl, errno
}

func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	in, fh, fl, errno := n.LoopbackNode.Create(ctx, name, flags&^syscall.O_DIRECT, mode, out)
	return in, wrap(fh), fl, errno
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: loopback ORIGINAL MOUNTPOINT")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "loopback:", err)
		os.Exit(1)
	}
}

func run(orig, mnt string) error {
	var st syscall.Stat_t
	if err := syscall.Stat(orig, &st); err != nil {
		return fmt.Errorf("stat %s: %w", orig, err)
	}
	lr := &fs.LoopbackRoot{Path: orig, Dev: uint64(st.Dev)}
	root := &node{&fs.LoopbackNode{RootData: lr}}
	lr.RootNode = root
	// Same timeouts and mount options as fs.Mount in ssefs.
	ttl := time.Second
	srv, err := fs.Mount(mnt, root, &fs.Options{
		EntryTimeout:    &ttl,
		AttrTimeout:     &ttl,
		NegativeTimeout: &ttl,
		MountOptions: fuse.MountOptions{
			FsName:       orig,
			Name:         "loopback",
			MaxWrite:     1 << 20,
			MaxReadAhead: 1 << 20,
			DirectMount:  os.Geteuid() == 0,
			Options:      []string{"default_permissions"},
		},
	})
	if err != nil {
		return err
	}
	if os.Geteuid() == 0 { // as ssefs does (fs.Mount)
		if err := fusebdi.SetReadAhead(mnt, fusebdi.ReadAheadKiB); err != nil {
			fmt.Fprintln(os.Stderr, "loopback:", err)
		}
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sigs
		for i := 0; i < 50 && srv.Unmount() != nil; i++ {
			time.Sleep(200 * time.Millisecond)
		}
	}()
	srv.Wait()
	return nil
}
