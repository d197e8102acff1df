package object

import (
	"encoding/hex"
	"reflect"
	"testing"
)

// Golden encodings of the records (inode: record version 1; version: 2). If one of these changes, the
// on-disk format changed: bump the record version and keep reading v1.
var (
	goldenInode = Inode{Ino: 42, Mode: 0o100644, UID: 1000, GID: 100, Nlink: 1, Rdev: 0,
		Atime: 1, Mtime: 2, Ctime: 3, Size: 70000, Version: 7, Target: "",
		SSE: SSE{Domain: "SSE-S3", KeyName: "sse-s3", SealedDEK: []byte{0xde, 0xad}, SealedOEK: []byte{0xbe, 0xef}}}
	goldenInodeHex = "01000000000000002a000081a4000003e80000006400000001000000000000000000000001000000000000000200000000000000030000000000011170000000000000000700000000000000065353452d5333000000067373652d733300000002dead00000002beef"
	goldenVersion  = Version{ID: 9, Size: 70000, Mtime: 5, Flags: 0,
		Runs: []Run{{Off: 0, Len: 65536, Part: 77, PartOff: 0, PartLen: 70000}, {Off: 65536, Len: 4464, Part: 78, PartOff: 4096, PartLen: 8560, Inline: true}}}
	goldenVersionHex = "02000000000000000900000000000111700000000000000005000000000200000000000000000000000000010000000000000000004d000000000000000000000000000111700000000000000100000000000000001170000000000000004e0000000000001000000000000000217001"
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
	v.Seal(oek, 42) // re-sealing writes the current record version
	if b, _ := v.MarshalBinary(); b[0] != versionRecordV2 {
		t.Fatalf("re-sealed record has version %d", b[0])
	}
}
