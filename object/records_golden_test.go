package object

import (
	"encoding/hex"
	"reflect"
	"testing"
)

// Golden encodings of format version 1. If one of these changes, the
// on-disk format changed: bump the record version and keep reading v1.
var (
	goldenInode = Inode{Ino: 42, Mode: 0o100644, UID: 1000, GID: 100, Nlink: 1, Rdev: 0,
		Atime: 1, Mtime: 2, Ctime: 3, Size: 70000, Version: 7, Target: "",
		SSE: SSE{Domain: "SSE-S3", KeyName: "sse-s3", SealedDEK: []byte{0xde, 0xad}, SealedOEK: []byte{0xbe, 0xef}}}
	goldenInodeHex = "01000000000000002a000081a4000003e80000006400000001000000000000000000000001000000000000000200000000000000030000000000011170000000000000000700000000000000065353452d5333000000067373652d733300000002dead00000002beef"
	goldenVersion  = Version{ID: 9, Size: 70000, Mtime: 5, Flags: 0,
		Runs: []Run{{Chunk: 0, Count: 2, Part: 77, PartChunk: 0, PartLen: 70000, Inline: false}}}
	goldenVersionHex = "010000000000000009000000000001117000000000000000050000000001000000000000000000000002000000000000004d00000000000000000001117000"
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
