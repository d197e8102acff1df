package keyring

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// rotFixture is a keyring with a live key, a sealed key and a deleted key, plus DEKs
// made under each, so every record kind crosses a master key change.
type rotFixture struct {
	dir      string
	ctx      []byte
	live     DEK
	sealed   DEK
	deleted  DEK
	liveID   string
	sealedID string
}

func newRotFixture(t *testing.T, mk MasterKey) (*Builtin, *rotFixture) {
	t.Helper()
	b, dir := newTestKMS(t, mk)
	f := &rotFixture{dir: dir, ctx: DEKContext([]byte("store"), 3)}
	for _, n := range []string{"sealed", "gone"} {
		if err := b.CreateKey(n); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if f.live, err = b.GenerateKey(DefaultKeyName, f.ctx); err != nil {
		t.Fatal(err)
	}
	if f.sealed, err = b.GenerateKey("sealed", f.ctx); err != nil {
		t.Fatal(err)
	}
	if f.deleted, err = b.GenerateKey("gone", f.ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.SealKey("sealed"); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteKey("gone"); err != nil {
		t.Fatal(err)
	}
	f.liveID, f.sealedID = keyIDOf(t, b, DefaultKeyName), keyIDOf(t, b, "sealed")
	return b, f
}

// check asserts that b holds exactly the fixture's state.
func (f *rotFixture) check(t *testing.T, b *Builtin) {
	t.Helper()
	keys, err := b.ListKeys()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].Name != "sealed" || !keys[0].Sealed || keys[0].ID != f.sealedID ||
		keys[1].Name != DefaultKeyName || keys[1].Sealed || keys[1].ID != f.liveID {
		t.Fatalf("keys %+v", keys)
	}
	pt, err := b.Decrypt(DefaultKeyName, f.live.Ciphertext, f.ctx)
	if err != nil || !bytes.Equal(pt, f.live.Plaintext) {
		t.Fatalf("live DEK: %v", err)
	}
	if _, err := b.Decrypt("sealed", f.sealed.Ciphertext, f.ctx); !errors.Is(err, ErrKeySealed) {
		t.Fatalf("sealed DEK: %v", err)
	}
	if _, err := b.Decrypt("gone", f.deleted.Ciphertext, f.ctx); !errors.Is(err, ErrKeyDeleted) {
		t.Fatalf("deleted DEK: %v", err)
	}
	for _, n := range dirNames(t, f.dir) {
		if strings.HasSuffix(n, newSuffix) || strings.HasSuffix(n, tmpSuffix) {
			t.Fatalf("leftover %s", n)
		}
	}
}

func TestChangeMasterKey(t *testing.T) {
	oldMK, newMK := testMK(1), testMK(2)
	b, f := newRotFixture(t, oldMK)
	if err := b.ChangeMasterKey(newMK); err != nil {
		t.Fatal(err)
	}
	f.check(t, b) // the running KMS keeps working
	if err := b.CreateKey("after"); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteKey("after"); err != nil {
		t.Fatal(err)
	}
	b.Close()
	before := hashDir(t, f.dir)
	if _, err := OpenBuiltin(f.dir, oldMK); !errors.Is(err, ErrWrongMasterKey) {
		t.Fatalf("old master key after change: %v", err)
	}
	if hashDir(t, f.dir) != before {
		t.Fatal("old-key open modified the keyring")
	}
	b2 := mustOpen(t, f.dir, newMK)
	f.check(t, b2)
	// UnsealKey reads the sealed key's file, re-sealed under the new master key.
	if err := b2.UnsealKey("sealed"); err != nil {
		t.Fatal(err)
	}
	if pt, err := b2.Decrypt("sealed", f.sealed.Ciphertext, f.ctx); err != nil || !bytes.Equal(pt, f.sealed.Plaintext) {
		t.Fatalf("sealed key after change + unseal: %v", err)
	}
	// Changing to the same key is allowed and harmless.
	if err := b2.ChangeMasterKey(newMK); err != nil {
		t.Fatal(err)
	}
	b2.Close()
	mustOpen(t, f.dir, newMK)
}

// A crash at each stage of ChangeMasterKey leaves a keyring that opens with exactly one
// of the two keys: the old one before the verifier rename, the new one after it.
func TestChangeMasterKeyCrash(t *testing.T) {
	oldMK, newMK := testMK(1), testMK(2)
	tests := []struct {
		stage   string // crash right after this stage
		nth     int    // ...its nth occurrence (stages repeat per renamed file)
		opensAs string // "old" or "new"
	}{
		{"resealed", 1, "old"},
		{"resealed", 4, "old"}, // every .new written, verifier.new included, not yet renamed
		{"prepared", 1, "old"},
		{"committed", 1, "new"},
		{"renamed", 1, "new"},
		{"renamed", 2, "new"},
		{"renamed", 3, "new"}, // the last rename: only the final dir fsync was missing
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s#%d", tc.stage, tc.nth), func(t *testing.T) {
			b, f := newRotFixture(t, oldMK)
			seen := 0
			crash := errors.New("simulated crash")
			b.hook = func(stage string) error {
				if strings.HasPrefix(stage, tc.stage) {
					if seen++; seen == tc.nth {
						return crash
					}
				}
				return nil
			}
			if err := b.ChangeMasterKey(newMK); !errors.Is(err, crash) {
				t.Fatalf("ChangeMasterKey = %v, want the simulated crash", err)
			}
			if seen != tc.nth {
				t.Fatalf("stage %q reached %d times, want %d", tc.stage, seen, tc.nth)
			}
			b.Close()
			right, wrong := oldMK, newMK
			if tc.opensAs == "new" {
				right, wrong = newMK, oldMK
			}
			before := hashDir(t, f.dir)
			if _, err := OpenBuiltin(f.dir, wrong); !errors.Is(err, ErrWrongMasterKey) {
				t.Fatalf("open with the %s key's counterpart: %v", tc.opensAs, err)
			}
			if hashDir(t, f.dir) != before {
				t.Fatal("wrong-key open modified a half-changed keyring")
			}
			b2 := mustOpen(t, f.dir, right)
			f.check(t, b2)
			b2.Close()
			// Recovery is complete: a second open finds a clean keyring, and a new change
			// from the surviving key works.
			b3 := mustOpen(t, f.dir, right)
			f.check(t, b3)
			if err := b3.ChangeMasterKey(testMK(3)); err != nil {
				t.Fatal(err)
			}
			b3.Close()
			f.check(t, mustOpen(t, f.dir, testMK(3)))
		})
	}
}
