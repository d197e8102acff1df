package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"
)

// secretEnv names the environment variables that may hold a passphrase.
var secretEnv = []string{"SSEFS_PASSPHRASE", "SSEFS_NEW_PASSPHRASE"}

// scrubSecretEnv removes the passphrase variables from the environment once
// the keys are derived: from the Go copy (whose bytes it overwrites, so no
// stale copy stays in the heap) and from the process's initial environment
// block, which /proc/PID/environ shows for the life of the process and
// which os.Unsetenv does not touch. Children started afterwards do not
// inherit them.
func scrubSecretEnv() error {
	for _, name := range secretEnv {
		if v, ok := os.LookupEnv(name); ok && len(v) > 0 {
			// The runtime's copy of the environment is heap memory, not a
			// constant, so overwriting it in place is safe; nothing reads
			// the variable after this.
			clear(unsafe.Slice(unsafe.StringData(v), len(v)))
		}
		os.Unsetenv(name)
	}
	return scrubEnvironBlock(secretEnv)
}

// scrubEnvironBlock zeroes every NAME=value entry of names in the initial
// environment block [env_start, env_end) of this process, through
// /proc/self/mem.
func scrubEnvironBlock(names []string) error {
	start, end, err := environBounds()
	if err != nil {
		return err
	}
	mem, err := os.OpenFile("/proc/self/mem", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("scrubbing environment: %w", err)
	}
	defer mem.Close()
	block := make([]byte, end-start)
	if _, err := mem.ReadAt(block, int64(start)); err != nil {
		return fmt.Errorf("scrubbing environment: reading it: %w", err)
	}
	off := 0
	for _, entry := range bytes.Split(block, []byte{0}) {
		for _, name := range names {
			if bytes.HasPrefix(entry, []byte(name+"=")) {
				if _, err := mem.WriteAt(make([]byte, len(entry)), int64(start)+int64(off)); err != nil {
					return fmt.Errorf("scrubbing environment: %w", err)
				}
			}
		}
		off += len(entry) + 1
	}
	return nil
}

// environBounds returns env_start and env_end of /proc/self/stat (fields 50
// and 51; the command name in field 2 may hold spaces, so count after it).
func environBounds() (start, end uint64, err error) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("scrubbing environment: %w", err)
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("scrubbing environment: malformed /proc/self/stat")
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3
	if len(f) < 49 {
		return 0, 0, fmt.Errorf("scrubbing environment: /proc/self/stat has no env_start")
	}
	if start, err = strconv.ParseUint(f[47], 10, 64); err == nil {
		end, err = strconv.ParseUint(f[48], 10, 64)
	}
	if err != nil || end < start || end-start > 1<<24 {
		return 0, 0, fmt.Errorf("scrubbing environment: bad env_start/env_end in /proc/self/stat")
	}
	return start, end, nil
}
