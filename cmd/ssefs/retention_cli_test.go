package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// lockMount mounts a fresh store created with --object-lock.
func lockMount(t *testing.T) (mnt string) {
	t.Helper()
	requireFUSE(t)
	base := t.TempDir()
	dir, mnt := filepath.Join(base, "store"), filepath.Join(base, "mnt")
	os.Mkdir(mnt, 0o755)
	pf := filepath.Join(base, "pass")
	os.WriteFile(pf, []byte("lock test\n"), 0o600)
	mustSsefs(t, nil, "init", "--object-lock", "--passphrase-file", pf, dir)
	mustSsefs(t, nil, "mount", "--passphrase-file", pf, dir, mnt)
	t.Cleanup(func() {
		if _, err := ssefs(t, nil, "umount", mnt); err != nil {
			exec.Command("fusermount3", "-uz", mnt).Run()
		}
	})
	return mnt
}

type cliVersion struct {
	ID           uint64 `json:"id"`
	DeleteMarker bool   `json:"delete_marker"`
	Current      bool   `json:"current"`
}

func listVersions(t *testing.T, path string) []cliVersion {
	t.Helper()
	var resp struct{ Versions []cliVersion }
	out := mustSsefs(t, nil, "versions", "list", "--json", path)
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatalf("versions list: %v\n%s", err, out)
	}
	return resp.Versions
}

func lockedCount(t *testing.T, mnt string) int {
	t.Helper()
	var s struct {
		Locked int `json:"locked_versions"`
	}
	out := mustSsefs(t, nil, "status", "--json", mnt)
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	return s.Locked
}

// mustFail runs a command that object lock must refuse.
func mustFail(t *testing.T, want string, args ...string) {
	t.Helper()
	out, err := ssefs(t, nil, args...)
	if err == nil || !strings.Contains(out, want) {
		t.Fatalf("ssefs %s: err %v, output %q; want a failure mentioning %q", strings.Join(args, " "), err, out, want)
	}
}

func TestRetentionCLI(t *testing.T) {
	mnt := lockMount(t)
	f := filepath.Join(mnt, "ledger")
	os.WriteFile(f, []byte("v1\n"), 0o644)
	os.WriteFile(f, []byte("v2\n"), 0o644)

	mustFail(t, "not in the future", "retention", "set", f, "--mode", "GOVERNANCE", "--until", time.Now().Add(-time.Hour).Format(time.RFC3339))
	mustSsefs(t, nil, "retention", "set", f, "--mode", "governance", "--days", "10")
	var show struct {
		Lock struct {
			Version     uint64    `json:"version"`
			Mode        string    `json:"mode"`
			RetainUntil time.Time `json:"retain_until"`
		}
	}
	out := mustSsefs(t, nil, "retention", "show", "--json", f)
	if err := json.Unmarshal([]byte(out), &show); err != nil || show.Lock.Mode != "GOVERNANCE" {
		t.Fatalf("show: %v\n%s", err, out)
	}
	locked := show.Lock.Version
	buf := make([]byte, 64)
	if n, err := unix.Getxattr(f, "user.ssefs.retention.mode", buf); err != nil || string(buf[:n]) != "GOVERNANCE" {
		t.Fatalf("xattr retention.mode: %q %v", buf[:max(n, 0)], err)
	}
	if n, err := unix.Getxattr(f, "user.ssefs.retention.retain-until", buf); err != nil || string(buf[:n]) != show.Lock.RetainUntil.Format(time.RFC3339) {
		t.Fatalf("xattr retain-until: %q %v", buf[:max(n, 0)], err)
	}
	if err := unix.Setxattr(f, "user.ssefs.retention.mode", []byte("COMPLIANCE"), 0); err == nil {
		t.Fatal("setfattr changed the retention")
	}

	// Shortening without bypass is refused; with it, allowed (and audited).
	mustFail(t, "--bypass-governance", "retention", "set", f, "--mode", "GOVERNANCE", "--days", "2")
	mustSsefs(t, nil, "retention", "set", f, "--mode", "GOVERNANCE", "--days", "2", "--bypass-governance")
	// COMPLIANCE: extended yes, shortened or removed never, bypass or not.
	mustSsefs(t, nil, "retention", "set", f, "--mode", "COMPLIANCE", "--days", "3")
	mustFail(t, "never shortened", "retention", "set", f, "--mode", "COMPLIANCE", "--days", "1", "--bypass-governance")
	mustFail(t, "never shortened", "retention", "set", f, "--mode", "none", "--bypass-governance")
	mustSsefs(t, nil, "legal-hold", "on", f)
	if n, err := unix.Getxattr(f, "user.ssefs.legal-hold", buf); err != nil || string(buf[:n]) != "ON" {
		t.Fatalf("xattr legal-hold: %q %v", buf[:max(n, 0)], err)
	}
	if c := lockedCount(t, mnt); c != 1 {
		t.Fatalf("status locked_versions = %d, want 1", c)
	}

	// Ways around it: purge, lifecycle + gc, truncate, overwrite, rename over, rm.
	mustFail(t, "object lock", "versions", "purge", "--yes", f, itoa(locked))
	if err := os.Truncate(f, 0); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(f, []byte("v3\n"), 0o644)
	other := filepath.Join(mnt, "other")
	os.WriteFile(other, []byte("other\n"), 0o644)
	mustFail(t, "object lock", "versions", "purge", "--yes", "--all-noncurrent", f)
	mustSsefs(t, nil, "lifecycle", "set", mnt, "--keep", "1")
	mustSsefs(t, nil, "gc", mnt)
	found := false
	for _, v := range listVersions(t, f) {
		found = found || v.ID == locked
	}
	if !found {
		t.Fatalf("locked version %d gone after truncate, write, lifecycle and gc: %+v", locked, listVersions(t, f))
	}
	if err := os.Rename(other, f); err != nil {
		t.Fatalf("rename over a locked file (S3: the old object keeps its versions): %v", err)
	}
	sub := filepath.Join(mnt, "d")
	os.Mkdir(sub, 0o755)
	g := filepath.Join(sub, "g")
	os.WriteFile(g, []byte("g\n"), 0o644)
	mustSsefs(t, nil, "legal-hold", "on", g)
	if err := os.RemoveAll(sub); err != nil {
		t.Fatalf("rm -rf of a directory with a locked file (S3: delete markers): %v", err)
	}
	mustSsefs(t, nil, "gc", mnt)
	if c := lockedCount(t, mnt); c != 2 {
		t.Fatalf("after rename over, rm -rf and gc: locked_versions = %d, want 2", c)
	}
	mustFail(t, "can only be chosen when a store is created", "object-lock", "enable")

	// A directory default locks every new version under it, subdirectories included.
	vault := filepath.Join(mnt, "vault")
	os.Mkdir(vault, 0o755)
	mustSsefs(t, nil, "retention", "default", vault, "--mode", "GOVERNANCE", "--days", "7")
	os.Mkdir(filepath.Join(vault, "y"), 0o755)
	h := filepath.Join(vault, "y", "h")
	os.WriteFile(h, []byte("h1"), 0o644)
	if v, err := unix.Getxattr(h, "user.ssefs.retention.mode", buf); err != nil || string(buf[:v]) != "GOVERNANCE" {
		t.Fatalf("default not applied: %v", err)
	}
	vs := listVersions(t, h)
	mustFail(t, "object lock", "versions", "purge", "--yes", h, itoa(vs[0].ID))
}

func TestRetentionRefusedWithoutObjectLock(t *testing.T) {
	_, mnt, _ := daemonMount(t)
	f := filepath.Join(mnt, "f")
	os.WriteFile(f, []byte("x"), 0o644)
	mustFail(t, "object lock is not enabled", "retention", "set", f, "--mode", "GOVERNANCE", "--days", "1")
	mustFail(t, "object lock is not enabled", "legal-hold", "on", f)
}
