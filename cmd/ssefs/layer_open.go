package main

import (
	"context"
	"os"
	"os/exec"
	"time"

	"github.com/ssefs/ssefs/object"
	"github.com/ssefs/ssefs/store"
)

// envMetaFlushDelay overrides how long metadata may stay pending in the
// write-back batch (tests, tuning); a value time.ParseDuration rejects, or
// one not above zero, is ignored.
const envMetaFlushDelay = "SSEFS_META_FLUSH_DELAY"

// openLayer opens the object layer of st as every command does: with the
// seal hook executable wired and the environment's tuning applied.
func openLayer(st *store.Store) (*object.Layer, error) {
	return object.OpenWith(st, layerOptions())
}

// layerOptions are the object layer's options this process's environment
// asks for; the library itself never reads the environment.
func layerOptions() object.Options {
	opts := object.Options{SealHook: execSealHook}
	if d, err := time.ParseDuration(os.Getenv(envMetaFlushDelay)); err == nil && d > 0 {
		opts.MetaFlushDelay = d
	}
	return opts
}

// execSealHook runs the seal hook executable with the event and key name as
// arguments, and SSEFS_STORE and SSEFS_STORE_ID added to this process's
// environment (docs/SSE.md).
func execSealHook(ctx context.Context, run object.SealHookRun) ([]byte, error) {
	cmd := exec.CommandContext(ctx, run.Path, run.Event, run.Key)
	cmd.Env = append(cmd.Environ(), "SSEFS_STORE="+run.StoreDir, "SSEFS_STORE_ID="+run.StoreID)
	return cmd.CombinedOutput()
}
