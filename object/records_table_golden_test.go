package object

import (
	"encoding"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/ssefs/ssefs/keyring"
)

// binaryRecord is what every metadata record implements.
type binaryRecord interface {
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}

// jsonHex is the hex of a JSON record, written as its text for review.
func jsonHex(s string) string { return hex.EncodeToString([]byte(s)) }

// goldenRecords pins the bytes of every record type (docs/FORMAT.md). If a
// row fails, the on-disk format changed: bump the record version and keep
// reading the old one instead of editing the row.
var goldenRecords = []struct {
	name  string
	value binaryRecord
	fresh func() binaryRecord
	hex   string
	// open: a prefix or an extension of the value can itself be a valid
	// record (the last field is the rest of the value), so the truncation
	// and trailing-byte checks do not apply.
	open bool
}{
	{name: "inode", value: &goldenInode, fresh: func() binaryRecord { return new(Inode) }, hex: goldenInodeHex},
	{name: "version", value: goldenVersionWithMAC(), fresh: func() binaryRecord { return new(Version) },
		hex: goldenVersionHex + "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"},
	{name: "dirent", value: &Dirent{Ino: 42, Mode: 0o100000}, fresh: func() binaryRecord { return new(Dirent) },
		hex: "000000000000002a" + "00008000"},
	{name: "deleted named", value: &deletedRecord{Named: true, Parent: 1, Name: "a.txt"}, fresh: func() binaryRecord { return new(deletedRecord) },
		hex: "0000000000000001" + "612e747874", open: true},
	{name: "deleted unnamed", value: &deletedRecord{}, fresh: func() binaryRecord { return new(deletedRecord) },
		hex: "", open: true},
	{name: "tombstone", value: &tombRecord{Ino: 42}, fresh: func() binaryRecord { return new(tombRecord) },
		hex: "000000000000002a"},
	{name: "orphan", value: &orphanRecord{}, fresh: func() binaryRecord { return new(orphanRecord) }, hex: ""},
	{name: "lock governance with hold", value: &lockRecord{Mode: lockModeGovernance, RetainUntil: 1700000000000000000, LegalHold: true},
		fresh: func() binaryRecord { return new(lockRecord) }, hex: "01" + "01" + "17979cfe362a0000" + "01"},
	{name: "lock hold only", value: &lockRecord{Mode: lockModeNone, LegalHold: true},
		fresh: func() binaryRecord { return new(lockRecord) }, hex: "01" + "00" + "0000000000000000" + "01"},
	{name: "lock compliance", value: &lockRecord{Mode: lockModeCompliance, RetainUntil: 1800000000123456789},
		fresh: func() binaryRecord { return new(lockRecord) }, hex: "01" + "02" + "18fae2769b0fcd15" + "00"},
	{name: "lock default", value: &lockDefaultRecord{Mode: lockModeCompliance, Days: 30},
		fresh: func() binaryRecord { return new(lockDefaultRecord) }, hex: "01" + "02" + "0000001e"},
	{name: "directory SSE-KMS", value: &dirSSERecord{Domain: keyring.DomainSSEKMS, KeyName: "projects"},
		fresh: func() binaryRecord { return new(dirSSERecord) },
		hex:   "01" + "00000007" + "5353452d4b4d53" + "00000008" + "70726f6a65637473" + "00000000"},
	{name: "directory SSE-C", value: &dirSSERecord{Domain: keyring.DomainSSEC, Fingerprint: []byte{0xfe, 0xed, 0xfa, 0xce}},
		fresh: func() binaryRecord { return new(dirSSERecord) },
		hex:   "01" + "00000005" + "5353452d43" + "00000000" + "00000004" + "feedface"},
	{name: "lifecycle rule", value: &ruleRecord{KeepNoncurrent: 3, NoncurrentDays: 30, ExpireDeleteMarkers: true},
		fresh: func() binaryRecord { return new(ruleRecord) },
		hex:   jsonHex(`{"keep_noncurrent":3,"noncurrent_days":30,"expire_delete_markers":true}`)},
	{name: "lifecycle rule sparse", value: &ruleRecord{NoncurrentDays: 7},
		fresh: func() binaryRecord { return new(ruleRecord) }, hex: jsonHex(`{"noncurrent_days":7}`)},
	{name: "audit", value: &auditRecord{Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Op: "key-rotate", Key: "projects", Result: "ok", Detail: "new version 0f"},
		fresh: func() binaryRecord { return new(auditRecord) },
		hex:   jsonHex(`{"time":"2026-01-02T03:04:05.000000006Z","op":"key-rotate","key":"projects","result":"ok","detail":"new version 0f"}`)},
	{name: "audit sparse", value: &auditRecord{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Op: "hook-set", Result: "object: invalid argument"},
		fresh: func() binaryRecord { return new(auditRecord) },
		hex:   jsonHex(`{"time":"2026-01-02T03:04:05Z","op":"hook-set","result":"object: invalid argument"}`)},
	{name: "rotation", value: &rotationRecord{Name: "projects", NewID: "000102030405060708090a0b0c0d0e0f", Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		fresh: func() binaryRecord { return new(rotationRecord) },
		hex:   jsonHex(`{"name":"projects","new_id":"000102030405060708090a0b0c0d0e0f","started":"2026-01-02T03:04:05Z"}`)},
}

func goldenVersionWithMAC() *Version {
	v := goldenVersion
	for i := range v.MAC {
		v.MAC[i] = 0xa0 + byte(i)
	}
	return &v
}

// TestRecordsGolden checks every record type both ways against fixed bytes,
// and that a cut or extended value is refused with a *RecordError.
func TestRecordsGolden(t *testing.T) {
	for _, tc := range goldenRecords {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.value.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(b); got != tc.hex {
				t.Fatalf("encoding changed:\n got %s\nwant %s", got, tc.hex)
			}
			raw, _ := hex.DecodeString(tc.hex)
			back := tc.fresh()
			if err := back.UnmarshalBinary(raw); err != nil || !reflect.DeepEqual(back, tc.value) {
				t.Fatalf("decode: %+v, %v; want %+v", back, err, tc.value)
			}
			if tc.open {
				return
			}
			var re *RecordError
			for i := range len(raw) {
				if err := tc.fresh().UnmarshalBinary(raw[:i]); !errors.As(err, &re) {
					t.Fatalf("record cut to %d bytes: %v, want a *RecordError", i, err)
				}
			}
			if err := tc.fresh().UnmarshalBinary(append(raw, 'x')); !errors.As(err, &re) {
				t.Fatalf("record with a trailing byte: %v, want a *RecordError", err)
			}
		})
	}
}

// TestRecordsRefuseUnknown checks that unknown record versions and enum
// bytes do not decode.
func TestRecordsRefuseUnknown(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fresh func() binaryRecord
		hex   string
	}{
		{"inode version 2", func() binaryRecord { return new(Inode) }, "02" + goldenInodeHex[2:]},
		{"version record version 3", func() binaryRecord { return new(Version) }, "03" + goldenVersionHex[2:] + "00000000000000000000000000000000000000000000000000000000000000"},
		{"lock mode 3", func() binaryRecord { return new(lockRecord) }, "01" + "03" + "0000000000000000" + "00"},
		{"lock version 2", func() binaryRecord { return new(lockRecord) }, "02" + "01" + "0000000000000000" + "00"},
		{"lock default mode 0", func() binaryRecord { return new(lockDefaultRecord) }, "01" + "00" + "0000001e"},
		{"lock default mode 3", func() binaryRecord { return new(lockDefaultRecord) }, "01" + "03" + "0000001e"},
		{"directory SSE version 2", func() binaryRecord { return new(dirSSERecord) }, "02" + "00000000" + "00000000" + "00000000"},
		{"deleted of 7 bytes", func() binaryRecord { return new(deletedRecord) }, "00000000000001"},
	} {
		raw, _ := hex.DecodeString(tc.hex)
		var re *RecordError
		if err := tc.fresh().UnmarshalBinary(raw); !errors.As(err, &re) {
			t.Errorf("%s: %v, want a *RecordError", tc.name, err)
		}
	}
}

// TestLockModeBytes pins the byte of each retention mode: the order of
// names in the code must never decide what is written.
func TestLockModeBytes(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode lockMode
		b    byte
	}{{"", lockModeNone, 0}, {ModeGovernance, lockModeGovernance, 1}, {ModeCompliance, lockModeCompliance, 2}} {
		if m := lockModeOf(tc.name); m != tc.mode || byte(m) != tc.b || m.name() != tc.name {
			t.Errorf("mode %q: stored as %d (name %q), want %d", tc.name, m, m.name(), tc.b)
		}
	}
}
