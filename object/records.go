package object

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/ssefs/ssefs/chunkstore"
)

// Ino identifies an object (a file, directory, symlink or special file). It
// is the inode number the mount shows and the object id that keys are bound
// to; ids are allocated from a Badger sequence and never reused.
type Ino uint64

// RootIno is the root directory of every store.
const RootIno Ino = 1

// recordVersion1 is the first byte of every record this code writes.
const recordVersion1 = 1

// SSE describes how an object's key is protected. Domain and KeyName are
// public; SealedDEK and SealedOEK are ciphertext.
type SSE struct {
	Domain    string // keyring.Domain*: "SSE-S3", "SSE-KMS", "SSE-C"
	KeyName   string // the KMS key; empty for SSE-C
	SealedDEK []byte // the KMS's ciphertext of the DEK (nil for SSE-C)
	SealedOEK []byte // keyring.SealedKey, marshalled
}

// Inode is the metadata record of an object, key "i"+ino.
type Inode struct {
	Ino     Ino
	Mode    uint32 // type and permission bits, as in stat(2)
	UID     uint32
	GID     uint32
	Nlink   uint32
	Rdev    uint32
	Atime   int64 // unix nanoseconds
	Mtime   int64
	Ctime   int64
	Size    int64  // size of the current version (regular files), target length (symlinks)
	Version uint64 // current version id of a regular file; 0 before the first commit
	Target  string // symlink target
	SSE     SSE
}

// MarshalBinary encodes the record; see docs/FORMAT.md "inode record".
func (n *Inode) MarshalBinary() ([]byte, error) {
	e := make(enc, 0, 96+len(n.Target)+len(n.SSE.SealedDEK)+len(n.SSE.SealedOEK))
	e.u8(recordVersion1)
	e.u64(uint64(n.Ino))
	e.u32(n.Mode)
	e.u32(n.UID)
	e.u32(n.GID)
	e.u32(n.Nlink)
	e.u32(n.Rdev)
	e.i64(n.Atime)
	e.i64(n.Mtime)
	e.i64(n.Ctime)
	e.i64(n.Size)
	e.u64(n.Version)
	e.str(n.Target)
	e.str(n.SSE.Domain)
	e.str(n.SSE.KeyName)
	e.bytes(n.SSE.SealedDEK)
	e.bytes(n.SSE.SealedOEK)
	return e, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote; anything else is a
// *RecordError.
func (n *Inode) UnmarshalBinary(b []byte) error {
	d := dec{b: b}
	d.version(recordVersion1)
	n.Ino = Ino(d.u64())
	n.Mode = d.u32()
	n.UID = d.u32()
	n.GID = d.u32()
	n.Nlink = d.u32()
	n.Rdev = d.u32()
	n.Atime = d.i64()
	n.Mtime = d.i64()
	n.Ctime = d.i64()
	n.Size = d.i64()
	n.Version = d.u64()
	n.Target = d.str()
	n.SSE.Domain = d.str()
	n.SSE.KeyName = d.str()
	n.SSE.SealedDEK = d.bytes()
	n.SSE.SealedOEK = d.bytes()
	return d.finish("inode")
}

// Run maps Len bytes of a file, starting at file byte Off, onto the
// plaintext of one part starting at byte PartOff. Runs are byte-granular so
// that a small overwrite is stored as a small patch run instead of a
// re-encrypted 64 KiB chunk (docs/ARCHITECTURE.md "Content model").
type Run struct {
	Off     int64
	Len     int64
	Part    chunkstore.PartID
	PartOff int64
	PartLen int64 // plaintext length of the whole part, so its sealed size is known
	Inline  bool  // the sealed part lives in the metadata database, not in parts/
}

// End is the first file byte after the run.
func (r Run) End() int64 { return r.Off + r.Len }

// Version flags.
const (
	VersionDeleteMarker = 1 << 0
)

// Record versions of version records: 1 mapped whole 64 KiB chunks (read,
// never written any more), 2 maps byte ranges, 3 adds the owner (the file's
// mode, uid and gid when the version was committed). Record version 2 is
// still written for a version without an owner: a delete marker, or a
// version of an older store re-sealed by compaction.
const (
	versionRecordV1 = 1
	versionRecordV2 = 2
	versionRecordV3 = 3
)

// VersionOwner is the mode (type and permission bits), uid and gid a file
// had when one of its versions was committed. The versions view lets a
// caller read a version only if this owner and mode would let it read the
// file (docs/SECURITY.md "Versions view").
type VersionOwner struct {
	Mode uint32
	UID  uint32
	GID  uint32
}

// Version is one immutable state of a file's content, key "v"+ino+id.
// Its size and extents are authenticated (MAC) under a key derived from the
// object's OEK, because DARE alone cannot notice a part list cut short.
type Version struct {
	ID    uint64 // unix nanoseconds of the commit, strictly increasing per object
	Size  int64
	Mtime int64
	Flags uint8
	// Owner is nil in records of record versions 1 and 2, which did not
	// record it, and in delete markers (which carry no MAC).
	Owner *VersionOwner
	Runs  []Run
	MAC   [32]byte

	// legacy is the stored body of a record written in version 1: its MAC
	// covers those bytes, which the v2 encoding of Runs cannot reproduce.
	legacy []byte
}

// Deleted reports whether this version is a delete marker.
func (v *Version) Deleted() bool { return v.Flags&VersionDeleteMarker != 0 }

const v2RunLen = 41

func (v *Version) body() enc {
	if v.legacy != nil {
		return v.legacy
	}
	e := make(enc, 0, 44+len(v.Runs)*v2RunLen)
	if v.Owner == nil {
		e.u8(versionRecordV2)
	} else {
		e.u8(versionRecordV3)
	}
	e.u64(v.ID)
	e.i64(v.Size)
	e.i64(v.Mtime)
	e.u8(v.Flags)
	if v.Owner != nil {
		e.u32(v.Owner.Mode)
		e.u32(v.Owner.UID)
		e.u32(v.Owner.GID)
	}
	e.u32(uint32(len(v.Runs)))
	for _, r := range v.Runs {
		e.i64(r.Off)
		e.i64(r.Len)
		e.u64(uint64(r.Part))
		e.i64(r.PartOff)
		e.i64(r.PartLen)
		if r.Inline {
			e.u8(1)
		} else {
			e.u8(0)
		}
	}
	return e
}

// MarshalBinary encodes the record (body ‖ MAC); see docs/FORMAT.md.
func (v *Version) MarshalBinary() ([]byte, error) {
	e := append(enc(nil), v.body()...)
	return append(e, v.MAC[:]...), nil
}

// UnmarshalBinary decodes a version record of either record version; it
// does not verify the MAC. A record that does not decode is ErrCorrupt
// wrapping a *RecordError.
func (v *Version) UnmarshalBinary(b []byte) error {
	if err := v.unmarshal(b); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return nil
}

func (v *Version) unmarshal(b []byte) error {
	d := dec{b: b}
	v.legacy = nil
	ver := d.version(versionRecordV1, versionRecordV2, versionRecordV3)
	v.ID = d.u64()
	v.Size = d.i64()
	v.Mtime = d.i64()
	v.Flags = d.u8()
	v.Owner = nil
	if ver == versionRecordV3 {
		v.Owner = &VersionOwner{Mode: d.u32(), UID: d.u32(), GID: d.u32()}
	}
	n := d.u32()
	runLen := uint64(v2RunLen)
	if ver == versionRecordV1 {
		runLen = 33
	}
	if d.err == nil && uint64(n)*runLen > uint64(len(d.b)) {
		return &RecordError{Record: "version", Err: errShort}
	}
	v.Runs = make([]Run, 0, n)
	for range n {
		var r Run
		if ver == versionRecordV1 {
			chunk, count := d.u64(), d.u32()
			r.Part = chunkstore.PartID(d.u64())
			partChunk := d.u32()
			r.PartLen = d.i64()
			r.Inline = d.u8() == 1
			// A v1 run covers whole chunks; the bytes it really maps end
			// where the part's plaintext does and at the version's size.
			r.Off = int64(chunk) * ChunkSize
			r.PartOff = int64(partChunk) * ChunkSize
			r.Len = min(int64(count)*ChunkSize, r.PartLen-r.PartOff, v.Size-r.Off)
		} else {
			r.Off, r.Len = d.i64(), d.i64()
			r.Part = chunkstore.PartID(d.u64())
			r.PartOff, r.PartLen = d.i64(), d.i64()
			r.Inline = d.u8() == 1
		}
		if r.Len > 0 {
			v.Runs = append(v.Runs, r)
		}
	}
	copy(v.MAC[:], d.take(32))
	if err := d.finish("version"); err != nil {
		return err
	}
	if ver == versionRecordV1 {
		v.legacy = append(enc(nil), b[:len(b)-32]...)
	}
	if err := checkRuns(v.Runs); err != nil {
		return fmt.Errorf("object: decoding version %d: %w", v.ID, err)
	}
	return nil
}

// versionMACKey derives the key that authenticates version records of one object.
func versionMACKey(oek []byte) []byte {
	h := hmac.New(sha256.New, oek)
	io.WriteString(h, "ssefs version mac v1")
	return h.Sum(nil)
}

func (v *Version) computeMAC(oek []byte, ino Ino) [32]byte {
	h := hmac.New(sha256.New, versionMACKey(oek))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(ino))
	h.Write(b[:])
	h.Write(v.body())
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// Seal sets the MAC binding the version to its object and key; a sealed
// version is encoded in record version 3, or 2 if it has no owner.
func (v *Version) Seal(oek []byte, ino Ino) {
	v.legacy = nil
	v.MAC = v.computeMAC(oek, ino)
}

// Verify reports whether the MAC matches; a mismatch means tampering.
func (v *Version) Verify(oek []byte, ino Ino) bool {
	want := v.computeMAC(oek, ino)
	return hmac.Equal(want[:], v.MAC[:])
}

// authenticate checks a version record loaded from key (ino, id) before any
// of it is used: it must be the record of that id (a record of another
// version copied under this key carries a valid MAC of its own, and
// would roll the file back), and its MAC must match. Delete markers are
// written without a key (an unlink needs none) and carry no MAC, so one
// is accepted only if it holds nothing: setting the flag on a record must
// not be a way past the MAC with a run list, or with an owner.
func (v *Version) authenticate(oek []byte, ino Ino, id uint64) error {
	switch {
	case v.ID != id:
		return fmt.Errorf("object %d version %d: %w: the record is version %d's", ino, id, ErrCorrupt, v.ID)
	case v.Deleted():
		if v.Size != 0 || len(v.Runs) != 0 || v.Owner != nil {
			return fmt.Errorf("object %d version %d: %w: a delete marker with content or an owner", ino, id, ErrCorrupt)
		}
	case !v.Verify(oek, ino):
		return fmt.Errorf("object %d version %d: %w", ino, id, ErrCorrupt)
	}
	return nil
}

// Dirent is a directory entry's value, key "d"+parent+name.
type Dirent struct {
	Ino  Ino
	Mode uint32 // type bits only, for readdir without loading the inode
}

// MarshalBinary encodes the entry: ino u64 ‖ mode u32.
func (d Dirent) MarshalBinary() ([]byte, error) {
	e := make(enc, 0, 12)
	e.u64(uint64(d.Ino))
	e.u32(d.Mode)
	return e, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (d *Dirent) UnmarshalBinary(b []byte) error {
	r := dec{b: b}
	ino, mode := Ino(r.u64()), r.u32()
	if err := r.finish("dirent"); err != nil {
		return err
	}
	*d = Dirent{Ino: ino, Mode: mode}
	return nil
}
