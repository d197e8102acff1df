package fs

import (
	"fmt"
	"log"
	"os"
	"runtime/debug"
	"strings"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ssefs/ssefs/fusebdi"
	"github.com/ssefs/ssefs/object"
)

// MountConfig chooses how a store is presented to the kernel.
type MountConfig struct {
	AllowOther bool
	Debug      bool
	Options    []string // extra -o options
}

// Mount mounts the object layer l on mnt and returns once the kernel has
// answered the first request, so the mount is usable when Mount returns.
func Mount(l *object.Layer, mnt string, cfg MountConfig) (*fuse.Server, error) {
	// We are the only writer of the store, so the kernel may cache entries
	// and attributes; content changes made behind its back are notified.
	ttl := time.Second
	opts := &gofs.Options{
		EntryTimeout:    &ttl,
		AttrTimeout:     &ttl,
		NegativeTimeout: &ttl,
		NullPermissions: true, // mode 0 is a mode (pjdfstest open/26.t), not "unset"
		MountOptions: fuse.MountOptions{
			FsName:       l.Store().Dir,
			Name:         "ssefs",
			AllowOther:   cfg.AllowOther,
			MaxWrite:     1 << 20,
			MaxReadAhead: 1 << 20,
			DirectMount:  os.Geteuid() == 0,
			Debug:        cfg.Debug,
			Options:      []string{"default_permissions"},
			PanicHandler: panicEIO,
			// Every read reply is decrypted bytes in memory: splicing from a
			// file never applies, and go-fuse would still set up a pipe and
			// write the reply header into it before falling back to writev
			// (and log an error for every reply over 1 MiB, the pipe's limit).
			DisableSplice: true,
			// The daemon clears privileges on write (killpriv_fast.go).
			ExtraCapabilities: extraCapabilities,
		},
	}
	for _, o := range cfg.Options {
		for _, part := range strings.Split(o, ",") {
			if part != "" {
				opts.MountOptions.Options = append(opts.MountOptions.Options, part)
			}
		}
	}
	root := NewRoot(l)
	srv, err := gofs.Mount(mnt, root, opts)
	if err != nil {
		return nil, fmt.Errorf("fs: mounting on %s: %w", mnt, err)
	}
	if err := srv.WaitMount(); err != nil {
		srv.Unmount()
		return nil, fmt.Errorf("fs: waiting for mount on %s: %w", mnt, err)
	}
	l.SetNotifier(root.ms.notify)
	if os.Geteuid() == 0 {
		// Sequential readers then send READs of 512 KiB, not 128 KiB.
		if err := fusebdi.SetReadAhead(mnt, fusebdi.ReadAheadKiB); err != nil {
			log.Printf("ssefs: %v", err)
		}
	}
	return srv, nil
}

// panicEIO turns a panic in a request into EIO and a log line with the
// stack, so that one bug fails one call instead of killing the mount.
func panicEIO(r any) fuse.Status {
	log.Printf("ssefs: panic in FUSE request: %v\n%s", r, debug.Stack())
	return fuse.EIO
}
