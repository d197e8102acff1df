package object

import "encoding/binary"

// Key prefixes of the metadata database. One byte each; docs/FORMAT.md lists them.
const (
	pfxInode   = 'i' // i ino → Inode
	pfxDirent  = 'd' // d parent name → Dirent
	pfxVersion = 'v' // v ino id → Version
	pfxXattr   = 'x' // x ino name → value
	pfxInline  = 'p' // p part → sealed part bytes (small files)
	pfxDeleted = 'D' // D ino → parent ino ‖ name: objects whose last name was unlinked
	pfxTomb    = 'T' // T parent name → ino: the deleted object last known by that name
	pfxRule    = 'L' // L dir-ino → lifecycle rule of that directory (root: the store's)
	pfxOrphan  = 'O' // O ino → empty: no name and nothing to keep; purged on forget or at open
)

var (
	seqIno  = []byte("s/ino")
	seqPart = []byte("s/part")
)

func inoKey(p byte, ino Ino) []byte {
	k := make([]byte, 9, 9+8)
	k[0] = p
	binary.BigEndian.PutUint64(k[1:], uint64(ino))
	return k
}

func inodeKey(ino Ino) []byte { return inoKey(pfxInode, ino) }

func direntKey(parent Ino, name string) []byte { return append(inoKey(pfxDirent, parent), name...) }

func versionKey(ino Ino, id uint64) []byte {
	return binary.BigEndian.AppendUint64(inoKey(pfxVersion, ino), id)
}

func xattrKey(ino Ino, name string) []byte { return append(inoKey(pfxXattr, ino), name...) }

func inlineKey(part uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{pfxInline}, part)
}

func tombKey(parent Ino, name string) []byte { return append(inoKey(pfxTomb, parent), name...) }
