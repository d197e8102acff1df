package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// daemonMount inits a store and mounts it in the background for a test.
func daemonMount(t *testing.T) (dir, mnt, passFile string) {
	t.Helper()
	requireFUSE(t)
	base := t.TempDir()
	dir, mnt = filepath.Join(base, "store"), filepath.Join(base, "mnt")
	os.Mkdir(mnt, 0o755)
	passFile = filepath.Join(base, "pass")
	os.WriteFile(passFile, []byte("versions test\n"), 0o600)
	mustSsefs(t, nil, "init", "--passphrase-file", passFile, dir)
	mustSsefs(t, nil, "mount", "--passphrase-file", passFile, dir, mnt)
	t.Cleanup(func() {
		if _, err := ssefs(t, nil, "umount", mnt); err != nil {
			exec.Command("fusermount3", "-uz", mnt).Run()
		}
	})
	return dir, mnt, passFile
}

func TestVersionsCLI(t *testing.T) {
	dir, mnt, pf := daemonMount(t)
	f := filepath.Join(mnt, "notes.txt")
	for _, c := range []string{"one\n", "two\n", "three\n"} {
		if err := os.WriteFile(f, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	list := func() []struct {
		ID           uint64 `json:"id"`
		Size         int64  `json:"size"`
		DeleteMarker bool   `json:"delete_marker"`
		Current      bool   `json:"current"`
	} {
		t.Helper()
		var resp struct {
			Versions []struct {
				ID           uint64 `json:"id"`
				Size         int64  `json:"size"`
				DeleteMarker bool   `json:"delete_marker"`
				Current      bool   `json:"current"`
			}
		}
		out := mustSsefs(t, nil, "versions", "list", "--json", f)
		if err := json.Unmarshal([]byte(out), &resp); err != nil {
			t.Fatalf("versions list: %v\n%s", err, out)
		}
		return resp.Versions
	}
	vs := list()
	if len(vs) != 3 || !vs[2].Current || vs[0].Size != 4 {
		t.Fatalf("versions = %+v", vs)
	}
	table := mustSsefs(t, nil, "versions", "list", f)
	if !strings.Contains(table, "current") || strings.Count(table, "\n") != 4 {
		t.Fatalf("table:\n%s", table)
	}
	mustSsefs(t, nil, "versions", "restore", f, itoa(vs[0].ID))
	if b, _ := os.ReadFile(f); string(b) != "one\n" {
		t.Fatalf("after restore: %q", b)
	}
	os.Remove(f)
	vs = list()
	if len(vs) != 5 || !vs[4].DeleteMarker {
		t.Fatalf("after rm: %+v", vs)
	}
	// Purge asks for confirmation; without a terminal it needs --yes.
	if out, err := ssefs(t, nil, "versions", "purge", f, "--all-noncurrent"); err == nil || !strings.Contains(out, "--yes") {
		t.Fatalf("purge without --yes: %v %s", err, out)
	}
	out := mustSsefs(t, nil, "versions", "purge", f, "--all-noncurrent", "--yes")
	if !strings.Contains(out, "purged 4 version") {
		t.Fatalf("purge: %s", out)
	}
	// Lifecycle through the socket, and gc.
	sub := filepath.Join(mnt, "sub")
	os.Mkdir(sub, 0o755)
	for i := 0; i < 3; i++ {
		os.WriteFile(filepath.Join(sub, "x"), make([]byte, 300_000+i), 0o644)
	}
	mustSsefs(t, nil, "lifecycle", "set", sub, "--keep", "1")
	if out := mustSsefs(t, nil, "lifecycle", "show", sub); !strings.Contains(out, "keep 1 noncurrent") {
		t.Fatalf("lifecycle show: %s", out)
	}
	out = mustSsefs(t, nil, "gc", mnt)
	if !strings.Contains(out, "expired 1 versions") {
		t.Fatalf("gc: %s", out)
	}
	// Offline: the same commands open the store directly after umount.
	mustSsefs(t, nil, "umount", mnt)
	out = mustSsefs(t, nil, "versions", "list", "--passphrase-file", pf, "--store", dir, "sub/x")
	if strings.Count(out, "\n") != 3 {
		t.Fatalf("offline versions list:\n%s", out)
	}
}

func itoa(v uint64) string {
	b, _ := json.Marshal(v)
	return string(b)
}
