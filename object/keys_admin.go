package object

import (
	"fmt"
	"log"

	"github.com/ssefs/ssefs/keyring"
)

// The key operations of `ssefs key` and `ssefs kms`. Each writes an audit record and
// those that lock or erase keys make it take effect at once (ForgetKeys) and run the
// store's seal hook.

// KeyCreate adds a named KMS key.
func (l *Layer) KeyCreate(name string) error {
	err := l.kms.CreateKey(name)
	l.audit("key-create", name, err, "")
	return err
}

// KeyList lists the KMS keys.
func (l *Layer) KeyList() ([]keyring.KeyInfo, error) { return l.kms.ListKeys() }

// KeyDelete crypto-erases a key: every object under it (any version of it) becomes
// unrecoverable for good, even if a key of the same name is created again.
func (l *Layer) KeyDelete(name string) error {
	if name == keyring.DefaultKeyName {
		err := fmt.Errorf("%w: %q is the SSE-S3 deployment key and cannot be deleted", keyring.ErrInvalidKeyName, name)
		l.audit("key-delete", name, err, "")
		return err
	}
	if err := l.checkKeyDelete(name); err != nil {
		l.audit("key-delete", name, err, "")
		return err
	}
	l.commitOpen()
	err := l.kms.DeleteKey(name)
	l.ForgetKeys()
	l.audit("key-delete", name, err, "")
	if err == nil {
		l.runHook("delete", name)
	}
	return err
}

// KeySeal locks one key (persistently, across remounts): its objects fail with
// ENOKEY, open descriptors and cached pages included, until KeyUnseal.
func (l *Layer) KeySeal(name string) error {
	l.commitOpen()
	err := l.kms.SealKey(name)
	l.ForgetKeys()
	l.audit("key-seal", name, err, "")
	if err == nil {
		l.runHook("seal", name)
	}
	return err
}

// KeyUnseal reverses KeySeal.
func (l *Layer) KeyUnseal(name string) error {
	err := l.kms.UnsealKey(name)
	l.audit("key-unseal", name, err, "")
	if err == nil {
		l.runHook("unseal", name)
	}
	return err
}

// KMSSeal seals the whole KMS: every SSE-S3 and SSE-KMS object becomes unreadable at
// once. Open files are committed first so no buffered write is stranded.
func (l *Layer) KMSSeal() error {
	l.commitOpen()
	err := l.kms.Seal()
	l.ForgetKeys()
	l.audit("kms-seal", "", err, "")
	if err == nil {
		l.runHook("seal", "")
	}
	return err
}

// KMSUnseal unseals the KMS with the master key (ErrWrongMasterKey if it is wrong).
func (l *Layer) KMSUnseal(mk keyring.MasterKey) error {
	err := l.kms.Unseal(mk)
	l.audit("kms-unseal", "", err, "")
	if err == nil {
		l.runHook("unseal", "")
	}
	return err
}

// KMSStatus summarises the KMS.
func (l *Layer) KMSStatus() keyring.Status { return l.kms.Status() }

// ChangeMasterKey re-seals the keyring (its keys and the metadata key) under newMK
// after checking that oldMK is the current master key. No DEK, OEK or data changes.
func (l *Layer) ChangeMasterKey(oldMK, newMK keyring.MasterKey) error {
	defer newMK.Zero()
	mkc, err := l.st.MasterKeyChanger()
	if err == nil {
		err = mkc.CheckMasterKey(oldMK)
	}
	if err == nil {
		err = mkc.ChangeMasterKey(newMK)
	}
	l.audit("passphrase-change", "", err, "")
	return err
}

// commitOpen commits every open file, so that sealing a key strands no buffered
// write: what was written before the seal is stored (under its key) before it locks.
func (l *Layer) commitOpen() {
	for _, f := range l.openFiles() {
		if err := f.Commit(); err != nil {
			log.Printf("ssefs: committing object %d before a key event: %v", f.ino, err)
		}
	}
}
