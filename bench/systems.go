package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// benchPassphrase is the passphrase of every peer's throw-away store.
const benchPassphrase = "ssefs-bench-passphrase"

// sysDirs are one system's paths under the scratch directory.
type sysDirs struct {
	Root string // scratch/NAME
	Data string // the ciphertext (or, for plain, the files themselves)
	Mnt  string // where the files are seen; Data for plain
	Pass string // file holding benchPassphrase
	Key  string // file holding 32 random bytes (ssefs)
	Bin  string // built helper binaries (loopback)
}

func newSysDirs(scratch, name string) sysDirs {
	root := filepath.Join(scratch, name)
	d := sysDirs{
		Root: root,
		Data: filepath.Join(root, "data"),
		Mnt:  filepath.Join(root, "mnt"),
		Pass: filepath.Join(root, "passphrase"),
		Key:  filepath.Join(root, "key"),
		Bin:  filepath.Join(root, "bin"),
	}
	if name == "plain" {
		d.Mnt = d.Data
	}
	return d
}

// system knows how to create a store of one filesystem non-interactively
// and how to serve it in the foreground, so the harness is the daemon's
// parent and can read its CPU time and memory.
type system struct {
	Name      string
	Tool      string // executable that must be on PATH; "" for none
	Package   string // Debian package, for the version and the hint
	Encrypted bool   // counts as an encrypted peer in ratios (ssefs excluded)
	// create makes the store in d.Data, once per bench.
	create func(ctx context.Context, c *Config, d sysDirs) error
	// serve returns the foreground daemon serving d.Data on d.Mnt; nil
	// for plain.
	serve func(c *Config, d sysDirs) *exec.Cmd
	// purge, if set, frees what the filesystem keeps of a file deleted
	// through the mount at path: ssefs keeps its versions behind a
	// delete marker, so deleting alone gives no disk space back.
	purge func(ctx context.Context, c *Config, path string) error
}

// systems maps names to definitions. Each peer runs with its defaults,
// as their published benchmarks do.
var systems = map[string]*system{
	"ssefs": {
		Name: "ssefs",
		create: func(ctx context.Context, c *Config, d sysDirs) error {
			key := make([]byte, 32)
			if _, err := rand.Read(key); err != nil {
				return err
			}
			if err := os.WriteFile(d.Key, key, 0o600); err != nil {
				return err
			}
			return runQuiet(ctx, nil, c.SSEFS, "init", "--key-file", d.Key, d.Data)
		},
		serve: func(c *Config, d sysDirs) *exec.Cmd {
			return exec.Command(c.SSEFS, "mount", "-f", "--key-file", d.Key, d.Data, d.Mnt)
		},
		purge: func(ctx context.Context, c *Config, path string) error {
			return runQuiet(ctx, nil, c.SSEFS, "versions", "purge", path, "--all-noncurrent", "--yes")
		},
	},
	"gocryptfs": {
		Name: "gocryptfs", Tool: "gocryptfs", Package: "gocryptfs", Encrypted: true,
		create: func(ctx context.Context, c *Config, d sysDirs) error {
			return runQuiet(ctx, nil, "gocryptfs", "-q", "-init", "-passfile", d.Pass, d.Data)
		},
		serve: func(c *Config, d sysDirs) *exec.Cmd {
			return exec.Command("gocryptfs", "-fg", "-q", "-passfile", d.Pass, d.Data, d.Mnt)
		},
	},
	"securefs": {
		Name: "securefs", Tool: "securefs", Package: "securefs", Encrypted: true,
		create: func(ctx context.Context, c *Config, d sysDirs) error {
			return runQuiet(ctx, nil, "securefs", "create", "--pass", benchPassphrase, d.Data)
		},
		serve: func(c *Config, d sysDirs) *exec.Cmd {
			return exec.Command("securefs", "mount", "--pass", benchPassphrase, d.Data, d.Mnt)
		},
	},
	"cryfs": {
		// CryFS creates the filesystem on its first mount. It remembers
		// each basedir's filesystem id in its local state and refuses a
		// new filesystem at a path it saw before, which every rerun of
		// the harness is: --allow-replaced-filesystem says that is meant.
		Name: "cryfs", Tool: "cryfs", Package: "cryfs", Encrypted: true,
		serve: func(c *Config, d sysDirs) *exec.Cmd {
			cmd := exec.Command("cryfs", "-f", "--allow-replaced-filesystem", d.Data, d.Mnt)
			cmd.Env = append(os.Environ(), "CRYFS_FRONTEND=noninteractive", "CRYFS_NO_UPDATE_CHECK=1")
			cmd.Stdin = strings.NewReader(benchPassphrase + "\n")
			return cmd
		},
	},
	"encfs": {
		// EncFS creates the volume on its first mount with --standard.
		Name: "encfs", Tool: "encfs", Package: "encfs", Encrypted: true,
		serve: func(c *Config, d sysDirs) *exec.Cmd {
			return exec.Command("encfs", "-f", "--standard", "--extpass=cat "+d.Pass, d.Data, d.Mnt)
		},
	},
	"rclone-crypt": {
		Name: "rclone-crypt", Tool: "rclone", Package: "rclone", Encrypted: true,
		create: createRclone,
		serve: func(c *Config, d sysDirs) *exec.Cmd {
			// A write cache is needed for random writes; write-back 0s
			// starts the upload at close rather than 5 s later.
			return exec.Command("rclone", "--config", filepath.Join(d.Root, "rclone.conf"), "mount", "bench:", d.Mnt,
				"--vfs-cache-mode", "writes", "--vfs-write-back", "0s", "--cache-dir", filepath.Join(d.Root, "cache"))
		},
	},
	"loopback": {
		Name: "loopback",
		create: func(ctx context.Context, c *Config, d sysDirs) error {
			cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(d.Bin, "loopback"), "github.com/ssefs/ssefs/bench/loopback")
			cmd.Dir = c.Source
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("building bench/loopback (run from the ssefs source tree or pass --src): %v: %s", err, tail(string(out), 300))
			}
			return nil
		},
		serve: func(c *Config, d sysDirs) *exec.Cmd {
			return exec.Command(filepath.Join(d.Bin, "loopback"), d.Data, d.Mnt)
		},
	},
	"plain": {Name: "plain"},
}

// createRclone writes an rclone.conf with a crypt remote over d.Data, its
// two passwords obscured as rclone requires.
func createRclone(ctx context.Context, c *Config, d sysDirs) error {
	var pw [2]string
	for i, p := range []string{benchPassphrase, benchPassphrase + "-salt"} {
		out, err := exec.CommandContext(ctx, "rclone", "obscure", p).Output()
		if err != nil {
			return fmt.Errorf("rclone obscure: %w", err)
		}
		pw[i] = strings.TrimSpace(string(out))
	}
	conf := fmt.Sprintf("[bench]\ntype = crypt\nremote = %s\npassword = %s\npassword2 = %s\n", d.Data, pw[0], pw[1])
	return os.WriteFile(filepath.Join(d.Root, "rclone.conf"), []byte(conf), 0o600)
}

// prepareSystem checks that s can run here and creates its store in a
// fresh directory; the error says why the system is skipped.
func prepareSystem(ctx context.Context, c *Config, s *system) (sysDirs, error) {
	d := newSysDirs(c.Scratch, s.Name)
	if s.Tool != "" {
		if _, err := exec.LookPath(s.Tool); err != nil {
			return d, fmt.Errorf("%s not found on PATH (make bench-deps installs it)", s.Tool)
		}
	}
	if s.Name == "ssefs" && c.SSEFS == "" {
		return d, fmt.Errorf("no ssefs binary given")
	}
	if err := os.RemoveAll(d.Root); err != nil {
		return d, fmt.Errorf("clearing %s: %w", d.Root, err)
	}
	for _, dir := range []string{d.Data, d.Mnt, d.Bin} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return d, err
		}
	}
	if err := os.WriteFile(d.Pass, []byte(benchPassphrase+"\n"), 0o600); err != nil {
		return d, err
	}
	if s.create != nil {
		if err := s.create(ctx, c, d); err != nil {
			return d, fmt.Errorf("creating the store: %w", err)
		}
	}
	return d, nil
}

// removeForGood deletes path from s's mount and purges what s keeps of
// it, so the disk space comes back before the next system needs it.
func (s *system) removeForGood(ctx context.Context, c *Config, path string) error {
	removed, err := removeIfExists(path)
	if err != nil || !removed || s.purge == nil {
		return err
	}
	if err := s.purge(ctx, c, path); err != nil {
		return fmt.Errorf("purging the deleted %s: %w", filepath.Base(path), err)
	}
	return nil
}

// runQuiet runs a setup command, returning its output on failure.
func runQuiet(ctx context.Context, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, args[0], err, tail(string(out), 300))
	}
	return nil
}

// version returns s's version for the results, from dpkg when it came
// from a Debian package.
func (s *system) version() string {
	switch s.Name {
	case "ssefs", "loopback", "plain":
		return "this build"
	}
	out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", s.Package).Output()
	if err == nil && len(out) > 0 {
		return string(out)
	}
	return "unknown"
}
