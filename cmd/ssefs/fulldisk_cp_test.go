package main

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFailedCpKeepsOldVersion: cp of 40 MiB onto a store with about 20 MiB
// free fails, again and again, and the file's current version stays the old
// content every time: neither zeros nor the prefix the refused writes left
// (a truncate at open plus the writes that were accepted), also after a
// remount. Once space is freed the same cp makes the new content current.
func TestFailedCpKeepsOldVersion(t *testing.T) {
	requireFUSE(t)
	fsDir := smallTmpfs(t, 100<<20)
	base := t.TempDir()
	dir, mnt, pf := mountOnTmpfs(t, fsDir, base)
	rng := rand.New(rand.NewSource(2))
	old, big := make([]byte, 1<<20), make([]byte, 40<<20)
	rng.Read(old)
	rng.Read(big)
	f, src := filepath.Join(mnt, "f"), filepath.Join(base, "big")
	if err := os.WriteFile(src, big, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeSynced(f, old); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(fsDir, "filler")
	if err := os.WriteFile(filler, make([]byte, freeSpace(t, fsDir)-20<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	remount := func() {
		t.Helper()
		mustSsefs(t, nil, "umount", mnt)
		mustSsefs(t, nil, "mount", "--passphrase-file", pf, dir, mnt)
	}
	check := func(stage string) {
		t.Helper()
		got, err := os.ReadFile(f)
		if err != nil || !bytes.Equal(got, old) {
			t.Fatalf("%s: f reads %d bytes (%v), want the old %d bytes", stage, len(got), err, len(old))
		}
		var vs struct{ Versions []json.RawMessage }
		if err := json.Unmarshal([]byte(mustSsefs(t, nil, "versions", "list", "--json", f)), &vs); err != nil {
			t.Fatalf("%s: versions list --json: %v", stage, err)
		}
		if len(vs.Versions) != 1 {
			t.Fatalf("%s: f has %d versions, want 1", stage, len(vs.Versions))
		}
	}
	for i := 0; i < 3; i++ {
		out, err := exec.Command("cp", src, f).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "No space left on device") {
			t.Fatalf("cp %d onto a full disk: %v %s, want No space left on device", i, err, out)
		}
		remount() // the release that ends the open is asynchronous
		check("after failed cp")
	}
	os.Remove(filler)
	if out, err := exec.Command("cp", src, f).CombinedOutput(); err != nil {
		t.Fatalf("cp once space is free: %v %s", err, out)
	}
	remount()
	if got, err := os.ReadFile(f); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("after cp with room: %d bytes (%v), want the %d copied", len(got), err, len(big))
	}
}
