package bench

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// fioSample is trimmed output of fio 3.33 --output-format=json, preceded by
// a warning line as fio prints on some filesystems.
const fioSample = `fio: posix_fallocate fails: Not supported
{
  "fio version" : "fio-3.33",
  "jobs" : [
    {
      "jobname" : "randread",
      "groupid" : 0,
      "error" : 0,
      "read" : {"io_bytes" : 1228800000, "bw" : 119999, "iops" : 29999.75},
      "write" : {"io_bytes" : 0, "bw" : 0, "iops" : 0.0}
    }
  ]
}`

func TestParseFio(t *testing.T) {
	for _, tc := range []struct {
		name, out, rw string
		want          float64
		err           string
	}{
		{"grouped read", fioSample, "randread", 29999.75, ""},
		{"no write io", fioSample, "randwrite", 0, "no randwrite"},
		{"two jobs summed", `{"jobs":[{"jobname":"a","write":{"iops":100}},{"jobname":"b","write":{"iops":50.5}}]}`, "randwrite", 150.5, ""},
		{"job error", `{"jobs":[{"jobname":"a","error":5,"read":{"iops":100}}]}`, "randread", 0, "error 5"},
		{"no jobs", `{"jobs":[]}`, "randread", 0, "no jobs"},
		{"garbage", `fio: engine psync not loadable`, "randread", 0, "parsing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseFio([]byte(tc.out), tc.rw)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || math.Abs(got-tc.want) > 1e-9 {
				t.Fatalf("parseFio = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestFioArgs(t *testing.T) {
	a := fioJob{File: "/m/f", RW: "randwrite", Size: 256 << 20, Jobs: 2, Runtime: 10 * time.Second, Direct: true}.args()
	for _, want := range []string{"--rw=randwrite", "--bs=4k", "--size=268435456", "--numjobs=2", "--runtime=10", "--time_based", "--direct=1", "--output-format=json", "--filename=/m/f"} {
		if !slices.Contains(a, want) {
			t.Errorf("args %v lack %s", a, want)
		}
	}
	if b := (fioJob{RW: "randread", Jobs: 1, Runtime: time.Second}).args(); !slices.Contains(b, "--direct=0") {
		t.Errorf("buffered job args %v lack --direct=0", b)
	}
}
