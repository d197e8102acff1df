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
// chown (FATTR_KILL_SUIDGID, see Setattr) and on write. It leaves the
// choice of bits to the daemon for every file type, so object.killBits
// makes it as Linux does for ext4, from the caller's capabilities and
// groups. go-fuse does not pass a write's flags to the file handle, so
// Handle.Write does what the flag would ask for itself.

const capFSETID = 4 // CAP_FSETID, linux/capability.h

// caller is the process behind a request, as object.Caller: its
// /proc/PID/status is read once, and only if a set-ID bit makes it matter.
// A process that has gone counts as unprivileged and in no group but its
// filesystem group.
type caller struct {
	ctx    context.Context
	loaded bool
	fsetid bool
	gid    uint32
	groups []uint32
}

func newCaller(ctx context.Context) *caller { return &caller{ctx: ctx} }

func (c *caller) load() {
	if c.loaded {
		return
	}
	c.loaded = true
	fc, ok := fuse.FromContext(c.ctx)
	if !ok {
		return
	}
	c.gid = fc.Gid
	if fc.Pid == 0 {
		return
	}
	b, err := os.ReadFile("/proc/" + strconv.FormatUint(uint64(fc.Pid), 10) + "/status")
	if err != nil {
		return
	}
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		if v, ok := bytes.CutPrefix(line, []byte("CapEff:")); ok {
			caps, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 16, 64)
			c.fsetid = err == nil && caps&(1<<capFSETID) != 0
		} else if v, ok := bytes.CutPrefix(line, []byte("Groups:")); ok {
			for _, g := range bytes.Fields(v) {
				if id, err := strconv.ParseUint(string(g), 10, 32); err == nil {
					c.groups = append(c.groups, uint32(id))
				}
			}
		}
	}
}

// HasFSETID reports whether the caller has CAP_FSETID in its effective set.
func (c *caller) HasFSETID() bool {
	c.load()
	return c.fsetid
}

// InGroup reports whether gid is the caller's filesystem group or one of
// its supplementary groups (in_group_p).
func (c *caller) InGroup(gid uint32) bool {
	c.load()
	if c.gid == gid {
		return true
	}
	for _, g := range c.groups {
		if g == gid {
			return true
		}
	}
	return false
}

// killPriv runs before a write through h.
func (h *Handle) killPriv(ctx context.Context) error {
	if h.n == nil {
		return nil
	}
	return h.n.l.KillPriv(h.n.ino, newCaller(ctx))
}
