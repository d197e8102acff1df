package bench

import (
	"os"
	"strings"
	"testing"
)

func TestParseStat(t *testing.T) {
	// comm with spaces and a ')' must not shift the fields.
	line := "1234 (ssefs mount) x) S 1 1234 1234 0 -1 4194560 5000 0 0 0 250 130 7 13 20 0 12 0 100 2000000 3000 18446744073709551615\n"
	got, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if want := (250.0 + 130 + 7 + 13) / 100; got != want {
		t.Errorf("cpu = %v, want %v", got, want)
	}
	for _, bad := range []string{"1234 no paren", "1 (x) S 1 2 3", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 a 1 1 1 20"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) succeeded", bad)
		}
	}
}

func TestParseStatus(t *testing.T) {
	status := "Name:\tssefs\nVmPeak:\t  900000 kB\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\nThreads:\t9\n"
	for _, tc := range []struct {
		field string
		want  int64
	}{{"VmHWM", 20 << 20}, {"VmRSS", 10 << 20}, {"VmSwap", 0}} {
		got, err := parseStatus([]byte(status), tc.field)
		if err != nil || got != tc.want {
			t.Errorf("%s = %v, %v; want %v", tc.field, got, err, tc.want)
		}
	}
	if _, err := parseStatus([]byte("VmHWM:\t12 MB\n"), "VmHWM"); err == nil {
		t.Error("accepted a unit other than kB")
	}
}

func TestSampleProcSelf(t *testing.T) {
	s, err := sampleProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.HWMBytes <= 0 || s.RSSBytes <= 0 || s.HWMBytes < s.RSSBytes {
		t.Errorf("sample of self = %+v", s)
	}
}

func TestParseMountinfo(t *testing.T) {
	data := `22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
98 22 0:52 / /work/bench\040scratch/ssefs/mnt rw,nosuid,nodev,relatime shared:60 - fuse.ssefs /work/store rw,user_id=0
99 22 0:53 / /tmp/g rw,relatime - fuse.gocryptfs /tmp/c rw
`
	ms, err := parseMountinfo([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 {
		t.Fatalf("got %d entries", len(ms))
	}
	want := mountEntry{Mountpoint: "/work/bench scratch/ssefs/mnt", FSType: "fuse.ssefs", Source: "/work/store"}
	if ms[1] != want {
		t.Errorf("entry = %+v, want %+v", ms[1], want)
	}
	if ms[2].FSType != "fuse.gocryptfs" {
		t.Errorf("optional fields absent: %+v", ms[2])
	}
	if _, err := parseMountinfo([]byte("1 2 3\n")); err == nil {
		t.Error("accepted a short line")
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		`/a\040b`:  "/a b",
		`/a\134b`:  `/a\b`,
		`/plain`:   "/plain",
		`/end\04`:  `/end\04`,
		`/x\011y/`: "/x\ty/",
	} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
	if strings.Contains(unescapeMount(`\999`), "\x00") {
		t.Error("invalid octal decoded")
	}
}
