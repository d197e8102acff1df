package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Run measures every configured workload on every system that can be set
// up here, interleaving runs (run 1 of all systems, then run 2) so drift
// in the machine's speed spreads over all systems alike. A system that
// cannot be set up, or a workload that fails, is recorded in Failures and
// the rest goes on; Run fails only when nothing could be measured or ctx
// was cancelled.
func Run(ctx context.Context, cfg Config) (*Results, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	scratch, err := filepath.Abs(cfg.Scratch)
	if err != nil {
		return nil, err
	}
	cfg.Scratch = scratch
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	say := func(format string, a ...any) { fmt.Fprintf(progress, format+"\n", a...) }
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	cleanStaleMounts(scratch)
	res := &Results{
		Started: time.Now().UTC(), Machine: describeMachine(scratch), Runs: cfg.Runs,
		SeqSize: cfg.SeqSize, RandSize: cfg.RandSize, Files: cfg.Files,
	}
	if slices.Contains(cfg.Workloads, "bigfile") {
		res.BigSize = cfg.BigSize
	}
	note := func(s string) {
		if !slices.Contains(res.Notes, s) {
			res.Notes = append(res.Notes, s)
			say("note: %s", s)
		}
	}
	if t := res.Machine.ScratchFS; t == "tmpfs" || t == "ramfs" || t == "overlay" {
		note(fmt.Sprintf("scratch directory %s is on %s, not a disk; pass --dir on the disk to measure", scratch, t))
	}
	drop := func() {
		if err := dropCaches(); err != nil {
			note("caches were not dropped (run as root for cold-cache reads)")
		}
	}
	fail := func(f Failure) {
		res.Failures = append(res.Failures, f)
		where := f.System
		if f.Workload != "" {
			where += " " + f.Workload
		}
		say("FAILED %s: %s", where, f.Error)
	}

	// Workloads whose tools are missing are skipped everywhere.
	var wls []*workload
	var tb *tarball
	for _, name := range cfg.Workloads {
		w := workloads[name]
		if w == nil {
			return nil, fmt.Errorf("%w: unknown workload %q", ErrConfig, name)
		}
		if missing := missingTools(w.Needs); missing != "" {
			fail(Failure{System: "all", Workload: name, Error: missing + " not found on PATH (make bench-deps installs it); skipped"})
			continue
		}
		if name == "tarball" {
			say("archiving the Go source tree into %s", scratch)
			if tb, err = makeTarball(ctx, scratch); err != nil {
				fail(Failure{System: "all", Workload: name, Error: err.Error()})
				continue
			}
		}
		wls = append(wls, w)
		res.Workloads = append(res.Workloads, name)
	}

	type ready struct {
		sys  *system
		dirs sysDirs
	}
	var syss []ready
	for _, name := range cfg.Systems {
		s := systems[name]
		if s == nil {
			return nil, fmt.Errorf("%w: unknown system %q", ErrConfig, name)
		}
		say("setting up %s", name)
		d, err := prepareSystem(ctx, &cfg, s)
		if err != nil {
			fail(Failure{System: name, Error: "skipped: " + err.Error()})
			continue
		}
		syss = append(syss, ready{s, d})
		res.Systems = append(res.Systems, name)
		res.Machine.Versions[name] = s.version()
	}
	if len(syss) == 0 || len(wls) == 0 {
		return res, errors.New("bench: no system or no workload could be set up")
	}

	for run := 1; run <= cfg.Runs; run++ {
		for _, r := range syss {
			for _, w := range wls {
				if ctx.Err() != nil {
					return res, ctx.Err()
				}
				env := &wenv{ctx: ctx, cfg: &cfg, mnt: r.dirs.Mnt, tarball: tb, drop: drop, note: note, system: r.sys.Name, plain: r.sys.serve == nil,
					removeForGood: func(p string) error { return r.sys.removeForGood(ctx, &cfg, p) }}
				start := time.Now()
				figs, err := runOne(&cfg, r.sys, r.dirs, w, env)
				if err != nil {
					if ctx.Err() != nil {
						return res, ctx.Err()
					}
					fail(Failure{Run: run, System: r.sys.Name, Workload: w.Name, Error: err.Error()})
					continue
				}
				var line []string
				for _, f := range figs {
					res.Measurements = append(res.Measurements, Measurement{
						Run: run, System: r.sys.Name, Workload: w.Name,
						Figure: f.Name, Unit: f.Unit, HigherBetter: f.HigherBetter, Value: f.Value,
					})
					line = append(line, f.Name+" "+formatValue(f.Value)+" "+f.Unit)
				}
				say("[run %d/%d] %-12s %-9s %s  (%.0fs)", run, cfg.Runs, r.sys.Name, w.Name, strings.Join(line, ", "), time.Since(start).Seconds())
			}
		}
	}
	if !cfg.Keep {
		for _, r := range syss {
			os.RemoveAll(r.dirs.Root)
		}
		if tb != nil {
			os.Remove(tb.Path)
		}
		os.Remove(scratch) // only if empty
	}
	res.Finished = time.Now().UTC()
	return res, nil
}

// Daemon figures, recorded for every workload of a system with a daemon.
const (
	figCPU = "daemon CPU"
	figRSS = "daemon peak RSS"
)

// runOne measures w on s, then lets w clean up after itself on a mount
// of its own; a failed cleanup is a note, as the figures stand.
func runOne(c *Config, s *system, d sysDirs, w *workload, env *wenv) ([]figure, error) {
	figs, err := measure(c, s, d, w, env)
	if w.cleanup != nil && env.ctx.Err() == nil {
		if cerr := cleanUp(c, s, d, w, env); cerr != nil {
			env.note(fmt.Sprintf("%s %s: cleaning up afterwards failed: %v", s.Name, w.Name, cerr))
		}
	}
	return figs, err
}

// cleanUp runs w.cleanup on a fresh mount of s.
func cleanUp(c *Config, s *system, d sysDirs, w *workload, env *wenv) error {
	m, err := startMount(c, s, d)
	if err != nil {
		return err
	}
	if err := w.cleanup(env); err != nil {
		m.stop()
		return err
	}
	_, err = m.stop()
	return err
}

// measure mounts s, prepares and runs w, and adds the daemon's CPU seconds
// and peak RSS over the timed part to the workload's figures.
func measure(c *Config, s *system, d sysDirs, w *workload, env *wenv) ([]figure, error) {
	m, err := startMount(c, s, d)
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			m.stop()
		}
	}()
	wrote, err := w.prepare(env)
	if err != nil {
		return nil, fmt.Errorf("preparing: %w", err)
	}
	if wrote && m.pid() != 0 {
		stopped = true
		if _, err := m.stop(); err != nil {
			return nil, err
		}
		if m, err = startMount(c, s, d); err != nil {
			return nil, err
		}
		stopped = false
	}
	if !w.warm {
		env.drop()
	}
	var before procSample
	pid := m.pid()
	env.pid = pid
	if pid != 0 {
		if before, err = sampleProc(pid); err != nil {
			return nil, err
		}
		if err := resetHWM(pid); err != nil {
			return nil, err
		}
	}
	figs, err := w.run(env)
	if err != nil {
		return nil, err
	}
	if pid == 0 {
		return figs, nil
	}
	after, err := sampleProc(pid)
	if err != nil {
		return nil, err
	}
	stopped = true
	total, err := m.stop()
	if err != nil {
		return nil, err
	}
	// CPU until the daemon exited, so work deferred past the last close
	// (rclone's upload, a final flush) counts; mount-time key derivation
	// does not.
	cpu := max(total, after.CPUSeconds) - before.CPUSeconds
	return append(figs,
		figure{figCPU, "s", false, cpu},
		figure{figRSS, "MiB", false, float64(after.HWMBytes) / (1 << 20)},
	), nil
}

func missingTools(tools []string) string {
	var missing []string
	for _, t := range tools {
		if _, err := exec.LookPath(t); err != nil {
			missing = append(missing, t)
		}
	}
	return strings.Join(missing, ", ")
}

// describeMachine records the hardware and software the figures belong to.
func describeMachine(scratch string) Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), ScratchFS: fsTypeOf(scratch), Versions: map[string]string{}}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		if b, err := parseStatus(data, "MemTotal"); err == nil {
			m.MemoryMiB = b >> 20
		}
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	if out, err := exec.Command("fio", "--version").Output(); err == nil {
		m.Versions["fio"] = strings.TrimSpace(string(out))
	}
	return m
}

// formatValue prints a figure with three significant digits or more.
func formatValue(v float64) string {
	switch a := abs(v); {
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
