package object

import (
	"encoding/binary"

	"github.com/ssefs/ssefs/chunkstore"
)

// Key prefixes of the metadata database: every key starts with one of these
// bytes, and no prefix is defined anywhere else. docs/FORMAT.md lists them
// with the record each key holds.
const (
	pfxInode       = 'i' // i ino → Inode
	pfxDirent      = 'd' // d parent name → Dirent
	pfxVersion     = 'v' // v ino id → Version
	pfxXattr       = 'x' // x ino name → raw value
	pfxInline      = 'p' // p part → sealed part bytes (small files)
	pfxDeleted     = 'D' // D ino → deletedRecord: objects whose last name was unlinked
	pfxTomb        = 'T' // T parent name → tombRecord: the deleted object last known by that name
	pfxRule        = 'L' // L dir-ino → ruleRecord: lifecycle rule of that directory (root: the store's)
	pfxOrphan      = 'O' // O ino → orphanRecord: no name and nothing to keep; purged on forget or at open
	pfxDirSSE      = 'E' // E dir-ino → dirSSERecord: SSE default of the directory
	pfxLock        = 'R' // R ino id → lockRecord: object lock of one version
	pfxLockDefault = 'W' // W ino → lockDefaultRecord: default retention
	pfxAudit       = 'A' // A time-ns → auditRecord; keys sort by time
	pfxRotation    = 'k' // k key-name → rotationRecord: an unfinished key rotation
)

// Keys of the Badger sequences that allocate ids.
var (
	seqIno  = []byte("s/ino")
	seqPart = []byte("s/part")
)

// inoKey is prefix p ‖ ino: the whole key of a per-object record, and the
// prefix of every key of one object under p (versions, xattrs, locks).
func inoKey(p byte, ino Ino) []byte {
	k := make([]byte, 9, 9+8)
	k[0] = p
	binary.BigEndian.PutUint64(k[1:], uint64(ino))
	return k
}

// inoIDKey is prefix p ‖ ino ‖ id, the key of one version's record.
func inoIDKey(p byte, ino Ino, id uint64) []byte {
	return binary.BigEndian.AppendUint64(inoKey(p, ino), id)
}

// prefixKey is the one-byte prefix that every key of a kind starts with,
// for scans of the whole kind.
func prefixKey(p byte) []byte { return []byte{p} }

func inodeKey(ino Ino) []byte                  { return inoKey(pfxInode, ino) }
func direntKey(parent Ino, name string) []byte { return append(inoKey(pfxDirent, parent), name...) }
func versionKey(ino Ino, id uint64) []byte     { return inoIDKey(pfxVersion, ino, id) }
func xattrKey(ino Ino, name string) []byte     { return append(inoKey(pfxXattr, ino), name...) }
func tombKey(parent Ino, name string) []byte   { return append(inoKey(pfxTomb, parent), name...) }
func deletedKey(ino Ino) []byte                { return inoKey(pfxDeleted, ino) }
func orphanKey(ino Ino) []byte                 { return inoKey(pfxOrphan, ino) }
func ruleKey(dir Ino) []byte                   { return inoKey(pfxRule, dir) }
func dirSSEKey(dir Ino) []byte                 { return inoKey(pfxDirSSE, dir) }
func lockKey(ino Ino, id uint64) []byte        { return inoIDKey(pfxLock, ino, id) }
func lockDefaultKey(ino Ino) []byte            { return inoKey(pfxLockDefault, ino) }
func rotationKey(name string) []byte           { return append(prefixKey(pfxRotation), name...) }

func inlineKey(part chunkstore.PartID) []byte {
	return binary.BigEndian.AppendUint64(prefixKey(pfxInline), uint64(part))
}

func auditKey(ns int64) []byte {
	return binary.BigEndian.AppendUint64(prefixKey(pfxAudit), uint64(ns))
}

// Prefixes of all keys of one object (or directory) under one kind.
func xattrPrefix(ino Ino) []byte   { return inoKey(pfxXattr, ino) }
func versionPrefix(ino Ino) []byte { return inoKey(pfxVersion, ino) }
func lockPrefix(ino Ino) []byte    { return inoKey(pfxLock, ino) }
func direntPrefix(dir Ino) []byte  { return inoKey(pfxDirent, dir) }
func tombPrefix(dir Ino) []byte    { return inoKey(pfxTomb, dir) }

// keyIno is the object id of a key built by inoKey or inoIDKey.
func keyIno(k []byte) Ino { return Ino(binary.BigEndian.Uint64(k[1:9])) }

// keyName is the name in a key built from inoKey ‖ name (dirents, tombstones).
func keyName(k []byte) string { return string(k[9:]) }

// keyID is the version id of a key built by inoIDKey.
func keyID(k []byte) uint64 { return binary.BigEndian.Uint64(k[9:17]) }
