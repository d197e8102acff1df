package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ssefs/ssefs/store"
)

// location is what an admin command acts on: a store, and if the path given
// was inside a live mount, that mount and the path relative to its root.
type location struct {
	store      string
	mountpoint string
	rel        string // path inside the mount, "" for the root
}

// locate finds the store for path: the store directory itself (or a path
// inside it), or a path inside an ssefs mount, found in mountinfo.
func locate(path string) (location, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return location{}, err
	}
	if m, ok := findMount(abs); ok {
		rel, _ := filepath.Rel(m.mountpoint, abs)
		if rel == "." {
			rel = ""
		}
		m.rel = rel
		return m, nil
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, store.ConfigFile)); err == nil {
			return location{store: d}, nil
		} else if errors.Is(err, os.ErrPermission) {
			return location{}, fmt.Errorf("%s: permission denied: if it is a store, it belongs to another user; run the command as that user or root", d)
		}
		if d == "/" {
			break
		}
	}
	return location{}, fmt.Errorf("%s is neither in an ssefs mount nor in a store (use --store)", path)
}

// findMount returns the innermost ssefs mount containing abs. The mount's
// source field is the store directory (the FsName set at mount time).
func findMount(abs string) (location, bool) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return location{}, false
	}
	defer f.Close()
	var best location
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent maj:min root mountpoint opts ... - fstype source superopts
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, fl := range fields {
			if fl == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+2 >= len(fields) || len(fields) < 5 {
			continue
		}
		if fields[sep+1] != "fuse.ssefs" {
			continue
		}
		mp := unescapeMount(fields[4])
		if (abs == mp || strings.HasPrefix(abs, strings.TrimSuffix(mp, "/")+"/")) && len(mp) > len(best.mountpoint) {
			best = location{store: unescapeMount(fields[sep+2]), mountpoint: mp}
		}
	}
	return best, best.mountpoint != ""
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
