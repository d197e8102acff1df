package main

import (
	"crypto/rand"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestKeyFileOnPassphraseStore: --key-file on a passphrase store says the
// store uses a passphrase (it used to say "no passphrase").
func TestKeyFileOnPassphraseStore(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "store")
	mustSsefs(t, []string{"SSEFS_PASSPHRASE=pass"}, "init", dir)
	kf := filepath.Join(base, "key")
	key := make([]byte, 32)
	rand.Read(key)
	os.WriteFile(kf, key, 0o600)
	for _, args := range [][]string{
		{"status", "--key-file", kf, "--store", dir},
		{"mount", "--key-file", kf, dir, t.TempDir()},
	} {
		out, err := ssefs(t, nil, args...)
		if err == nil || !strings.Contains(out, "uses a passphrase, not a key file") || strings.Contains(out, "no passphrase") {
			t.Errorf("ssefs %v: err=%v, output %q", args, err, out)
		}
	}
}

// asNobody runs the ssefs binary as uid/gid 65534.
func asNobody(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestOtherUserGetsPermissionDenied: a user who may not reach the control
// socket of a mounted store is told so, not "not mounted" nor a config
// read error from trying to open the store directly.
func TestOtherUserGetsPermissionDenied(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to act as another user")
	}
	dir, mnt, _ := daemonMount(t)
	if err := os.WriteFile(filepath.Join(mnt, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Let uid 65534 run the test binary.
	if err := os.Chmod(filepath.Dir(binary), 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "control.sock")
	for _, args := range [][]string{
		{"status", mnt},
		{"status", "--store", dir},
		{"versions", "list", filepath.Join(mnt, "f")},
		{"gc", mnt},
		{"kms", "seal", "--store", mnt},
		{"kms", "unseal", "--store", mnt},
	} {
		out, err := asNobody(t, args...)
		want := "permission denied on " + sock
		if args[1] == "--store" {
			want = dir + ": permission denied" // found by path, not through the mount
		}
		if err == nil || !strings.Contains(out, want) || strings.Contains(out, "not mounted") {
			t.Errorf("ssefs %v as nobody: err=%v, output %q; want %q", args, err, out, want)
		}
	}
}

// TestNonUTF8Names: admin commands name files whose names are not UTF-8;
// the path crosses the control socket intact (JSON used to turn the bytes
// into U+FFFD, so the mount looked up another name).
func TestNonUTF8Names(t *testing.T) {
	_, mnt, _ := daemonMount(t)
	dir := filepath.Join(mnt, "dir\xfe")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "bad\xffname")
	for _, c := range []string{"one\n", "two\n"} {
		if err := os.WriteFile(f, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := mustSsefs(t, nil, "versions", "list", "--json", f)
	var resp struct {
		Path     json.RawMessage
		Versions []struct{ Size int64 }
	}
	if err := json.Unmarshal([]byte(out), &resp); err != nil || len(resp.Versions) != 2 {
		t.Fatalf("versions list of a non-UTF-8 name: %v\n%s", err, out)
	}
	mustSsefs(t, nil, "lifecycle", "set", dir, "--keep", "1")
	if out := mustSsefs(t, nil, "lifecycle", "show", dir); !strings.Contains(out, "keep 1 noncurrent") {
		t.Fatalf("lifecycle show: %s", out)
	}
	if out := mustSsefs(t, nil, "versions", "purge", f, "--all-noncurrent", "--yes"); !strings.Contains(out, "purged 1 version") {
		t.Fatalf("versions purge: %s", out)
	}
	if b, err := os.ReadFile(f); err != nil || string(b) != "two\n" {
		t.Fatalf("after purge: %q, %v", b, err)
	}
}

// TestStoreFilesPrivate: under umask 0, every file ssefs creates in the
// store (Badger's included, which it creates 0666) is private to its owner.
func TestStoreFilesPrivate(t *testing.T) {
	requireFUSE(t)
	base := t.TempDir()
	dir, mnt := filepath.Join(base, "store"), filepath.Join(base, "mnt")
	os.Mkdir(mnt, 0o755)
	pf := filepath.Join(base, "pass")
	os.WriteFile(pf, []byte("umask test\n"), 0o600)
	umask0 := func(args ...string) {
		t.Helper()
		cmd := exec.Command("sh", append([]string{"-c", `umask 0; exec "$@"`, "sh", binary}, args...)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ssefs %v: %v\n%s", args, err, out)
		}
	}
	umask0("init", "--passphrase-file", pf, dir)
	umask0("mount", "--passphrase-file", pf, dir, mnt)
	t.Cleanup(func() {
		if mounted(mnt) {
			exec.Command("fusermount3", "-uz", mnt).Run()
		}
	})
	big := make([]byte, 3<<20)
	rand.Read(big)
	if err := os.WriteFile(filepath.Join(mnt, "big"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	umask0("umount", mnt)
	umask0("status", "--passphrase-file", pf, "--store", dir)
	n := 0
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v", p, fi.Mode())
		}
		return nil
	})
	if n < 8 {
		t.Fatalf("walked only %d entries of the store", n)
	}
}

// TestGCFreedNeverNegative: gc compacting a file whose older versions keep
// its old parts makes the store grow; it says so instead of printing a
// negative "freed".
func TestGCFreedNeverNegative(t *testing.T) {
	_, mnt, _ := daemonMount(t)
	p := filepath.Join(mnt, "frag")
	data := make([]byte, 2<<20)
	rand.Read(data)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	patch := make([]byte, 4096)
	for i := 0; i < 20; i++ {
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		rand.Read(patch)
		if _, err := f.WriteAt(patch, int64(i)*100<<10+123); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	out := mustSsefs(t, nil, "gc", mnt)
	if !strings.Contains(out, "compacted 1 files") {
		t.Fatalf("gc did not compact the fragmented file: %s", out)
	}
	if strings.Contains(out, "freed -") || !strings.Contains(out, "the store grew by") {
		t.Fatalf("gc output: %s", out)
	}
}

// TestMountRefusesAbsurdKDF: a store.json with an argon2id time of 2^32-1
// (which used to hang the mount in key derivation) is refused at once,
// naming the parameter.
func TestMountRefusesAbsurdKDF(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "store")
	mustSsefs(t, []string{"SSEFS_PASSPHRASE=pass"}, "init", dir)
	cfgPath := filepath.Join(dir, "store.json")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["kdf"].(map[string]any)["time"] = uint32(1<<32 - 1)
	b, _ = json.Marshal(cfg)
	os.WriteFile(cfgPath, b, 0o600)
	out, err := ssefs(t, []string{"SSEFS_PASSPHRASE=pass"}, "mount", dir, t.TempDir())
	if err == nil || !strings.Contains(out, "argon2id time 4294967295") {
		t.Fatalf("mount of a store with an absurd argon2id time: err=%v, output %q", err, out)
	}
}
