package main

import "syscall"

// privateFiles makes everything this process creates from now on private
// to its owner; called before a store is created or opened. Badger creates
// its files with mode 0666 and the control socket exists before its chmod,
// so under umask 0 they would be world-readable. The kernel applies the
// caller's umask, not the daemon's, to files created through a mount.
func privateFiles() { syscall.Umask(0o077) }
