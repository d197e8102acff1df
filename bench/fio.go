package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// fioJob is one random-I/O run: rw is "randread" or "randwrite".
type fioJob struct {
	File    string
	RW      string
	Size    int64
	Jobs    int
	Runtime time.Duration
	Direct  bool
}

// args returns fio's command line: 4 KiB blocks, synchronous I/O, bounded
// by time, all jobs on one shared file and reported as one group, as in
// the JuiceFS and fio recipes.
func (j fioJob) args() []string {
	direct := "0"
	if j.Direct {
		direct = "1"
	}
	return []string{
		"--name=" + j.RW,
		"--filename=" + j.File,
		"--rw=" + j.RW,
		"--bs=4k",
		"--size=" + strconv.FormatInt(j.Size, 10),
		"--numjobs=" + strconv.Itoa(j.Jobs),
		"--runtime=" + strconv.Itoa(int(j.Runtime/time.Second)),
		"--time_based",
		"--ioengine=psync",
		"--direct=" + direct,
		"--invalidate=0", // keep the warm cache prepare filled
		"--group_reporting",
		"--output-format=json",
	}
}

// fioReport is the part of fio's JSON output the harness reads.
type fioReport struct {
	Jobs []struct {
		Name  string  `json:"jobname"`
		Error int     `json:"error"`
		Read  fioStat `json:"read"`
		Write fioStat `json:"write"`
	} `json:"jobs"`
}

type fioStat struct {
	IOPS float64 `json:"iops"`
	BW   float64 `json:"bw"` // KiB/s
}

// parseFio returns the summed IOPS of the direction rw ("randread" or
// "randwrite") from fio's JSON, which fio may precede with warnings.
func parseFio(out []byte, rw string) (float64, error) {
	if i := bytes.IndexByte(out, '{'); i > 0 {
		out = out[i:]
	}
	var r fioReport
	if err := json.Unmarshal(out, &r); err != nil {
		return 0, fmt.Errorf("bench: parsing fio output: %w", err)
	}
	if len(r.Jobs) == 0 {
		return 0, fmt.Errorf("bench: fio reported no jobs")
	}
	var iops float64
	for _, j := range r.Jobs {
		if j.Error != 0 {
			return 0, fmt.Errorf("bench: fio job %s failed with error %d", j.Name, j.Error)
		}
		if strings.Contains(rw, "write") {
			iops += j.Write.IOPS
		} else {
			iops += j.Read.IOPS
		}
	}
	if iops <= 0 {
		return 0, fmt.Errorf("bench: fio measured no %s I/O", rw)
	}
	return iops, nil
}

// runFio runs j and returns its IOPS.
func runFio(ctx context.Context, j fioJob) (float64, error) {
	cmd := exec.CommandContext(ctx, "fio", j.args()...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("bench: fio %s: %v: %s", j.RW, err, tail(stderr.String(), 300))
	}
	return parseFio(out, j.RW)
}

// tail returns the last n bytes of s, trimmed, for error messages.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}
