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

// Golden encodings of the records (inode: record version 1; version: 3). If one of these changes, the
// on-disk format changed: bump the record version and keep reading v1.
var (
	goldenInode = Inode{Ino: 42, Mode: 0o100644, UID: 1000, GID: 100, Nlink: 1, Rdev: 0,
		Atime: 1, Mtime: 2, Ctime: 3, Size: 70000, Version: 7, Target: "",
		SSE: SSE{Domain: "SSE-S3", KeyName: "sse-s3", SealedDEK: []byte{0xde, 0xad}, SealedOEK: []byte{0xbe, 0xef}}}
	goldenInodeHex = "01000000000000002a000081a4000003e80000006400000001000000000000000000000001000000000000000200000000000000030000000000011170000000000000000700000000000000065353452d5333000000067373652d733300000002dead00000002beef"
	goldenVersion  = Version{ID: 9, Size: 70000, Mtime: 5, Flags: 0,
		Owner: &VersionOwner{Mode: 0o100640, UID: 1000, GID: 100},
		Runs:  []Run{{Off: 0, Len: 65536, Part: 77, PartOff: 0, PartLen: 70000}, {Off: 65536, Len: 4464, Part: 78, PartOff: 4096, PartLen: 8560, Inline: true}}}
	goldenVersionHex = "03" + "0000000000000009" + "0000000000011170" + "0000000000000005" + "00" +
		"000081a0" + "000003e8" + "00000064" + // owner: mode 0100640, uid 1000, gid 100
		"00000002" +
		"0000000000000000" + "0000000000010000" + "000000000000004d" + "0000000000000000" + "0000000000011170" + "00" +
		"0000000000010000" + "0000000000001170" + "000000000000004e" + "0000000000001000" + "0000000000002170" + "01"
	// goldenVersionV2Hex is the same version in record version 2, which
	// has no owner: what stores of format 2 hold, and what a delete marker
	// or a re-sealed version without an owner is still written as.
	goldenVersionV2Hex = "02000000000000000900000000000111700000000000000005000000000200000000000000000000000000010000000000000000004d000000000000000000000000000111700000000000000100000000000000001170000000000000004e0000000000001000000000000000217001"
	// goldenVersionV1Hex is a record body of record version 1 (whole
	// chunks), which stores written before format 2 still hold.
	goldenVersionV1Hex = "010000000000000009000000000001117000000000000000050000000001000000000000000000000002000000000000004d00000000000000000001117000"
)

func TestInodeGolden(t *testing.T) {
	b, _ := goldenInode.MarshalBinary()
	if got := hex.EncodeToString(b); got != goldenInodeHex {
		t.Fatalf("inode encoding changed:\n got %s\nwant %s", got, goldenInodeHex)
	}
	raw, _ := hex.DecodeString(goldenInodeHex)
	var n Inode
	if err := n.UnmarshalBinary(raw); err != nil || !reflect.DeepEqual(n, goldenInode) {
		t.Fatalf("decode: %+v, %v", n, err)
	}
	for i := 0; i < len(raw); i++ {
		if err := new(Inode).UnmarshalBinary(raw[:i]); err == nil {
			t.Fatalf("truncated inode record of %d bytes decoded", i)
		}
	}
}

func TestVersionGolden(t *testing.T) {
	oek := make([]byte, 32)
	v := goldenVersion
	v.Seal(oek, 42)
	b, _ := v.MarshalBinary()
	body := hex.EncodeToString(b[:len(b)-32])
	if body != goldenVersionHex {
		t.Fatalf("version encoding changed:\n got %s\nwant %s", body, goldenVersionHex)
	}
	var back Version
	if err := back.UnmarshalBinary(b); err != nil || !back.Verify(oek, 42) {
		t.Fatalf("decode/verify: %v", err)
	}
	if back.Verify(oek, 43) {
		t.Fatal("version MAC verified for another object")
	}
	back.Size++
	if back.Verify(oek, 42) {
		t.Fatal("version MAC verified after the size changed")
	}
	for i := 0; i < len(b); i++ {
		if err := new(Version).UnmarshalBinary(b[:i]); err == nil {
			t.Fatalf("truncated version record of %d bytes decoded", i)
		}
	}
}

// TestVersionGoldenV2 decodes a record version 2 body (no owner): it reads
// with a nil owner, its MAC verifies, it marshals to its stored bytes
// (re-sealing it keeps record version 2), and it cannot be passed off as a
// record with an owner.
func TestVersionGoldenV2(t *testing.T) {
	oek := make([]byte, 32)
	body, _ := hex.DecodeString(goldenVersionV2Hex)
	want := goldenVersion
	want.Owner = nil
	mac := want.computeMAC(oek, 42)
	rec := append(append([]byte(nil), body...), mac[:]...)
	var v Version
	if err := v.UnmarshalBinary(rec); err != nil || !v.Verify(oek, 42) {
		t.Fatalf("decode/verify v2: %v", err)
	}
	if v.Owner != nil || v.ID != 9 || v.Size != 70000 || !reflect.DeepEqual(v.Runs, goldenVersion.Runs) {
		t.Fatalf("v2 decoded as %+v", v)
	}
	if again, _ := v.MarshalBinary(); !reflect.DeepEqual(again, rec) {
		t.Fatal("an unchanged v2 record does not marshal to its stored bytes")
	}
	v.Seal(oek, 42)
	if again, _ := v.MarshalBinary(); !reflect.DeepEqual(again, rec) {
		t.Fatal("re-sealing a v2 record without an owner changed it")
	}
	// An owner added to it, re-encoded as record version 3 with the old
	// MAC: refused.
	v.Owner = &VersionOwner{Mode: 0o100644}
	forged, _ := v.MarshalBinary()
	var f Version
	if f.UnmarshalBinary(forged) == nil && f.Verify(oek, 42) {
		t.Fatal("a v2 record given an owner verified")
	}
}

// TestVersionOwnerAuthenticated: every byte of a v3 record's owner is
// under the MAC, and a delete marker (which has no MAC) may not carry one.
func TestVersionOwnerAuthenticated(t *testing.T) {
	oek := make([]byte, 32)
	v := goldenVersion
	v.Seal(oek, 42)
	rec, _ := v.MarshalBinary()
	const ownerOff = 26 // after ver, id, size, mtime, flags
	for i := ownerOff; i < ownerOff+12; i++ {
		bad := append([]byte(nil), rec...)
		bad[i] ^= 0x01
		var w Version
		if w.UnmarshalBinary(bad) == nil && w.Verify(oek, 42) {
			t.Fatalf("v3 record with owner byte %d flipped verified", i-ownerOff)
		}
	}
	marker := Version{ID: 9, Flags: VersionDeleteMarker, Owner: &VersionOwner{Mode: 0o100644}}
	b, _ := marker.MarshalBinary()
	var m Version
	if err := m.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if err := m.authenticate(oek, 42, 9); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a delete marker with an owner: %v, want ErrCorrupt", err)
	}
	marker.Owner = nil
	b, _ = marker.MarshalBinary()
	if b[0] != versionRecordV2 {
		t.Fatalf("a delete marker is written in record version %d", b[0])
	}
	if err := m.UnmarshalBinary(b); err != nil || m.authenticate(oek, 42, 9) != nil {
		t.Fatalf("a delete marker: %v", err)
	}
}

// TestVersionGoldenV1 decodes a record version 1 body: its chunk runs become
// byte runs cut at the part's end, and its MAC still verifies.
func TestVersionGoldenV1(t *testing.T) {
	oek := make([]byte, 32)
	body, _ := hex.DecodeString(goldenVersionV1Hex)
	signed := Version{legacy: body}
	mac := signed.computeMAC(oek, 42)
	rec := append(append([]byte(nil), body...), mac[:]...)
	var v Version
	if err := v.UnmarshalBinary(rec); err != nil || !v.Verify(oek, 42) {
		t.Fatalf("decode/verify v1: %v", err)
	}
	want := []Run{{Off: 0, Len: 70000, Part: 77, PartOff: 0, PartLen: 70000}}
	if v.ID != 9 || v.Size != 70000 || v.Mtime != 5 || !reflect.DeepEqual(v.Runs, want) {
		t.Fatalf("v1 decoded as %+v", v)
	}
	if again, _ := v.MarshalBinary(); !reflect.DeepEqual(again, rec) {
		t.Fatal("an unchanged v1 record does not marshal to its stored bytes")
	}
	for i := 1; i < len(body); i++ { // every byte after the record version is authenticated
		bad := append([]byte(nil), rec...)
		bad[i] ^= 0x40
		var w Version
		if w.UnmarshalBinary(bad) == nil && w.Verify(oek, 42) {
			t.Fatalf("v1 record with byte %d flipped verified", i)
		}
	}
	v.Seal(oek, 42) // re-sealing writes byte runs; without an owner, record version 2
	if b, _ := v.MarshalBinary(); b[0] != versionRecordV2 {
		t.Fatalf("re-sealed record has version %d", b[0])
	}
}

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
