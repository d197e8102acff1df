package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat times; Linux fixes it
// at 100 on every architecture Go supports.
const clockTicks = 100

// errProcFormat reports a /proc file this package cannot read.
var errProcFormat = errors.New("bench: unexpected /proc format")

// procSample is a daemon's CPU time and memory at one instant.
type procSample struct {
	CPUSeconds float64 // utime+stime+cutime+cstime
	HWMBytes   int64   // VmHWM: peak resident set since start or clear_refs
	RSSBytes   int64   // VmRSS
}

// parseStat returns the CPU seconds in a /proc/PID/stat line: the process's
// own and its waited-for children's user and system time, as wait4 would.
func parseStat(stat []byte) (float64, error) {
	// comm (field 2) may contain spaces and parentheses; fields after the
	// last ')' are unambiguous.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("%w: stat has no ')'", errProcFormat)
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state); utime..cstime are fields 14..17.
	if len(f) < 15 {
		return 0, fmt.Errorf("%w: stat has %d fields", errProcFormat, len(f)+2)
	}
	var ticks uint64
	for _, s := range f[11:15] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: stat time %q", errProcFormat, s)
		}
		ticks += v
	}
	return float64(ticks) / clockTicks, nil
}

// parseStatus returns the value in bytes of a "kB" field of
// /proc/PID/status such as VmHWM, or 0 if absent (kernel threads).
func parseStatus(status []byte, field string) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("%w: %s line %q", errProcFormat, field, sc.Text())
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: %s value %q", errProcFormat, field, f[0])
		}
		return kb << 10, nil
	}
	return 0, nil
}

// sampleProc reads pid's CPU time and memory.
func sampleProc(pid int) (procSample, error) {
	var s procSample
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("bench: %w", err)
	}
	if s.CPUSeconds, err = parseStat(stat); err != nil {
		return s, err
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("bench: %w", err)
	}
	if s.HWMBytes, err = parseStatus(status, "VmHWM"); err != nil {
		return s, err
	}
	if s.RSSBytes, err = parseStatus(status, "VmRSS"); err != nil {
		return s, err
	}
	return s, nil
}

// resetHWM sets pid's VmHWM to its current RSS (Linux ≥ 4.0), so the peak
// reported for a workload excludes mount-time key derivation, which takes
// CryFS's scrypt to hundreds of MiB.
func resetHWM(pid int) error {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		return fmt.Errorf("bench: resetting peak RSS of %d: %w", pid, err)
	}
	return nil
}

// mountEntry is one line of /proc/self/mountinfo.
type mountEntry struct {
	Mountpoint string
	FSType     string
	Source     string
}

// parseMountinfo reads /proc/self/mountinfo lines (see proc(5)).
func parseMountinfo(data []byte) ([]mountEntry, error) {
	var out []mountEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		sep := -1
		for i, s := range f {
			if s == "-" && i >= 6 {
				sep = i
				break
			}
		}
		if len(f) < 5 || sep < 0 || len(f) < sep+3 {
			return nil, fmt.Errorf("%w: mountinfo line %q", errProcFormat, sc.Text())
		}
		out = append(out, mountEntry{Mountpoint: unescapeMount(f[4]), FSType: f[sep+1], Source: unescapeMount(f[sep+2])})
	}
	return out, sc.Err()
}

// unescapeMount undoes the octal escapes (\040 for space) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mounts returns the current mount table.
func mounts() ([]mountEntry, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return parseMountinfo(data)
}

// mountOf returns the entry mounted exactly on dir, if any; the last one
// wins, as stacked mounts hide earlier ones.
func mountOf(dir string) (mountEntry, bool) {
	ms, err := mounts()
	if err != nil {
		return mountEntry{}, false
	}
	var e mountEntry
	found := false
	for _, m := range ms {
		if m.Mountpoint == dir {
			e, found = m, true
		}
	}
	return e, found
}

// fsTypeOf returns the type of the filesystem holding path (the mount
// with the longest matching prefix).
func fsTypeOf(path string) string {
	ms, err := mounts()
	if err != nil {
		return "unknown"
	}
	best, typ := -1, "unknown"
	for _, m := range ms {
		p := strings.TrimSuffix(m.Mountpoint, "/") + "/"
		if (path == m.Mountpoint || strings.HasPrefix(path+"/", p)) && len(m.Mountpoint) > best {
			best, typ = len(m.Mountpoint), m.FSType
		}
	}
	return typ
}

// dropCaches writes back dirty data and empties the page, dentry and inode
// caches so reads reach the filesystem under test; it needs root.
func dropCaches() error {
	unix.Sync()
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0); err != nil {
		return fmt.Errorf("bench: dropping caches (needs root): %w", err)
	}
	return nil
}
