package keyring

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/ssefs/ssefs/internal/storefile"
)

// writeFileSync writes data to path (created or truncated, mode 0600) and fsyncs it.
func writeFileSync(path string, data []byte) error {
	f, err := storefile.Open(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeAtomic replaces dir/name with data so that a crash leaves either the old or the
// new content: temp file, fsync, rename, directory fsync.
func writeAtomic(dir, name string, data []byte) error {
	tmp := filepath.Join(dir, name+tmpSuffix)
	if err := writeFileSync(tmp, data); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("keyring: writing %s: %w", name, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("keyring: writing %s: %w", name, err)
	}
	return syncDir(dir)
}

// syncDir makes renames and removals in dir durable.
func syncDir(dir string) error {
	d, err := storefile.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("keyring: sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("keyring: sync dir %s: %w", dir, err)
	}
	return nil
}

// eraseFile overwrites a file in place with random bytes, fsyncs, then removes it. On a
// copy-on-write or flash device the old blocks may survive; the record is encrypted under
// the master key anyway, so this is defence in depth, not the crypto-erase itself.
func eraseFile(path string) error {
	f, err := storefile.Open(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("keyring: erase: %w", err)
	}
	fi, err := f.Stat()
	if err == nil {
		junk := make([]byte, fi.Size())
		rand.Read(junk)
		if _, err = f.WriteAt(junk, 0); err == nil {
			err = f.Sync()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("keyring: erase %s: %w", filepath.Base(path), err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("keyring: erase: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// sortedIDs returns the ids of a set in byte order, so records are deterministic.
func sortedIDs(ids map[keyID]struct{}) []keyID {
	out := make([]keyID, 0, len(ids))
	for id := range ids {
		out = append(out, id)
	}
	slices.SortFunc(out, func(a, b keyID) int { return bytes.Compare(a[:], b[:]) })
	return out
}
