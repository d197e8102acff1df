package object

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// TestCurrentVersionNeverExpires: whatever the rule and however old, a
// live file's current version stays (lifecycle expires noncurrent versions
// only), both in the rule's arithmetic and through ApplyLifecycle.
func TestCurrentVersionNeverExpires(t *testing.T) {
	rules := []Rule{
		{NoncurrentDays: 1},
		{KeepNoncurrent: 1},
		{NoncurrentDays: 1, KeepNoncurrent: 1},
		{ExpireDeleteMarkers: true},
		{NoncurrentDays: 1, KeepNoncurrent: 1, ExpireDeleteMarkers: true},
	}
	day := int64(24 * time.Hour)
	far := time.Now().AddDate(100, 0, 0)
	for _, r := range rules {
		for n := 1; n <= 4; n++ {
			vs := make([]VersionInfo, n)
			for i := range vs {
				vs[i] = VersionInfo{ID: uint64(int64(i+1) * day), Current: i == n-1}
			}
			for _, id := range r.expired(vs, far) {
				if id == vs[n-1].ID {
					t.Fatalf("rule %+v expires the current version of %d", r, n)
				}
			}
		}
	}

	l := newTestLayer(t)
	ino := writeObj(t, l, "f", "v0")
	commitVersions(t, l, ino, 3)
	want := currentContent(t, l, ino)
	for _, r := range rules {
		t.Run(fmt.Sprintf("%+v", r), func(t *testing.T) {
			if err := l.SetRule(RootIno, r); err != nil {
				t.Fatal(err)
			}
			if _, err := l.ApplyLifecycle(far); err != nil {
				t.Fatal(err)
			}
			vs, err := l.Versions(ino)
			if err != nil {
				t.Fatal(err)
			}
			if len(vs) == 0 || !vs[len(vs)-1].Current {
				t.Fatalf("versions %+v: the current version was expired", vs)
			}
			if got := currentContent(t, l, ino); !bytes.Equal(got, want) {
				t.Fatalf("current content %q, want %q", got, want)
			}
		})
	}
}
