package fs

import (
	"context"
)

// Clearing privileges on write (CAP_HANDLE_KILLPRIV_V2, asked for in
// killpriv_linux.go). Without it the kernel asks for security.capability
// before every single write, a round trip each; with it the kernel marks an
// inode S_NOSEC after its first check and sends kill flags on truncate and
// chown (FATTR_KILL_SUIDGID, see Setattr) and on write. It leaves the
// choice of bits to the daemon for every file type, so object.killBits
// makes it as Linux does for ext4, from the caller's capabilities and
// groups. go-fuse does not pass a write's flags to the file handle, so
// Handle.Write does what the flag would ask for itself.

// killPriv runs before a write through h.
func (h *Handle) killPriv(ctx context.Context) error {
	return h.n.l.KillPriv(h.n.ino, newCaller(ctx))
}
