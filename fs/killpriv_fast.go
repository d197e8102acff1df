package fs

import (
	"bytes"
	"context"
	"os"
	"strconv"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// Clearing privileges on write (CAP_HANDLE_KILLPRIV_V2, asked for in
// killpriv_linux.go). Without it the kernel asks for security.capability
// before every single write, a round trip each; with it the kernel marks an
// inode S_NOSEC after its first check and sends kill flags on truncate and
// chown (FATTR_KILL_SUIDGID, see Setattr) and on write. go-fuse does not
// pass a write's flags to the file handle, so Handle.Write does what the
// flag would ask for itself: clear set-user-ID and group-executable
// set-group-ID unless the writer has CAP_FSETID, and always drop file
// capabilities (object.Layer.KillPriv).

const capFSETID = 4 // CAP_FSETID, linux/capability.h

// callerHasFSETID reports whether the process behind a request has
// CAP_FSETID in its effective set. A process that has gone counts as not.
func callerHasFSETID(ctx context.Context) bool {
	c, ok := fuse.FromContext(ctx)
	if !ok || c.Pid == 0 {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.FormatUint(uint64(c.Pid), 10) + "/status")
	if err != nil {
		return false
	}
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		if v, ok := bytes.CutPrefix(line, []byte("CapEff:")); ok {
			caps, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 16, 64)
			return err == nil && caps&(1<<capFSETID) != 0
		}
	}
	return false
}

// killPriv runs before a write through h.
func (h *Handle) killPriv(ctx context.Context) error {
	if h.n == nil {
		return nil
	}
	return h.n.l.KillPriv(h.n.ino, func() bool { return callerHasFSETID(ctx) })
}
