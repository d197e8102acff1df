package chunkstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// Walk calls fn for every part file, in file-name order, with its sealed
// size; fsck and garbage collection compare this against metadata. Files
// that are not named and sharded as parts are skipped. An error from fn
// stops the walk and is returned as is.
func (d *Dir) Walk(fn func(id PartID, size int64) error) error {
	if d.closed.Load() {
		return ErrClosed
	}
	xxs, err := readDirNames(d.root)
	if err != nil {
		return err
	}
	for _, xx := range xxs {
		yys, err := readDirNames(filepath.Join(d.root, xx))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		for _, yy := range yys {
			shard := filepath.Join(d.root, xx, yy)
			entries, err := os.ReadDir(shard)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				return fmt.Errorf("chunkstore: walking %s: %w", shard, err)
			}
			for _, e := range entries {
				id, ok := parsePartName(e.Name())
				if !ok || d.shardDir(id) != shard || !e.Type().IsRegular() {
					continue
				}
				info, err := e.Info()
				if errors.Is(err, fs.ErrNotExist) {
					continue // removed while walking
				}
				if err != nil {
					return fmt.Errorf("chunkstore: walking part %v: %w", id, err)
				}
				if err := fn(id, info.Size()); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Usage totals the sealed bytes and the number of part files.
func (d *Dir) Usage() (bytes int64, parts int64, err error) {
	err = d.Walk(func(_ PartID, size int64) error {
		bytes += size
		parts++
		return nil
	})
	return bytes, parts, err
}

// readDirNames lists the two-hex-digit shard directories in dir.
func readDirNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("chunkstore: walking %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); e.IsDir() && len(n) == 2 && isLowerHex(n) {
			names = append(names, n)
		}
	}
	return names, nil
}

// parsePartName accepts exactly the names PartID.String produces.
func parsePartName(name string) (PartID, bool) {
	if len(name) != 16 || !isLowerHex(name) {
		return 0, false
	}
	v, err := strconv.ParseUint(name, 16, 64)
	return PartID(v), err == nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
