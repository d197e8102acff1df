package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestSSECommands drives every SSE command against a background mount.
func TestSSECommands(t *testing.T) {
	requireFUSE(t)
	base := t.TempDir()
	dir, mnt := filepath.Join(base, "store"), filepath.Join(base, "mnt")
	os.Mkdir(mnt, 0o755)
	pf, pf2 := filepath.Join(base, "pass"), filepath.Join(base, "pass2")
	os.WriteFile(pf, []byte("first passphrase\n"), 0o600)
	os.WriteFile(pf2, []byte("second passphrase\n"), 0o600)
	mustSsefs(t, nil, "init", "--passphrase-file", pf, dir)
	mustSsefs(t, nil, "mount", "--passphrase-file", pf, dir, mnt)
	t.Cleanup(func() { exec.Command("fusermount3", "-u", mnt).Run() })
	in := func(rel string) string { return filepath.Join(mnt, rel) }
	read := func(rel string) (string, error) { b, err := os.ReadFile(in(rel)); return string(b), err }
	expectRead := func(rel, want string) {
		t.Helper()
		if got, err := read(rel); err != nil || got != want {
			t.Fatalf("%s = %q, %v; want %q", rel, got, err, want)
		}
	}
	expectErrno := func(rel string, want syscall.Errno) {
		t.Helper()
		if _, err := read(rel); !errors.Is(err, want) {
			t.Fatalf("%s: %v, want %v", rel, err, want)
		}
	}
	fails := func(wantOut string, args ...string) {
		t.Helper()
		out, err := ssefs(t, nil, args...)
		if err == nil || !strings.Contains(out, wantOut) {
			t.Fatalf("ssefs %v: err=%v out=%s; want failure mentioning %q", args, err, out, wantOut)
		}
	}

	// Keys and directory defaults.
	mustSsefs(t, nil, "key", "create", "--store", mnt, "proj")
	fails("already exists", "key", "create", "--store", mnt, "proj")
	if out := mustSsefs(t, nil, "key", "list", "--store", mnt); !strings.Contains(out, "proj") || !strings.Contains(out, "sse-s3") {
		t.Fatalf("key list:\n%s", out)
	}
	os.Mkdir(in("d"), 0o755)
	fails(`no key named "nosuch"`, "sse", "set", in("d"), "--kms", "nosuch")
	mustSsefs(t, nil, "sse", "set", in("d"), "--kms", "proj")
	os.WriteFile(in("d/f"), []byte("kms file"), 0o644)
	os.WriteFile(in("plain"), []byte("s3 file"), 0o644)
	if out := mustSsefs(t, nil, "sse", "show", in("d/f"), in("plain"), in("d")); !strings.Contains(out, "SSE-KMS") ||
		!strings.Contains(out, "proj") || !strings.Contains(out, "SSE-S3") || !strings.Contains(out, "default for new files") {
		t.Fatalf("sse show:\n%s", out)
	}

	// Seal hook, KMS seal and unseal.
	hookLog := filepath.Join(base, "hook.log")
	hook := filepath.Join(base, "hook.sh")
	os.WriteFile(hook, []byte("#!/bin/sh\necho \"$1 $2\" >> "+hookLog+"\n"), 0o755)
	mustSsefs(t, nil, "kms", "hook", "set", "--store", mnt, hook)
	mustSsefs(t, nil, "kms", "seal", "--store", mnt)
	expectErrno("d/f", syscall.ENOKEY)
	expectErrno("plain", syscall.ENOKEY)
	if out := mustSsefs(t, nil, "kms", "status", "--store", mnt); !strings.Contains(out, "SEALED") {
		t.Fatalf("kms status:\n%s", out)
	}
	fails("wrong passphrase", "kms", "unseal", "--store", mnt, "--passphrase-file", pf2)
	mustSsefs(t, nil, "kms", "unseal", "--store", mnt, "--passphrase-file", pf)
	expectRead("d/f", "kms file")
	mustSsefs(t, nil, "key", "seal", "--store", mnt, "proj")
	expectErrno("d/f", syscall.ENOKEY)
	expectRead("plain", "s3 file")
	mustSsefs(t, nil, "key", "unseal", "--store", mnt, "proj")
	expectRead("d/f", "kms file")

	// SSE-C: memory only, lost at unmount.
	raw := make([]byte, 32)
	rand.Read(raw)
	ck := base64.StdEncoding.EncodeToString(raw)
	kf := filepath.Join(base, "customer.key")
	os.WriteFile(kf, []byte(ck+"\n"), 0o600)
	os.Mkdir(in("c"), 0o755)
	mustSsefs(t, nil, "sse", "set", in("c"), "--customer-key-file", kf)
	os.WriteFile(in("c/secret"), []byte("customer data"), 0o644)
	expectRead("c/secret", "customer data")

	// Rotation, then passphrase change, across a remount.
	if out := mustSsefs(t, nil, "key", "rotate", "--store", mnt, "--wait", "proj"); !strings.Contains(out, "rotated") {
		t.Fatalf("rotate:\n%s", out)
	}
	mustSsefs(t, []string{"SSEFS_PASSPHRASE=first passphrase"}, "passphrase", "change", "--store", mnt, "--new-passphrase-file", pf2)
	mustSsefs(t, nil, "umount", mnt)
	fails("wrong passphrase", "mount", "--passphrase-file", pf, dir, mnt)
	mustSsefs(t, nil, "mount", "--passphrase-file", pf2, dir, mnt)
	expectRead("d/f", "kms file")
	expectRead("plain", "s3 file")
	expectErrno("c/secret", syscall.ENOKEY)
	mustSsefs(t, nil, "sse", "set", in("c"), "--customer-key-file", kf)
	expectRead("c/secret", "customer data")

	// Crypto-erase.
	fails("--yes", "key", "delete", "--store", mnt, "proj")
	mustSsefs(t, nil, "key", "delete", "--store", mnt, "--yes", "proj")
	expectErrno("d/f", syscall.EKEYREVOKED)
	if out := mustSsefs(t, nil, "status", mnt); !strings.Contains(out, "unrecoverable  1 objects") {
		t.Fatalf("status:\n%s", out)
	}
	mustSsefs(t, nil, "key", "create", "--store", mnt, "proj")
	expectErrno("d/f", syscall.EKEYREVOKED)

	audit := mustSsefs(t, nil, "audit", "--store", mnt)
	for _, op := range []string{"key-create", "kms-seal", "kms-unseal", "key-seal", "key-rotate-done", "passphrase-change", "key-delete", "sse-c-supply", "hook-set"} {
		if !strings.Contains(audit, op) {
			t.Fatalf("audit lacks %s:\n%s", op, audit)
		}
	}
	hooks, _ := os.ReadFile(hookLog)
	for _, ev := range []string{"seal \n", "unseal \n", "seal proj\n", "unseal proj\n", "delete proj\n"} {
		if !strings.Contains(string(hooks), ev) {
			t.Fatalf("hook log lacks %q:\n%s", ev, hooks)
		}
	}
	mustSsefs(t, nil, "umount", mnt)
	logb, _ := os.ReadFile(filepath.Join(dir, "mount.log"))
	for _, secret := range []string{ck, string(raw), "first passphrase", "second passphrase"} {
		if strings.Contains(audit, secret) || strings.Contains(string(logb), secret) {
			t.Fatal("a key or passphrase appears in the audit log or mount.log")
		}
	}
	// Offline: the audit survives and is readable without the mount.
	if out := mustSsefs(t, nil, "audit", "--store", dir, "--passphrase-file", pf2); !strings.Contains(out, "key-delete") {
		t.Fatalf("offline audit:\n%s", out)
	}
}
