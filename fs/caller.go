package fs

import (
	"bytes"
	"context"
	"os"
	"strconv"

	"github.com/hanwen/go-fuse/v2/fuse"
)

const capFSETID = 4 // CAP_FSETID, linux/capability.h

// caller is the process behind a request (object.Caller for the set-ID
// rules, and the subject of the versions view's permission checks). Its
// /proc/PID/status is read once, and only when capabilities or
// supplementary groups decide. A process that has gone counts as
// unprivileged and in no group but its filesystem group; a context with no
// request (internal calls) is not known and is not checked by may.
type caller struct {
	ctx      context.Context
	known    bool
	uid, gid uint32
	loaded   bool
	fsetid   bool
	groups   []uint32
}

func newCaller(ctx context.Context) *caller {
	c := &caller{ctx: ctx}
	if fc, ok := fuse.FromContext(ctx); ok {
		c.known, c.uid, c.gid = true, fc.Uid, fc.Gid
	}
	return c
}

func (c *caller) load() {
	if c.loaded {
		return
	}
	c.loaded = true
	if c.ctx == nil {
		return
	}
	fc, ok := fuse.FromContext(c.ctx)
	if !ok || fc.Pid == 0 {
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
	if c.gid == gid {
		return true
	}
	c.load()
	for _, g := range c.groups {
		if g == gid {
			return true
		}
	}
	return false
}
