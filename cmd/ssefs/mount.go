package main

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"time"

	"github.com/ssefs/ssefs/control"
	fusefs "github.com/ssefs/ssefs/fs"
	"github.com/ssefs/ssefs/keyring"
	"github.com/ssefs/ssefs/object"
	"github.com/ssefs/ssefs/store"
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
	if err := checkNesting(dir, mnt); err != nil {
		return err
	}
	var mk keyring.MasterKey
	defer mk.Zero()
	if os.Getenv(envDaemon) == "1" {
		if err := readChildKey(&mk); err != nil {
			return err
		}
	} else {
		cfg, err := store.LoadConfig(dir)
		if err != nil {
			return err
		}
		mk, err = ks.masterKey(cfg)
		// The key is derived: the passphrase leaves the environment (and
		// /proc/PID/environ) and is never passed to the daemon.
		if serr := scrubSecretEnv(); serr != nil && err == nil {
			fmt.Fprintf(env.stderr, "ssefs mount: warning: %v\n", serr)
		}
		if err != nil {
			return err
		}
		if !mo.foreground {
			return daemonize(dir, &mk, args)
		}
	}
	return serveMount(env, dir, mnt, &mk, mo)
}

// serveMount mounts the store and serves it until it is unmounted. A
// daemon child reports to its parent once: "ok" when the mount is ready, or
// the error that stopped it before. A panic reports nothing, so the parent
// sees the pipe close and shows the end of mount.log, where the child's
// stderr goes.
func serveMount(env *cliEnv, dir, mnt string, mk *keyring.MasterKey, mo mountOpts) (err error) {
	defer func() {
		if err != nil {
			report(err)
		}
	}()
	if os.Getenv(envDaemon) == "1" {
		// stdout and stderr are mount.log (daemonize).
		log.SetOutput(os.Stderr)
		env.stdout, env.stderr = os.Stderr, os.Stderr
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
	privateFiles()
	st, err := store.Open(dir, *mk)
	mk.Zero()
	if errors.Is(err, keyring.ErrWrongMasterKey) {
		return errors.New("wrong passphrase or key file for this store (nothing was changed)")
	}
	if err != nil {
		return err
	}
	defer st.Close()
	l, err := openLayer(st)
	if err != nil {
		return err
	}
	defer l.Close()
	if os.Getenv(envDaemon) == "1" && os.Getenv(envDaemonFault) == "1" {
		panic("ssefs: " + envDaemonFault + " is set: dying before the mount is ready")
	}
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
	detached := unmountOnSignal(server, mnt)
	stopLifecycle := runLifecycleLoop(l, mo.lifecycle)
	defer stopLifecycle()
	log.Printf("ssefs: mounted %s on %s", dir, mnt)
	report(nil)
	served := make(chan struct{})
	go func() { server.Wait(); close(served) }()
	select {
	case <-served:
		log.Printf("ssefs: unmounted %s", mnt)
	case <-detached:
		// Files still open in the detached mount keep the kernel's
		// connection alive; it ends when this process exits.
		log.Printf("ssefs: detached %s; closing the store", mnt)
	}
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
					log.Printf("ssefs: compacted %d fragmented files, %s", n, freedText(saved))
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
