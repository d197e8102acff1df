package store

import (
	"errors"
	"strings"
	"testing"

	"github.com/ssefs/ssefs/keyring"
)

// otherKMS is a KMS with nothing beyond keyring.KMS, as an external backend
// would be; only Status is called.
type otherKMS struct{ keyring.KMS }

func (otherKMS) Status() keyring.Status { return keyring.Status{Backend: "kmip"} }

// The optional KMS features come from the built-in KMS and are refused, with
// ErrKMSUnsupported naming the backend, by any other.
func TestKMSFeatures(t *testing.T) {
	dir := t.TempDir()
	var mk keyring.MasterKey
	builtin, err := keyring.CreateBuiltin(dir, mk)
	if err != nil {
		t.Fatal(err)
	}
	defer builtin.Close()
	for _, tc := range []struct {
		name string
		kms  keyring.KMS
		ok   bool
	}{
		{"builtin", builtin, true},
		{"other", otherKMS{}, false},
	} {
		s := &Store{KMS: tc.kms}
		_, kvErr := s.KeyVersions()
		_, mkErr := s.MasterKeyChanger()
		for what, err := range map[string]error{"KeyVersions": kvErr, "MasterKeyChanger": mkErr} {
			switch {
			case tc.ok && err != nil:
				t.Errorf("%s: %s: %v", tc.name, what, err)
			case !tc.ok && (!errors.Is(err, ErrKMSUnsupported) || !strings.Contains(err.Error(), "kmip")):
				t.Errorf("%s: %s: got %v, want ErrKMSUnsupported naming the backend", tc.name, what, err)
			}
		}
	}
}
