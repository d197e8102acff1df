package bench

import (
	"errors"
	"slices"
	"testing"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"1G", 1 << 30}, {"256M", 256 << 20}, {"64k", 64 << 10}, {"1GiB", 1 << 30},
		{"8g", 8 << 30}, {"4096", 4096}, {" 2M ", 2 << 20}, {"1T", 1 << 40},
	} {
		if got, err := ParseSize(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "G", "-1M", "0", "1X", "1.5G", "99999999999T"} {
		if _, err := ParseSize(bad); !errors.Is(err, ErrConfig) {
			t.Errorf("ParseSize(%q) err = %v, want ErrConfig", bad, err)
		}
	}
}

func TestParseList(t *testing.T) {
	got, err := ParseList("plain, ssefs,,plain", AllSystems)
	if err != nil || !slices.Equal(got, []string{"plain", "ssefs"}) {
		t.Errorf("ParseList = %v, %v", got, err)
	}
	for _, bad := range []string{"", ",", "ssefs,zfs"} {
		if _, err := ParseList(bad, AllSystems); !errors.Is(err, ErrConfig) {
			t.Errorf("ParseList(%q) err = %v, want ErrConfig", bad, err)
		}
	}
}

func TestValidate(t *testing.T) {
	c := DefaultConfig()
	c.SeqSize = 64 << 20
	if err := c.validate(); err != nil || c.RandSize != 64<<20 {
		t.Errorf("validate: %v, RandSize %d; want RandSize capped at SeqSize", err, c.RandSize)
	}
	c.Runs = 0
	if err := c.validate(); !errors.Is(err, ErrConfig) {
		t.Errorf("validate with 0 runs: %v", err)
	}
}

func TestKnownNamesDefined(t *testing.T) {
	for _, s := range AllSystems {
		if systems[s] == nil {
			t.Errorf("system %s has no definition", s)
		}
	}
	for _, w := range AllWorkloads {
		if workloads[w] == nil {
			t.Errorf("workload %s has no definition", w)
		}
	}
}
