package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// figure is one value a workload run produced.
type figure struct {
	Name         string
	Unit         string
	HigherBetter bool
	Value        float64
}

// wenv is what a workload sees: the mounted directory and the harness.
type wenv struct {
	ctx     context.Context
	cfg     *Config
	mnt     string
	tarball *tarball
	drop    func()       // drop caches (no-op when not root)
	note    func(string) // record a caveat in the results
	system  string
	plain   bool // no FUSE daemon: the bare directory
	pid     int  // the daemon serving mnt while run runs; 0 for plain
	// removeForGood deletes a file and, on a filesystem that keeps
	// deleted files' versions, purges them too.
	removeForGood func(path string) error
}

// workload is one measured task. prepare makes its untimed preconditions
// and reports whether it wrote anything, in which case the harness
// remounts so the timed part starts from a cold daemon.
type workload struct {
	Name  string
	Title string   // heading in the table and chart
	Needs []string // executables required
	// warm keeps the caches filled by prepare: random I/O bypasses the
	// mount's page cache with O_DIRECT, and a warm backing store makes
	// its figure the filesystem's cost per request, not the disk's.
	warm    bool
	prepare func(w *wenv) (bool, error)
	run     func(w *wenv) ([]figure, error)
	// cleanup, if set, removes what run left behind, on a mount of its
	// own after the measured one (so neither the daemon's CPU nor its
	// peak RSS counts it), even when run failed: a file too large to
	// leave on the disk while the next system writes its own.
	cleanup func(w *wenv) error
}

const (
	seqFile  = "bench-seq.dat"
	randFile = "bench-rand.dat"
	bigFile  = "bench-big.dat"
	filesDir = "bench-files"
	treeDir  = "bench-tree"
	blockLen = 1 << 20
)

var workloads = map[string]*workload{
	"seqwrite": {
		Name:  "seqwrite",
		Title: "sequential write, 1 MiB blocks + fsync",
		prepare: func(w *wenv) (bool, error) {
			return removeIfExists(filepath.Join(w.mnt, seqFile))
		},
		run: func(w *wenv) ([]figure, error) {
			el, err := writeFile(w.ctx, filepath.Join(w.mnt, seqFile), w.cfg.SeqSize, nil)
			if err != nil {
				return nil, err
			}
			return []figure{{"write", "MB/s", true, mbps(w.cfg.SeqSize, el)}}, nil
		},
	},
	"seqread": {
		Name:  "seqread",
		Title: "sequential read, cold caches",
		prepare: func(w *wenv) (bool, error) {
			return ensureFile(w.ctx, filepath.Join(w.mnt, seqFile), w.cfg.SeqSize)
		},
		run: func(w *wenv) ([]figure, error) {
			el, err := readFile(w.ctx, filepath.Join(w.mnt, seqFile), w.cfg.SeqSize)
			if err != nil {
				return nil, err
			}
			return []figure{{"read", "MB/s", true, mbps(w.cfg.SeqSize, el)}}, nil
		},
	},
	"bigfile": {
		Name:  "bigfile",
		Title: "one big file, 1 MiB blocks + fsync",
		prepare: func(w *wenv) (bool, error) {
			return removeIfExists(filepath.Join(w.mnt, bigFile))
		},
		run: runBigFile,
		cleanup: func(w *wenv) error {
			return w.removeForGood(filepath.Join(w.mnt, bigFile))
		},
	},
	"randread":  randomIO("randread", "random 4 KiB reads (fio, O_DIRECT)"),
	"randwrite": randomIO("randwrite", "random 4 KiB writes (fio, O_DIRECT)"),
	"create": {
		Name:  "create",
		Title: "create, stat, unlink of small files",
		prepare: func(w *wenv) (bool, error) {
			return removeIfExists(filepath.Join(w.mnt, filesDir))
		},
		run: runCreate,
	},
	"tarball": {
		Name:  "tarball",
		Title: "Go source tree: extract, walk, rm -rf",
		Needs: []string{"tar", "du", "find", "rm"},
		prepare: func(w *wenv) (bool, error) {
			return removeIfExists(filepath.Join(w.mnt, treeDir))
		},
		run: runTarball,
	},
}

func randomIO(rw, title string) *workload {
	return &workload{
		Name:  rw,
		Title: title,
		Needs: []string{"fio"},
		warm:  true,
		prepare: func(w *wenv) (bool, error) {
			p := filepath.Join(w.mnt, randFile)
			wrote, err := ensureFile(w.ctx, p, w.cfg.RandSize)
			if err == nil {
				_, err = readFile(w.ctx, p, w.cfg.RandSize) // fills the backing store's cache
			}
			return wrote, err
		},
		run: func(w *wenv) ([]figure, error) {
			var figs []figure
			for _, jobs := range []int{1, 2} {
				// On the bare directory O_DIRECT would time the disk;
				// buffered I/O on a warm cache is the kernel's ceiling.
				j := fioJob{File: filepath.Join(w.mnt, randFile), RW: rw, Size: w.cfg.RandSize, Jobs: jobs, Runtime: w.cfg.FioRuntime, Direct: !w.plain}
				iops, err := runFio(w.ctx, j)
				buffered := false
				if err != nil && j.Direct && w.ctx.Err() == nil {
					// Some filesystems refuse O_DIRECT; buffered I/O
					// partly hits the page cache, so its figures get
					// rows of their own rather than a false comparison.
					j.Direct = false
					if iops, err = runFio(w.ctx, j); err == nil {
						buffered = true
						w.note(w.system + " refuses O_DIRECT: its random I/O ran buffered (page cache) and has rows marked (buffered)")
					}
				}
				if err != nil {
					return nil, err
				}
				name := "1 job"
				if jobs > 1 {
					name = strconv.Itoa(jobs) + " jobs"
				}
				if buffered {
					name += " (buffered)"
				}
				figs = append(figs, figure{name, "IOPS", true, iops})
			}
			return figs, nil
		},
	}
}

// bigMinSize is the smallest bigfile size whose eighth, the first
// checkpoint, is a whole block: smaller, two checkpoints would fall in
// the same block and get the same name.
const bigMinSize = 8 * blockLen

// bigCheckpoints returns the byte counts at which runBigFile samples the
// daemon's peak RSS: 1/8, 1/4, 1/2 and all of size, the first three
// rounded up to a whole block since the file grows a block at a time.
func bigCheckpoints(size int64) []int64 {
	var out []int64
	for _, div := range []int64{8, 4, 2} {
		m := (size/div + blockLen - 1) / blockLen * blockLen
		out = append(out, min(m, size))
	}
	return append(out, size)
}

// bigRSSFigure names the peak-RSS figure taken once written bytes are in
// the file; the daemon row of the whole workload (figRSS) also covers
// the fsync and close after the last checkpoint.
func bigRSSFigure(written int64) string {
	return figRSS + ", " + sizeString(written) + " written"
}

// runBigFile writes cfg.BigSize like seqwrite and reads the daemon's
// VmHWM (reset by the harness just before) at each checkpoint: a daemon
// whose memory stays flat as the file grows shows the same peak at 1/8
// as at the end.
func runBigFile(w *wenv) ([]figure, error) {
	size := w.cfg.BigSize
	marks := bigCheckpoints(size)
	var figs []figure
	var onBlock func(int64) error
	if w.pid != 0 {
		onBlock = func(done int64) error {
			if len(marks) == 0 || done < marks[0] {
				return nil
			}
			s, err := sampleProc(w.pid)
			if err != nil {
				return fmt.Errorf("sampling the daemon at %s: %w", sizeString(marks[0]), err)
			}
			figs = append(figs, figure{bigRSSFigure(marks[0]), "MiB", false, float64(s.HWMBytes) / (1 << 20)})
			marks = marks[1:]
			return nil
		}
	}
	el, err := writeFile(w.ctx, filepath.Join(w.mnt, bigFile), size, onBlock)
	if err != nil {
		return nil, err
	}
	return append([]figure{{"write", "MB/s", true, mbps(size, el)}}, figs...), nil
}

func runCreate(w *wenv) ([]figure, error) {
	dir := filepath.Join(w.mnt, filesDir)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	n := w.cfg.Files
	name := func(i int) string { return filepath.Join(dir, "f"+strconv.Itoa(i)) }
	phase := func(op func(string) error) (time.Duration, error) {
		start := time.Now()
		for i := 0; i < n; i++ {
			if i%1000 == 0 && w.ctx.Err() != nil {
				return 0, w.ctx.Err()
			}
			if err := op(name(i)); err != nil {
				return 0, err
			}
		}
		return time.Since(start), nil
	}
	create := func(p string) error {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		return f.Close()
	}
	stat := func(p string) error { _, err := os.Stat(p); return err }
	var figs []figure
	for _, ph := range []struct {
		name string
		op   func(string) error
	}{{"create", create}, {"stat", stat}, {"unlink", os.Remove}} {
		if ph.name == "stat" {
			w.drop() // so stat reaches the filesystem, not the dentry cache
		}
		el, err := phase(ph.op)
		if err != nil {
			return nil, fmt.Errorf("%s phase: %w", ph.name, err)
		}
		figs = append(figs, figure{ph.name, "ops/s", true, float64(n) / el.Seconds()})
	}
	return figs, os.Remove(dir)
}

func runTarball(w *wenv) ([]figure, error) {
	dir := filepath.Join(w.mnt, treeDir)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	timed := func(fn func() error) (float64, error) {
		start := time.Now()
		err := fn()
		return time.Since(start).Seconds(), err
	}
	extract, err := timed(func() error {
		return runTool(w.ctx, "tar", "-xf", w.tarball.Path, "-C", dir, "--no-same-owner")
	})
	if err != nil {
		return nil, err
	}
	w.drop()
	walk, err := timed(func() error {
		if err := runTool(w.ctx, "du", "-s", dir); err != nil {
			return err
		}
		n, err := countLines(w.ctx, "find", dir)
		if err == nil && n != w.tarball.Entries+1 {
			err = fmt.Errorf("find listed %d entries, the tarball has %d", n-1, w.tarball.Entries)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	rm, err := timed(func() error { return runTool(w.ctx, "rm", "-rf", dir) })
	if err != nil {
		return nil, err
	}
	return []figure{{"extract", "s", false, extract}, {"walk", "s", false, walk}, {"rm -rf", "s", false, rm}}, nil
}

// tarball is the Go source tree, archived once outside the mounts.
type tarball struct {
	Path    string
	Entries int // files, directories and links, including src itself
}

// makeTarball archives $(go env GOROOT)/src into dir.
func makeTarball(ctx context.Context, dir string) (*tarball, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output()
	if err != nil {
		return nil, fmt.Errorf("bench: go env GOROOT: %w", err)
	}
	goroot := strings.TrimSpace(string(out))
	t := &tarball{Path: filepath.Join(dir, "gosrc.tar")}
	if err := runTool(ctx, "tar", "-cf", t.Path, "-C", goroot, "src"); err != nil {
		return nil, err
	}
	t.Entries, err = countLines(ctx, "tar", "-tf", t.Path)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// writeFile writes size bytes of incompressible data in 1 MiB blocks,
// fsyncs and closes, timing all of it, as `dd bs=1M conv=fsync` does.
// onBlock, if not nil, is called after each block with the bytes written
// so far; its error stops the write.
func writeFile(ctx context.Context, path string, size int64, onBlock func(done int64) error) (time.Duration, error) {
	buf := randomBlock()
	start := time.Now()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, err
	}
	for done := int64(0); done < size; {
		if ctx.Err() != nil {
			f.Close()
			return 0, ctx.Err()
		}
		n, err := f.Write(buf[:min(int64(len(buf)), size-done)])
		if err != nil {
			f.Close()
			return 0, err
		}
		done += int64(n)
		if onBlock != nil {
			if err := onBlock(done); err != nil {
				f.Close()
				return 0, err
			}
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return 0, fmt.Errorf("fsync: %w", err)
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// readFile reads path to its end in 1 MiB blocks and checks its length.
func readFile(ctx context.Context, path string, size int64) (time.Duration, error) {
	buf := make([]byte, blockLen)
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var total int64
	for {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		n, err := f.Read(buf)
		total += int64(n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	if total != size {
		return 0, fmt.Errorf("read %d bytes, wrote %d", total, size)
	}
	return time.Since(start), nil
}

// ensureFile writes path unless it already has size bytes.
func ensureFile(ctx context.Context, path string, size int64) (bool, error) {
	if fi, err := os.Stat(path); err == nil && fi.Size() == size {
		return false, nil
	}
	_, err := writeFile(ctx, path, size, nil)
	return true, err
}

func removeIfExists(path string) (bool, error) {
	if _, err := os.Lstat(path); err != nil {
		return false, nil
	}
	return true, os.RemoveAll(path)
}

// randomBlock is one block of pseudo-random bytes: no filesystem under
// test compresses, but the disk or a future one might.
func randomBlock() []byte {
	r := rand.NewChaCha8([32]byte{'s', 's', 'e', 'f', 's'})
	buf := make([]byte, blockLen)
	r.Read(buf)
	return buf
}

func mbps(n int64, d time.Duration) float64 { return float64(n) / 1e6 / d.Seconds() }

// runTool runs an external command, discarding its output.
func runTool(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v: %s", name, err, tail(stderr.String(), 300))
	}
	return nil
}

// countLines runs a command and counts the lines it prints, as `| wc -l`.
func countLines(ctx context.Context, name string, args ...string) (int, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	n := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		n++
	}
	if err := cmd.Wait(); err != nil {
		return 0, fmt.Errorf("%s: %v: %s", name, err, tail(stderr.String(), 300))
	}
	return n, nil
}
