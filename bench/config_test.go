package bench

import (
	"errors"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
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
	for _, w := range KnownWorkloads() {
		if workloads[w] == nil {
			t.Errorf("workload %s has no definition", w)
		}
	}
}

func TestBigfileIsOptIn(t *testing.T) {
	for _, w := range OptInWorkloads {
		if slices.Contains(DefaultConfig().Workloads, w) {
			t.Errorf("opt-in workload %s is in the default list", w)
		}
	}
	if got, err := ParseList("seqwrite,bigfile", KnownWorkloads()); err != nil || !slices.Equal(got, []string{"seqwrite", "bigfile"}) {
		t.Errorf("ParseList with bigfile = %v, %v", got, err)
	}
	if slices.Contains(AllWorkloads, "bigfile") {
		t.Error("KnownWorkloads changed AllWorkloads")
	}
}

func TestValidateBigSize(t *testing.T) {
	c := DefaultConfig()
	c.BigSize = 8 << 20
	if err := c.validate(); err != nil {
		t.Errorf("validate with 8 MiB big size: %v", err)
	}
	c.BigSize = 8<<20 - 1
	if err := c.validate(); !errors.Is(err, ErrConfig) {
		t.Errorf("validate with a big size under 8 MiB: %v", err)
	}
}

// parseFlags runs ConfigFlags over args as `ssefs bench` would.
func parseFlags(t *testing.T, args ...string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	config := ConfigFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parsing %v: %v", args, err)
	}
	return config()
}

func TestConfigFlagsDefaults(t *testing.T) {
	c, err := parseFlags(t)
	if err != nil {
		t.Fatal(err)
	}
	def := DefaultConfig()
	if !slices.Equal(c.Systems, def.Systems) || !slices.Equal(c.Workloads, def.Workloads) ||
		c.SeqSize != def.SeqSize || c.RandSize != def.RandSize || c.BigSize != 8<<30 ||
		c.Runs != def.Runs || c.Files != def.Files || c.FioRuntime != def.FioRuntime || c.Scratch != def.Scratch {
		t.Errorf("flags without arguments give %+v, want the defaults %+v", c, def)
	}
}

func TestConfigFlags(t *testing.T) {
	c, err := parseFlags(t, "--systems", "ssefs,gocryptfs,loopback", "--workloads", "bigfile", "--runs", "1",
		"--big-size", "2G", "--size", "64M", "--dir", "/scratch", "--keep", "--fio-runtime", "3s")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Systems, []string{"ssefs", "gocryptfs", "loopback"}) || !slices.Equal(c.Workloads, []string{"bigfile"}) ||
		c.Runs != 1 || c.BigSize != 2<<30 || c.SeqSize != 64<<20 || c.RandSize != 64<<20 ||
		c.Scratch != "/scratch" || !c.Keep || c.FioRuntime != 3*time.Second {
		t.Errorf("got %+v", c)
	}
	for _, bad := range [][]string{
		{"--workloads", "bigfile,nope"},
		{"--systems", "zfs"},
		{"--big-size", "0"},
		{"--size", "1.5G"},
	} {
		if _, err := parseFlags(t, bad...); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("flags %v: err = %v, want ErrConfig naming %s", bad, err, bad[0])
		}
	}
}

func TestBigCheckpoints(t *testing.T) {
	for _, tc := range []struct {
		size int64
		want []int64
	}{
		{8 << 30, []int64{1 << 30, 2 << 30, 4 << 30, 8 << 30}},
		{8 << 20, []int64{1 << 20, 2 << 20, 4 << 20, 8 << 20}},
		// An eighth that is not whole blocks is rounded up to the block
		// whose write reaches it.
		{10<<20 + 5, []int64{2 << 20, 3 << 20, 6 << 20, 10<<20 + 5}},
	} {
		if got := bigCheckpoints(tc.size); !slices.Equal(got, tc.want) {
			t.Errorf("bigCheckpoints(%d) = %v, want %v", tc.size, got, tc.want)
		}
	}
	var names []string
	for _, m := range bigCheckpoints(8 << 30) {
		names = append(names, bigRSSFigure(m))
	}
	want := []string{"daemon peak RSS, 1 GiB written", "daemon peak RSS, 2 GiB written", "daemon peak RSS, 4 GiB written", "daemon peak RSS, 8 GiB written"}
	if !slices.Equal(names, want) {
		t.Errorf("figure names %q, want %q", names, want)
	}
	for _, n := range names {
		if isDaemonFig(n) {
			t.Errorf("%q is taken for the whole-workload daemon row", n)
		}
	}
}
