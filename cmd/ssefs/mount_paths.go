package main

import (
	"fmt"
	"path/filepath"
	"strings"
)

// checkNesting refuses a mountpoint inside the store directory and a store
// inside the mountpoint, after resolving symlinks. Either way the daemon's
// own store files would sit under the mount it serves (control.sock is
// created through it), and the mount could then not be unmounted.
func checkNesting(store, mnt string) error {
	s, err := filepath.EvalSymlinks(store)
	if err != nil {
		return fmt.Errorf("store %s: %w", store, err)
	}
	m, err := filepath.EvalSymlinks(mnt)
	if err != nil {
		return fmt.Errorf("mountpoint %s: %w", mnt, err)
	}
	switch {
	case within(m, s):
		return fmt.Errorf("mountpoint %s is inside the store %s: mount it elsewhere", mnt, store)
	case within(s, m):
		return fmt.Errorf("store %s is inside the mountpoint %s: mount it elsewhere", store, mnt)
	}
	return nil
}

// within reports whether path p is dir or below it (both clean and absolute).
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}
