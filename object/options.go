package object

import (
	"context"
	"time"
)

// Options tunes a Layer. The zero value is what a library user without a
// seal hook wants; the program (cmd/ssefs) fills it from its environment.
type Options struct {
	// MetaFlushDelay is how long metadata changes may stay pending in the
	// write-back batch (meta_batch.go); zero or less keeps the default.
	MetaFlushDelay time.Duration

	// SealHook runs the store's seal hook (store.json seal_hook) on KMS
	// events. Nil: no hook is ever run, even if one is configured.
	SealHook SealHookRunner
}

// SealHookRun is one run of the store's seal hook.
type SealHookRun struct {
	Path     string // the executable named in store.json
	Event    string // "seal", "unseal" or "delete"
	Key      string // the key's name, "" for the whole KMS
	StoreDir string // the store directory
	StoreID  string // the store's id (store.json)
}

// SealHookRunner runs the seal hook until it ends or ctx is done, and
// returns its output (for the log) and its failure. The layer decides when
// the hook runs, serialises the runs and logs and audits failures; the
// runner only decides how it runs.
type SealHookRunner func(ctx context.Context, run SealHookRun) (output []byte, err error)
