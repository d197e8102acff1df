package dare

import "fmt"

// Format constants. PackageSize is the plaintext carried by every package but
// the last; Overhead is what each package adds to its plaintext.
const (
	PackageSize = 65536
	HeaderSize  = 16
	TagSize     = 16
	Overhead    = HeaderSize + TagSize
)

const (
	// packageLen is the encrypted length of a full package.
	packageLen = PackageSize + Overhead
	// maxPlainSize bounds a stream so sequence numbers fit in 32 bits
	// (the same limit as sio).
	maxPlainSize = int64(PackageSize) << 32
	// maxEncSize is EncryptedSize(maxPlainSize).
	maxEncSize = int64(packageLen) << 32
)

// EncryptedSize is the stream length Encrypt produces for plain bytes (0 for
// 0, like sio). It returns -1 when plain is negative or above the 2^48-byte
// limit of the format.
func EncryptedSize(plain int64) int64 {
	if plain < 0 || plain > maxPlainSize {
		return -1
	}
	enc := plain / PackageSize * packageLen
	if rem := plain % PackageSize; rem > 0 {
		enc += rem + Overhead
	}
	return enc
}

// DecryptedSize inverts EncryptedSize. Sizes no stream can have (a trailing
// package of Overhead bytes or fewer, negative, beyond the format's limit)
// are an ErrFormat error, which lets readers reject truncated streams
// before touching them.
func DecryptedSize(enc int64) (int64, error) {
	if enc < 0 || enc > maxEncSize {
		return 0, fmt.Errorf("%w: encrypted size %d out of range", ErrFormat, enc)
	}
	plain := enc / packageLen * PackageSize
	if rem := enc % packageLen; rem > 0 {
		if rem <= Overhead {
			return 0, fmt.Errorf("%w: encrypted size %d leaves a %d-byte package", ErrFormat, enc, rem)
		}
		plain += rem - Overhead
	}
	return plain, nil
}

// PackageOf maps a plaintext offset to the package holding it and the offset
// within that package's plaintext.
func PackageOf(plainOff int64) (index int64, within int64) {
	return plainOff / PackageSize, plainOff % PackageSize
}

// layout describes how a stream of a given encrypted size splits into
// packages: all full except possibly the last.
type layout struct {
	plain    int64 // plaintext bytes
	packages int64 // number of packages (0 for an empty stream)
	lastLen  int   // plaintext bytes in the last package
}

func layoutOf(enc int64) (layout, error) {
	plain, err := DecryptedSize(enc)
	if err != nil {
		return layout{}, err
	}
	l := layout{plain: plain, packages: (plain + PackageSize - 1) / PackageSize}
	if l.packages > 0 {
		l.lastLen = int(plain - (l.packages-1)*PackageSize)
	}
	return l, nil
}

// payloadLen is the plaintext length of package i.
func (l layout) payloadLen(i int64) int {
	if i == l.packages-1 {
		return l.lastLen
	}
	return PackageSize
}

// encOffset is where package i starts in the stream.
func (l layout) encOffset(i int64) int64 { return i * packageLen }
