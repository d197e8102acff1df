package fs

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// mounted reports whether mnt is a mountpoint in this mount namespace.
func mounted(t *testing.T, mnt string) bool {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 4 && fields[4] == mnt {
			return true
		}
	}
	return false
}

// TestHarnessClosesLeftOpenFiles: a test that fails or forgets to close
// what it opened under the mount (TestRandomOps did, on failure) used to
// make the harness's unmount fail with EBUSY and then wait forever for
// the server. The harness lets go of those descriptors and unmounts; what
// was written through them is committed, as when a process exits.
func TestHarnessClosesLeftOpenFiles(t *testing.T) {
	m := newTestMount(t)
	f, err := os.Create(m.path("left-open"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("written, never closed"); err != nil {
		t.Fatal(err)
	}
	d, err := os.Open(m.mnt)
	if err != nil {
		t.Fatal(err)
	}
	m.unmount()
	if m.teardown != tornUnmount {
		t.Errorf("teardown = %q, want a plain unmount once the files are let go", m.teardown)
	}
	if mounted(t, m.mnt) {
		t.Fatalf("%s still mounted", m.mnt)
	}
	// The test's own Files now hold /dev/null: closing them is harmless
	// and closes nothing else.
	if err := f.Close(); err != nil {
		t.Errorf("closing the left-open file afterwards: %v", err)
	}
	d.Close()
	m.mount()
	if b, err := os.ReadFile(m.path("left-open")); err != nil || string(b) != "written, never closed" {
		t.Errorf("after remount: %q, %v", b, err)
	}
}

// TestHarnessAbortsABusyMount: a mount that something outside the test's
// reach keeps busy (here a process whose working directory is in it) is
// detached and its FUSE connection aborted, so the teardown ends and the
// store can be opened again.
func TestHarnessAbortsABusyMount(t *testing.T) {
	m := newTestMount(t)
	cmd := exec.Command("sleep", "600")
	cmd.Dir = m.mnt
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	m.unmount()
	if m.teardown != tornAbort {
		t.Errorf("teardown = %q, want %q", m.teardown, tornAbort)
	}
	if mounted(t, m.mnt) {
		t.Errorf("%s still mounted", m.mnt)
	}
	m.mount() // the store was closed: its lock is free again
	if err := os.WriteFile(m.path("after"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}
