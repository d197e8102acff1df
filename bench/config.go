package bench

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config chooses what Run measures and where.
type Config struct {
	Systems    []string      // names from AllSystems, in display order
	Workloads  []string      // names from AllWorkloads
	Runs       int           // interleaved repetitions
	Scratch    string        // directory for stores, mounts and the tarball; on the disk under test
	SeqSize    int64         // sequential file size (1 GiB)
	RandSize   int64         // random-I/O file size (256 MiB, at most SeqSize)
	BigSize    int64         // the bigfile workload's file size (8 GiB)
	Files      int           // files in the create/stat/unlink workload
	FioRuntime time.Duration // per fio job
	SSEFS      string        // the ssefs binary to mount with
	Source     string        // module source directory to build bench/loopback in ("" = current)
	Keep       bool          // keep the scratch directory afterwards
	Progress   io.Writer     // progress lines; nil for none
}

// AllSystems lists every system the harness knows, in display order:
// ssefs, the encrypted peers, then the two unencrypted references.
var AllSystems = []string{"ssefs", "gocryptfs", "securefs", "cryfs", "encfs", "rclone-crypt", "loopback", "plain"}

// AllWorkloads lists the workloads of the standard comparison, in the
// order they run.
var AllWorkloads = []string{"seqwrite", "seqread", "randread", "randwrite", "create", "tarball"}

// OptInWorkloads run only when named: bigfile writes 8 GiB on every
// system, most of an hour on a small machine, to answer one question
// (does the daemon's memory grow with the file?) that a comparison run
// need not repeat.
var OptInWorkloads = []string{"bigfile"}

// KnownWorkloads is every name --workloads accepts: AllWorkloads, then
// OptInWorkloads.
func KnownWorkloads() []string {
	return append(slices.Clone(AllWorkloads), OptInWorkloads...)
}

// ErrConfig reports an unusable Config.
var ErrConfig = errors.New("bench: bad configuration")

// DefaultConfig is the standard comparison of `make bench`.
func DefaultConfig() Config {
	return Config{
		Systems:    AllSystems,
		Workloads:  AllWorkloads,
		Runs:       3,
		Scratch:    "bench-scratch",
		SeqSize:    1 << 30,
		RandSize:   256 << 20,
		BigSize:    8 << 30,
		Files:      10000,
		FioRuntime: 10 * time.Second,
	}
}

// ParseList splits a comma-separated flag value and checks every name
// against known, so a typo fails before any mount.
func ParseList(s string, known []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, n := range strings.Split(s, ",") {
		n = strings.TrimSpace(n)
		if n == "" || seen[n] {
			continue
		}
		if !slices.Contains(known, n) {
			return nil, fmt.Errorf("%w: unknown name %q (known: %s)", ErrConfig, n, strings.Join(known, ","))
		}
		seen[n] = true
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: empty list", ErrConfig)
	}
	return out, nil
}

// ParseSize reads a byte count with an optional binary suffix: 1G, 256M,
// 64k, 1GiB or a plain number.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "IB"), "B")
	shift := 0
	if t != "" {
		switch t[len(t)-1] {
		case 'K':
			shift = 10
		case 'M':
			shift = 20
		case 'G':
			shift = 30
		case 'T':
			shift = 40
		}
		if shift > 0 {
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)>>shift {
		return 0, fmt.Errorf("%w: size %q", ErrConfig, s)
	}
	return n << shift, nil
}

func (c *Config) validate() error {
	switch {
	case c.Runs < 1:
		return fmt.Errorf("%w: runs must be at least 1", ErrConfig)
	case c.SeqSize < 1<<20:
		return fmt.Errorf("%w: size must be at least 1 MiB", ErrConfig)
	case c.BigSize < bigMinSize:
		return fmt.Errorf("%w: big size must be at least %s", ErrConfig, sizeString(bigMinSize))
	case c.Files < 1:
		return fmt.Errorf("%w: files must be at least 1", ErrConfig)
	case c.FioRuntime < time.Second:
		return fmt.Errorf("%w: fio runtime must be at least 1s", ErrConfig)
	case c.Scratch == "":
		return fmt.Errorf("%w: no scratch directory", ErrConfig)
	}
	if c.RandSize <= 0 || c.RandSize > c.SeqSize {
		c.RandSize = min(256<<20, c.SeqSize)
	}
	return nil
}
