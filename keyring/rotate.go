package keyring

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ssefs/ssefs/internal/storefile"
)

// ChangeMasterKey re-seals every record of the keyring under newMK. The EKs themselves
// do not change, so no DEK or object is touched.
//
// Crash safety: every record is first written re-sealed to "<file>.new" and fsynced;
// the commit point is the rename of "verifier.new" over "verifier". A crash before it
// leaves a keyring that opens with the OLD key only (the .new files are discarded at
// open); a crash after it leaves one that opens with the NEW key only (the remaining
// .new files are renamed into place at open). OpenBuiltin tells them apart by trying
// each .new record under the key whose verifier just authenticated.
func (b *Builtin) ChangeMasterKey(newMK MasterKey) error {
	defer newMK.Zero()
	b.mu.Lock()
	defer b.mu.Unlock()
	st, err := b.unsealed()
	if err != nil {
		return err
	}
	nw, err := newWrapper(&newMK)
	if err != nil {
		return err
	}

	files := make([]string, 0, len(st.byID)+2)
	for id := range st.byID {
		files = append(files, keyFileName(id))
	}
	if st.meta != nil {
		files = append(files, metaKeyFile)
	}
	files = append(files, tombstonesFile, verifierFile) // verifier last: it is the commit

	written := make([]string, 0, len(files))
	abort := func(err error) error {
		for _, f := range written {
			os.Remove(filepath.Join(b.dir, f+newSuffix))
		}
		return fmt.Errorf("keyring: change master key (old key still valid): %w", err)
	}
	for _, f := range files {
		if err := b.resealFile(st.w, nw, f); err != nil {
			return abort(err)
		}
		written = append(written, f)
		if err := b.runHook("resealed " + f); err != nil {
			return err
		}
	}
	if err := syncDir(b.dir); err != nil {
		return abort(err)
	}
	if err := b.runHook("prepared"); err != nil {
		return err
	}

	if err := os.Rename(filepath.Join(b.dir, verifierFile+newSuffix), filepath.Join(b.dir, verifierFile)); err != nil {
		return abort(err)
	}
	st.w = nw // from here the new key is the valid one, whatever happens next
	if err := syncDir(b.dir); err != nil {
		return fmt.Errorf("keyring: change master key (new key valid, finishing at next open): %w", err)
	}
	if err := b.runHook("committed"); err != nil {
		return err
	}

	var errs []error
	for _, f := range files[:len(files)-1] {
		if err := os.Rename(filepath.Join(b.dir, f+newSuffix), filepath.Join(b.dir, f)); err != nil {
			errs = append(errs, err)
		}
		if err := b.runHook("renamed " + f); err != nil {
			return err
		}
	}
	if err := syncDir(b.dir); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("keyring: change master key (new key valid, finishing at next open): %w", err)
	}
	return nil
}

// resealFile writes dir/name re-sealed under nw to dir/name.new, fsynced. Records are
// read back from disk rather than from memory so sealed keys, whose material is not in
// memory, are carried over too.
func (b *Builtin) resealFile(old, nw *wrapper, name string) error {
	path := filepath.Join(b.dir, name)
	data, err := storefile.ReadFile(path)
	if err != nil {
		return err
	}
	var r record
	switch name {
	case verifierFile:
		if err := old.checkVerifier(data); err != nil {
			return fmt.Errorf("verifier: %w", err)
		}
		r, err = nw.sealVerifier()
	case tombstonesFile:
		var tombs map[keyID]struct{}
		if tombs, err = old.openTombstones(data); err != nil {
			return fmt.Errorf("tombstones: %w", err)
		}
		r, err = nw.sealTombstones(tombs)
	case metaKeyFile:
		var k *[metaKeyLen]byte
		if k, err = old.openMetaKey(data); err != nil {
			return fmt.Errorf("metadata key: %w", err)
		}
		r, err = nw.sealMetaKey(k)
		clear(k[:])
	default:
		id, _ := parseKeyFileName(name)
		var rec *keyRecord
		if rec, err = old.openKey(data, id); err != nil {
			return fmt.Errorf("key file %s: %w", name, err)
		}
		r, err = nw.sealKey(rec)
		clear(rec.material[:])
	}
	if err != nil {
		return err
	}
	return writeFileSync(path+newSuffix, r)
}

func (b *Builtin) runHook(stage string) error {
	if b.hook == nil {
		return nil
	}
	return b.hook(stage)
}
