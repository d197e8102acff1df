//go:build !linux

package main

import (
	"os"
	"unsafe"
)

var secretEnv = []string{"SSEFS_PASSPHRASE", "SSEFS_NEW_PASSPHRASE"}

// scrubSecretEnv removes the passphrase variables from the environment.
func scrubSecretEnv() error {
	for _, name := range secretEnv {
		if v, ok := os.LookupEnv(name); ok && len(v) > 0 {
			clear(unsafe.Slice(unsafe.StringData(v), len(v)))
		}
		os.Unsetenv(name)
	}
	return nil
}
