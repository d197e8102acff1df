package main

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCrashKeepsFsyncedFiles kills the mount daemon with SIGKILL while a
// writer is busy, mounts again and checks every file that was fsynced
// before the kill, byte for byte, and that nothing reads as garbage.
// SSEFS_SOAK=1 repeats it (make soak).
func TestCrashKeepsFsyncedFiles(t *testing.T) {
	dir, mnt, pf := daemonMount(t)
	rounds := 1
	if os.Getenv("SSEFS_SOAK") == "1" {
		rounds = 10
	}
	want := map[string][]byte{}
	rng := rand.New(rand.NewSource(7))
	for round := 0; round < rounds; round++ {
		// Durable files: written, fsynced, closed.
		for i := 0; i < 10; i++ {
			name := fmt.Sprintf("r%d-f%d", round, i)
			data := make([]byte, rng.Intn(3<<20))
			rng.Read(data)
			f, err := os.Create(filepath.Join(mnt, name))
			if err != nil {
				t.Fatal(err)
			}
			f.Write(data)
			if err := f.Sync(); err != nil {
				t.Fatalf("fsync: %v", err)
			}
			f.Close()
			want[name] = data
		}
		// An in-flight writer that the kill interrupts.
		stop := make(chan struct{})
		go func() {
			f, err := os.Create(filepath.Join(mnt, fmt.Sprintf("r%d-inflight", round)))
			if err != nil {
				return
			}
			buf := make([]byte, 1<<20)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := f.Write(buf); err != nil {
					return
				}
			}
		}()
		time.Sleep(300 * time.Millisecond)
		pid := daemonPID(t, dir)
		syscall.Kill(pid, syscall.SIGKILL)
		waitGone(t, pid)
		close(stop)
		exec.Command("fusermount3", "-uz", mnt).Run()
		mustSsefs(t, nil, "mount", "--passphrase-file", pf, dir, mnt)
		for name, data := range want {
			got, err := os.ReadFile(filepath.Join(mnt, name))
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("round %d: fsynced %s after crash: %d bytes, err %v (want %d bytes)", round, name, len(got), err, len(data))
			}
		}
		// Whatever else survived must read without an error.
		ents, _ := os.ReadDir(mnt)
		for _, e := range ents {
			if _, err := os.ReadFile(filepath.Join(mnt, e.Name())); err != nil {
				t.Fatalf("round %d: %s unreadable after crash: %v", round, e.Name(), err)
			}
		}
	}
	// gc removes what the killed writer left unreferenced.
	out := mustSsefs(t, nil, "gc", mnt)
	if !strings.Contains(out, "orphan parts") {
		t.Fatalf("gc: %s", out)
	}
	t.Log(strings.TrimSpace(out))
}
