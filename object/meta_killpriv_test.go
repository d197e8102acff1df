package object

import (
	"syscall"
	"testing"
)

type testCaller struct {
	fsetid bool
	groups []uint32
}

func (c testCaller) HasFSETID() bool { return c.fsetid }
func (c testCaller) InGroup(gid uint32) bool {
	for _, g := range c.groups {
		if g == gid {
			return true
		}
	}
	return false
}

// TestKillBits is Linux's table (setattr_should_drop_suidgid for writes
// and truncates, notify_change for chown), checked on tmpfs by hand.
func TestKillBits(t *testing.T) {
	root := testCaller{fsetid: true, groups: []uint32{0}}
	inGroup := testCaller{groups: []uint32{7}}
	other := testCaller{groups: []uint32{8}}
	const (
		reg  = syscall.S_IFREG
		dir  = syscall.S_IFDIR
		fifo = syscall.S_IFIFO
		chr  = syscall.S_IFCHR
	)
	cases := []struct {
		mode  uint32
		c     Caller
		chown bool
		want  uint32
	}{
		{reg | 0o6755, root, false, 0},
		{reg | 0o6755, other, false, 0o6000},
		{reg | 0o6745, inGroup, false, 0o4000},
		{reg | 0o6745, other, false, 0o6000},
		{reg | 0o2745, nil, false, 0o2000},
		{fifo | 0o6755, other, false, 0}, // writes clear regular files only
		{reg | 0o6755, root, true, 0o6000},
		{reg | 0o6745, root, true, 0o4000},
		{fifo | 0o6555, root, true, 0o6000},
		{chr | 0o6545, inGroup, true, 0o4000},
		{chr | 0o6545, other, true, 0o6000},
		{dir | 0o6555, other, true, 0},
		{dir | 0o6555, other, false, 0},
		{reg | 0o0755, other, true, 0},
	}
	for _, c := range cases {
		if got := killBits(c.mode, 7, c.c, c.chown); got != c.want {
			t.Errorf("killBits(%o, caller %+v, chown %v) = %o, want %o", c.mode, c.c, c.chown, got, c.want)
		}
	}
}
