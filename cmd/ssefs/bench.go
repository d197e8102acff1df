package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ssefs/ssefs/bench"
)

func init() {
	register("bench", "compare speed with gocryptfs, securefs, CryFS, EncFS, rclone; 'bench crypto' for AEAD speed", runBench)
}

func runBench(env *cliEnv, args []string) error {
	if len(args) > 0 && args[0] == "crypto" {
		return runBenchCrypto(env, args[1:])
	}
	def := bench.DefaultConfig()
	fs := newFlags(env, "bench", "| crypto [options]")
	systems := fs.String("systems", strings.Join(def.Systems, ","), "systems to compare, comma separated")
	wls := fs.String("workloads", strings.Join(def.Workloads, ","), "workloads to run, comma separated")
	runs := fs.Int("runs", def.Runs, "interleaved runs per system and workload")
	out := fs.String("out", "bench-results", "`DIR` for results.json, results.md and results.svg")
	scratch := fs.String("dir", def.Scratch, "scratch `DIR` for stores and mounts, on the disk to measure")
	size := fs.String("size", "1G", "sequential file size (random I/O uses min(256M, size))")
	files := fs.Int("files", def.Files, "files in the create/stat/unlink workload")
	runtime := fs.Duration("fio-runtime", def.FioRuntime, "duration of each fio job")
	src := fs.String("src", "", "ssefs source `DIR` to build the loopback in (default: current directory)")
	keep := fs.Bool("keep", false, "keep the scratch directory")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	cfg := def
	var err error
	if cfg.Systems, err = bench.ParseList(*systems, bench.AllSystems); err != nil {
		return err
	}
	if cfg.Workloads, err = bench.ParseList(*wls, bench.AllWorkloads); err != nil {
		return err
	}
	if cfg.SeqSize, err = bench.ParseSize(*size); err != nil {
		return err
	}
	cfg.RandSize = min(256<<20, cfg.SeqSize)
	cfg.Runs, cfg.Files, cfg.FioRuntime = *runs, *files, *runtime
	cfg.Scratch, cfg.Source, cfg.Keep, cfg.Progress = *scratch, *src, *keep, env.stdout
	if cfg.SSEFS, err = os.Executable(); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(env.stderr, "ssefs bench: not root: caches cannot be dropped, so reads may come from memory")
	}
	// Ctrl-C stops after unmounting, and still writes what was measured.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	res, runErr := bench.Run(ctx, cfg)
	if res != nil && len(res.Measurements) > 0 {
		if err := res.Write(*out); err != nil {
			return err
		}
		abs, _ := filepath.Abs(*out)
		fmt.Fprintf(env.stdout, "\n%s\nwrote results.json, results.md, results.svg to %s in %s\n", res.Markdown(), abs, time.Since(start).Round(time.Second))
	}
	return runErr
}

func runBenchCrypto(env *cliEnv, args []string) error {
	fs := newFlags(env, "bench crypto", "")
	d := fs.Duration("time", 300*time.Millisecond, "measuring time per figure")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	rep, err := bench.RunCrypto(*d, nil)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.WriteTable(env.stdout)
}
