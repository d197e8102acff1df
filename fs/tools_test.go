package fs

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// run runs a command and fails the test with its output if it fails.
func run(t testing.TB, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

func needTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is not installed (make deps installs it): %v", name, err)
	}
}

// TestGoSourceTarball extracts the Go standard library source through the
// mount and compares it byte for byte, then again after a remount.
func TestGoSourceTarball(t *testing.T) {
	needTool(t, "tar")
	m := newTestMount(t)
	goroot := goRoot(t)
	src := filepath.Join(goroot, "src")
	tarball := filepath.Join(t.TempDir(), "gosrc.tar")
	run(t, "", "tar", "-C", goroot, "-cf", tarball, "src")
	run(t, m.mnt, "tar", "-xf", tarball)
	run(t, "", "diff", "-r", "--no-dereference", src, m.path("src"))
	m.remount()
	run(t, "", "diff", "-r", "--no-dereference", src, m.path("src"))
	run(t, m.mnt, "rm", "-rf", "src")
	if ents, _ := os.ReadDir(m.mnt); len(ents) != 0 {
		t.Fatalf("rm -rf left %d entries", len(ents))
	}
}

// TestRsync copies a tree in and out with rsync -a and checks both copies.
func TestRsync(t *testing.T) {
	needTool(t, "rsync")
	m := newTestMount(t)
	src := t.TempDir()
	makeTree(t, src)
	run(t, "", "rsync", "-aHX", src+"/", m.path("tree")+"/")
	out := t.TempDir()
	run(t, "", "rsync", "-aHX", m.path("tree")+"/", out+"/")
	run(t, "", "diff", "-r", "--no-dereference", src, m.path("tree"))
	run(t, "", "diff", "-r", "--no-dereference", src, out)
	// A second rsync finds nothing to do: times and sizes were kept.
	got := run(t, "", "rsync", "-aHXi", src+"/", m.path("tree")+"/")
	if strings.TrimSpace(got) != "" {
		t.Fatalf("second rsync transferred:\n%s", got)
	}
}

// makeTree writes a small tree with several file sizes, a symlink, a hard
// link, an empty directory and modes.
func makeTree(t testing.TB, dir string) {
	t.Helper()
	sizes := []int{0, 1, 100, 4095, 65535, 65536, 65537, 200000, 3 << 20}
	for i, n := range sizes {
		sub := filepath.Join(dir, fmt.Sprintf("d%d", i%3))
		os.MkdirAll(sub, 0o755)
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(j*7 + i)
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%d", n)), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	os.Mkdir(filepath.Join(dir, "empty"), 0o700)
	os.Symlink("d0/f0", filepath.Join(dir, "link"))
	os.Link(filepath.Join(dir, "d1", "f1"), filepath.Join(dir, "hard"))
	os.Chmod(filepath.Join(dir, "d2"), 0o750)
}

// TestGit makes a repository, commits, and verifies it with git fsck.
func TestGit(t *testing.T) {
	needTool(t, "git")
	m := newTestMount(t)
	repo := m.path("repo")
	os.Mkdir(repo, 0o755)
	git := func(args ...string) string {
		return run(t, repo, "git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"}, args...)...)
	}
	git("init", "-q")
	makeTree(t, filepath.Join(repo, "work"))
	git("add", "-A")
	git("commit", "-q", "-m", "first")
	os.WriteFile(filepath.Join(repo, "work", "d0", "f0"), []byte("changed\n"), 0o644)
	git("commit", "-q", "-am", "second")
	git("gc", "-q")
	git("fsck", "--full", "--strict")
	m.remount()
	git("fsck", "--full", "--strict")
	if log := git("log", "--oneline"); strings.Count(log, "\n") != 2 {
		t.Fatalf("git log after remount:\n%s", log)
	}
}

// TestSQLite runs a few thousand transactions and an integrity check.
func TestSQLite(t *testing.T) {
	needTool(t, "sqlite3")
	m := newTestMount(t)
	db := m.path("test.db")
	var sql strings.Builder
	sql.WriteString("PRAGMA journal_mode=WAL;\nCREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, n INTEGER);\n")
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&sql, "BEGIN; INSERT INTO t(v, n) VALUES (hex(randomblob(%d)), %d); UPDATE t SET n = n + 1 WHERE id = %d; COMMIT;\n", 16+i%200, i, 1+i/2)
		if i%1000 == 999 {
			sql.WriteString("DELETE FROM t WHERE id % 7 = 0;\n")
		}
	}
	cmd := exec.Command("sqlite3", db)
	cmd.Stdin = strings.NewReader(sql.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sqlite3: %v\n%s", err, out)
	}
	check := func() {
		out := run(t, "", "sqlite3", db, "PRAGMA integrity_check; SELECT count(*) FROM t;")
		if !strings.HasPrefix(out, "ok\n") {
			t.Fatalf("integrity_check: %s", out)
		}
		if n := strings.TrimSpace(strings.TrimPrefix(out, "ok\n")); n != "2572" {
			t.Fatalf("row count = %s, want 2572", n)
		}
	}
	check()
	m.remount()
	check()
}

// TestSparseAndPatterns covers cp --sparse, truncate and dd conv=notrunc.
func TestSparseAndPatterns(t *testing.T) {
	m := newTestMount(t)
	src := filepath.Join(t.TempDir(), "sparse")
	run(t, "", "truncate", "-s", "64M", src)
	run(t, "", "dd", "if=/dev/urandom", "of="+src, "bs=4k", "count=3", "seek=4000", "conv=notrunc", "status=none")
	run(t, "", "cp", "--sparse=always", src, m.path("sparse"))
	run(t, "", "cmp", src, m.path("sparse"))
	var st struct{ before, after int64 }
	st.before = storedBytes(t, m)
	if st.before > 1<<20 {
		t.Fatalf("a 64 MiB sparse file with 12 KiB of data stored %d bytes", st.before)
	}
	// truncate down, up, and patch in place
	run(t, "", "truncate", "-s", "10000", m.path("sparse"))
	run(t, "", "truncate", "-s", "10000", src)
	run(t, "", "truncate", "-s", "300000", m.path("sparse"))
	run(t, "", "truncate", "-s", "300000", src)
	for _, f := range []string{src, m.path("sparse")} {
		run(t, "", "dd", "if=/dev/zero", "of="+f, "bs=1", "count=0", "seek=123456", "conv=notrunc", "status=none")
		run(t, "", "sh", "-c", "printf 'patched' | dd of="+f+" bs=1 seek=65530 conv=notrunc status=none")
	}
	run(t, "", "cmp", src, m.path("sparse"))
	m.remount()
	run(t, "", "cmp", src, m.path("sparse"))
}

func storedBytes(t testing.TB, m *testMount) int64 {
	t.Helper()
	s, err := m.l.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return s.StoredBytes
}

// goRoot asks the go command on PATH for its GOROOT (runtime.GOROOT is deprecated:
// it names the root the test binary was built with, not one that must exist here).
func goRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	return strings.TrimSpace(string(out))
}
