package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/ssefs/ssefs/control"
	fusefs "github.com/ssefs/ssefs/fs"
	"github.com/ssefs/ssefs/keyring"
	"github.com/ssefs/ssefs/object"
	"github.com/ssefs/ssefs/store"
)

func init() {
	register("mount", "mount a store (goes to the background once ready; -f stays)", runMount)
}

// The daemon child gets the master key on fd 3 and reports readiness on fd 4,
// so the passphrase is asked once, by the parent, on the user's terminal.
const (
	envDaemon  = "SSEFS_DAEMON_CHILD"
	childKeyFD = 3
	childOKFD  = 4
)

type mountOpts struct {
	allowOther bool
	foreground bool
	debug      bool
	options    multiFlag
	lifecycle  time.Duration
}

func runMount(env *cliEnv, args []string) error {
	fs := newFlags(env, "mount", "STORE MOUNTPOINT")
	var mo mountOpts
	var ks keySource
	ks.register(fs)
	fs.BoolVar(&mo.allowOther, "allow-other", false, "let other users access the mount (needs user_allow_other for non-root)")
	fs.BoolVar(&mo.foreground, "f", false, "stay in the foreground")
	fs.BoolVar(&mo.debug, "debug", false, "log every FUSE request")
	fs.Var(&mo.options, "o", "extra mount `OPTIONS`, comma separated (repeatable)")
	fs.DurationVar(&mo.lifecycle, "lifecycle-interval", 10*time.Minute, "how often the mount applies lifecycle rules (0: never)")
	pos, err := parse(fs, args, 2, 2)
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(pos[0])
	if err != nil {
		return err
	}
	mnt, err := filepath.Abs(pos[1])
	if err != nil {
		return err
	}
	if fi, err := os.Stat(mnt); err != nil || !fi.IsDir() {
		return fmt.Errorf("mountpoint %s is not a directory", mnt)
	}
	var mk keyring.MasterKey
	if os.Getenv(envDaemon) == "1" {
		if mk, err = readChildKey(); err != nil {
			return err
		}
	} else {
		cfg, err := store.LoadConfig(dir)
		if err != nil {
			return err
		}
		if mk, err = ks.masterKey(cfg); err != nil {
			return err
		}
		if !mo.foreground {
			defer mk.Zero()
			return daemonize(env, mk, args)
		}
	}
	return serveMount(env, dir, mnt, mk, mo)
}

// daemonize starts this command again in the foreground as a detached child
// and waits until it reports that the mount is ready, or why it failed.
func daemonize(env *cliEnv, mk keyring.MasterKey, args []string) error {
	keyR, keyW, err := os.Pipe()
	if err != nil {
		return err
	}
	okR, okW, err := os.Pipe()
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, append([]string{"mount", "-f"}, args...)...)
	cmd.Env = append(os.Environ(), envDaemon+"=1")
	cmd.ExtraFiles = []*os.File{keyR, okW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting mount daemon: %w", err)
	}
	keyR.Close()
	okW.Close()
	keyW.Write(mk[:])
	keyW.Close()
	line, _ := bufio.NewReader(okR).ReadString('\n')
	okR.Close()
	if line == "ok\n" {
		cmd.Process.Release()
		return nil
	}
	cmd.Wait()
	if line = strings.TrimSpace(line); line == "" {
		line = "mount daemon exited before the mount was ready"
	}
	return errors.New(line)
}

func readChildKey() (keyring.MasterKey, error) {
	var mk keyring.MasterKey
	f := os.NewFile(childKeyFD, "key")
	defer f.Close()
	if _, err := io.ReadFull(f, mk[:]); err != nil {
		return mk, fmt.Errorf("reading master key from parent: %w", err)
	}
	return mk, nil
}

// report tells a waiting parent how the mount went; a no-op in the foreground.
func report(err error) {
	if os.Getenv(envDaemon) != "1" {
		return
	}
	f := os.NewFile(childOKFD, "ready")
	if err == nil {
		f.WriteString("ok\n")
	} else {
		f.WriteString(strings.ReplaceAll(err.Error(), "\n", " ") + "\n")
	}
	f.Close()
}

func serveMount(env *cliEnv, dir, mnt string, mk keyring.MasterKey, mo mountOpts) (err error) {
	defer func() { report(err) }()
	if os.Getenv(envDaemon) == "1" {
		logf, lerr := os.OpenFile(filepath.Join(dir, "mount.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if lerr == nil {
			log.SetOutput(logf)
			defer logf.Close()
		}
		if null, nerr := os.OpenFile(os.DevNull, os.O_RDWR, 0); nerr == nil {
			env.stdout, env.stderr = null, null
			defer null.Close()
		}
	}
	limitMemory()
	if path := os.Getenv("SSEFS_CPUPROFILE"); path != "" {
		if pf, perr := os.Create(path); perr == nil {
			pprof.StartCPUProfile(pf)
			defer func() { pprof.StopCPUProfile(); pf.Close() }()
		}
	}
	if path := os.Getenv("SSEFS_HEAPPROFILE"); path != "" {
		defer watchHeapPeak(path)()
	}
	st, err := store.Open(dir, mk)
	mk.Zero()
	if errors.Is(err, keyring.ErrWrongMasterKey) {
		return errors.New("wrong passphrase or key file for this store (nothing was changed)")
	}
	if err != nil {
		return err
	}
	defer st.Close()
	l, err := object.Open(st)
	if err != nil {
		return err
	}
	defer l.Close()
	server, err := fusefs.Mount(l, mnt, fusefs.MountConfig{AllowOther: mo.allowOther, Debug: mo.debug, Options: mo.options})
	if err != nil {
		return err
	}
	ctl, err := control.Serve(st.SocketPath(), newAdminAPI(l, mnt, server))
	if err != nil {
		server.Unmount()
		return err
	}
	defer ctl.Close()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sigs
		log.Printf("ssefs: %v: unmounting %s", s, mnt)
		for i := 0; i < 50; i++ {
			if err := server.Unmount(); err == nil {
				return
			} else if i == 0 {
				log.Printf("ssefs: unmount: %v (retrying while busy)", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	stopLifecycle := runLifecycleLoop(l, mo.lifecycle)
	defer stopLifecycle()
	log.Printf("ssefs: mounted %s on %s", dir, mnt)
	report(nil)
	err = nil
	server.Wait()
	log.Printf("ssefs: unmounted %s", mnt)
	return nil
}

// runLifecycleLoop applies lifecycle rules every interval until stopped.
func runLifecycleLoop(l *object.Layer, every time.Duration) (stop func()) {
	if every <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				rep, err := l.ApplyLifecycle(now)
				if err != nil {
					log.Printf("ssefs: lifecycle: %v", err)
				} else if rep.VersionsExpired > 0 {
					log.Printf("ssefs: lifecycle: expired %d versions, removed %d objects, freed %d bytes",
						rep.VersionsExpired, rep.ObjectsRemoved, rep.BytesFreed)
				}
				if n, saved, err := l.CompactAll(); err != nil {
					log.Printf("ssefs: compaction: %v", err)
				} else if n > 0 {
					log.Printf("ssefs: compacted %d fragmented files, %d bytes saved", n, saved)
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

// limitMemory keeps the daemon's heap small: the kernel's page cache, not
// our heap, should hold file data. GOMEMLIMIT and GOGC still override.
func limitMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(112 << 20)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
}

// watchHeapPeak writes a heap profile to path whenever the heap in use
// reaches a new peak (checked twice a second), so the profile left behind
// shows what the daemon held at its largest; for finding what makes the
// daemon's memory grow. The returned func stops the watch.
func watchHeapPeak(path string) (stop func()) {
	done := make(chan struct{})
	go func() {
		var peak uint64
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse <= peak {
				continue
			}
			peak = ms.HeapInuse
			if f, err := os.Create(path); err == nil {
				pprof.WriteHeapProfile(f)
				f.Close()
			}
		}
	}()
	return func() { close(done) }
}
