package bench

import (
	"flag"
	"fmt"
	"strings"
)

// ConfigFlags registers the options of `ssefs bench` on fs, defaulting to
// DefaultConfig, and returns the function that reads them into a Config
// once fs is parsed. It lives here rather than in the command so that
// the parsing is tested without building the binary or mounting.
func ConfigFlags(fs *flag.FlagSet) func() (Config, error) {
	def := DefaultConfig()
	systems := fs.String("systems", strings.Join(def.Systems, ","), "systems to compare, comma separated")
	wls := fs.String("workloads", strings.Join(def.Workloads, ","),
		"workloads to run, comma separated; also "+strings.Join(OptInWorkloads, ",")+", only when named")
	runs := fs.Int("runs", def.Runs, "interleaved runs per system and workload")
	scratch := fs.String("dir", def.Scratch, "scratch `DIR` for stores and mounts, on the disk to measure")
	size := fs.String("size", "1G", "sequential file size (random I/O uses min(256M, size))")
	bigSize := fs.String("big-size", "8G", "file size of the bigfile workload")
	files := fs.Int("files", def.Files, "files in the create/stat/unlink workload")
	runtime := fs.Duration("fio-runtime", def.FioRuntime, "duration of each fio job")
	src := fs.String("src", "", "ssefs source `DIR` to build the loopback in (default: current directory)")
	keep := fs.Bool("keep", false, "keep the scratch directory")
	return func() (Config, error) {
		cfg := def
		var err error
		if cfg.Systems, err = ParseList(*systems, AllSystems); err != nil {
			return cfg, fmt.Errorf("--systems: %w", err)
		}
		if cfg.Workloads, err = ParseList(*wls, KnownWorkloads()); err != nil {
			return cfg, fmt.Errorf("--workloads: %w", err)
		}
		if cfg.SeqSize, err = ParseSize(*size); err != nil {
			return cfg, fmt.Errorf("--size: %w", err)
		}
		if cfg.BigSize, err = ParseSize(*bigSize); err != nil {
			return cfg, fmt.Errorf("--big-size: %w", err)
		}
		cfg.RandSize = min(256<<20, cfg.SeqSize)
		cfg.Runs, cfg.Files, cfg.FioRuntime = *runs, *files, *runtime
		cfg.Scratch, cfg.Source, cfg.Keep = *scratch, *src, *keep
		return cfg, nil
	}
}
