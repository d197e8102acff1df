package fs

import (
	"strings"
	"syscall"
	"testing"
)

// The table a mount builds holds every group's names, each in the virtual
// namespace, each served one way at least; lookup tells a virtual name
// nothing serves (ENODATA) from a name outside the namespace.
func TestVirtualXattrTable(t *testing.T) {
	groups := []virtualXattrTable{versionXattrs(), lockXattrs(), sseXattrs()}
	table := newVirtualXattrs()
	total := 0
	for _, g := range groups {
		total += len(g)
	}
	if len(table) != total {
		t.Fatalf("table has %d names, groups %d", len(table), total)
	}
	for name, x := range table {
		if !strings.HasPrefix(name, VirtualPrefix) {
			t.Errorf("%s is outside %s", name, VirtualPrefix)
		}
		if x.get == nil && x.set == nil && x.del == nil {
			t.Errorf("%s has no handler", name)
		}
	}
	for _, tc := range []struct {
		name   string
		ok     bool
		errno  syscall.Errno
		served bool
	}{
		{name: "user.other", ok: false, errno: 0},
		{name: VirtualPrefix + "no-such", ok: true, errno: syscall.ENODATA},
		{name: VirtualPrefix + "version-id", ok: true, errno: 0, served: true},
		{name: xattrSSECustomerKey, ok: true, errno: 0, served: true},
	} {
		x, ok, errno := table.lookup(tc.name)
		if ok != tc.ok || errno != tc.errno || (x.get != nil || x.set != nil) != tc.served {
			t.Errorf("lookup(%q) = ok %v errno %v served %v", tc.name, ok, errno, x.get != nil || x.set != nil)
		}
	}
}
