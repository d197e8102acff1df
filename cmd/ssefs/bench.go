package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ssefs/ssefs/bench"
)

func runBench(env *cliEnv, args []string) error {
	if len(args) > 0 && args[0] == "crypto" {
		return runBenchCrypto(env, args[1:])
	}
	fs := newFlags(env, "bench", "| crypto [options]")
	config := bench.ConfigFlags(fs)
	out := fs.String("out", "bench-results", "`DIR` for results.json, results.md and results.svg")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	cfg, err := config()
	if err != nil {
		return err
	}
	cfg.Progress = env.stdout
	if cfg.SSEFS, err = os.Executable(); err != nil {
		return fmt.Errorf("bench: finding the ssefs binary to mount with: %w", err)
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
