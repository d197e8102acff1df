package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Mount timeouts: CryFS spends seconds in scrypt before mounting, and
// rclone finishes uploading the write cache after the unmount.
const (
	mountTimeout = 2 * time.Minute
	exitTimeout  = 5 * time.Minute
)

// mount is one running daemon serving a system's store; the zero pid
// (plain) has no daemon.
type mount struct {
	dirs sysDirs
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
}

// startMount starts s's daemon and returns once the kernel lists the mount.
func startMount(c *Config, s *system, d sysDirs) (*mount, error) {
	m := &mount{dirs: d}
	if s.serve == nil {
		return m, nil
	}
	if _, ok := mountOf(d.Mnt); ok {
		return nil, fmt.Errorf("bench: %s is already mounted", d.Mnt)
	}
	logf, err := os.OpenFile(filepath.Join(d.Root, "daemon.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	m.log = logf
	m.cmd = s.serve(c, d)
	m.cmd.Stdout, m.cmd.Stderr = logf, logf
	// Its own process group keeps a Ctrl-C on the terminal from killing
	// the daemon before the harness unmounts.
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := m.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("bench: starting %s: %w", s.Name, err)
	}
	m.done = make(chan struct{})
	go func() { m.cmd.Wait(); close(m.done) }()
	deadline := time.Now().Add(mountTimeout)
	for {
		if _, ok := mountOf(d.Mnt); ok {
			return m, nil
		}
		select {
		case <-m.done:
			logf.Close()
			return nil, fmt.Errorf("bench: %s exited before mounting (%v): %s", s.Name, m.cmd.ProcessState, m.logTail())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.kill()
			return nil, fmt.Errorf("bench: %s did not mount within %v: %s", s.Name, mountTimeout, m.logTail())
		}
	}
}

// pid is the daemon's process id, 0 for plain.
func (m *mount) pid() int {
	if m.cmd == nil {
		return 0
	}
	return m.cmd.Process.Pid
}

// stop unmounts, waits for the daemon to exit (it may still be flushing)
// and returns the CPU seconds it used over its whole life.
func (m *mount) stop() (cpu float64, err error) {
	if m.cmd == nil {
		return 0, nil
	}
	defer m.log.Close()
	if err := unmountDir(m.dirs.Mnt); err != nil {
		m.kill()
		return 0, err
	}
	select {
	case <-m.done:
	case <-time.After(exitTimeout):
		m.kill()
		return 0, fmt.Errorf("bench: daemon %d still running %v after unmount; killed", m.pid(), exitTimeout)
	}
	ru, ok := m.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, errors.New("bench: no rusage for the daemon")
	}
	return tvSeconds(ru.Utime) + tvSeconds(ru.Stime), nil
}

// kill ends a daemon that will not unmount or exit, and detaches its mount.
func (m *mount) kill() {
	m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		m.cmd.Process.Kill()
		<-m.done
	}
	if _, ok := mountOf(m.dirs.Mnt); ok {
		unix.Unmount(m.dirs.Mnt, unix.MNT_DETACH)
	}
}

func (m *mount) logTail() string {
	data, _ := os.ReadFile(m.log.Name())
	return tail(string(data), 400)
}

func tvSeconds(tv syscall.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }

// unmountDir unmounts a FUSE mount, retrying while it is busy (a shell or
// fio still closing its files).
func unmountDir(dir string) error {
	var err error
	for i := 0; i < 50; i++ {
		if os.Geteuid() == 0 {
			err = unix.Unmount(dir, 0)
		} else {
			var out []byte
			out, err = exec.Command("fusermount3", "-u", dir).CombinedOutput()
			if err != nil && !strings.Contains(string(out), "busy") {
				return fmt.Errorf("bench: fusermount3 -u %s: %v: %s", dir, err, tail(string(out), 200))
			}
		}
		if err == nil || errors.Is(err, unix.EINVAL) {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("bench: unmounting %s: %w", dir, err)
}

// cleanStaleMounts detaches mounts left under scratch by an interrupted
// run, so their directories can be removed.
func cleanStaleMounts(scratch string) {
	ms, err := mounts()
	if err != nil {
		return
	}
	for i := len(ms) - 1; i >= 0; i-- {
		if strings.HasPrefix(ms[i].Mountpoint, scratch+string(filepath.Separator)) {
			if err := unix.Unmount(ms[i].Mountpoint, unix.MNT_DETACH); err != nil {
				exec.Command("fusermount3", "-u", "-z", ms[i].Mountpoint).Run()
			}
		}
	}
}
