package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ssefs/ssefs/object"
)

// SSEFS_META_FLUSH_DELAY reaches the layer as before: a positive duration
// is used, anything else leaves the default.
func TestLayerOptionsFlushDelay(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want time.Duration
	}{
		{"", 0}, {"1h", time.Hour}, {"250ms", 250 * time.Millisecond}, {"-1s", 0}, {"0", 0}, {"soon", 0},
	} {
		t.Setenv(envMetaFlushDelay, tc.env)
		opts := layerOptions()
		if opts.MetaFlushDelay != tc.want || opts.SealHook == nil {
			t.Errorf("%s=%q: delay %v (want %v), hook wired %v", envMetaFlushDelay, tc.env, opts.MetaFlushDelay, tc.want, opts.SealHook != nil)
		}
	}
}

// The seal hook executable gets the event and key as arguments and the
// store's directory and id in its environment; its output and failure come
// back to the layer.
func TestExecSealHook(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "seen")
	hook := filepath.Join(dir, "hook")
	script := "#!/bin/sh\necho \"$1|$2|$SSEFS_STORE|$SSEFS_STORE_ID\" > " + out + "\necho said\nexit 4\n"
	if err := os.WriteFile(hook, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	run := object.SealHookRun{Path: hook, Event: "seal", Key: "k", StoreDir: "/st", StoreID: "abc"}
	said, err := execSealHook(context.Background(), run)
	if err == nil || string(said) != "said\n" {
		t.Fatalf("output %q, err %v: want the output and exit status 4", said, err)
	}
	if b, _ := os.ReadFile(out); string(b) != "seal|k|/st|abc\n" {
		t.Fatalf("hook saw %q", b)
	}
}
