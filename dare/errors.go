package dare

import (
	"errors"
	"fmt"
)

var (
	// ErrAuthentication reports ciphertext that did not authenticate: tampered,
	// truncated, reordered, spliced or extended data, or a wrong key.
	ErrAuthentication = errors.New("dare: authentication failed")

	// ErrFormat reports input that cannot be a DARE 2.0 stream at all. The
	// more specific version and cipher errors below match it too.
	ErrFormat = errors.New("dare: malformed stream")

	// ErrUnsupportedVersion reports a header whose version byte is not 0x20.
	ErrUnsupportedVersion = fmt.Errorf("%w: unsupported version", ErrFormat)

	// ErrUnsupportedCipher reports an unknown cipher byte or cipher name.
	ErrUnsupportedCipher = fmt.Errorf("%w: unsupported cipher", ErrFormat)

	// ErrKeySize reports a key that is not 32 bytes long.
	ErrKeySize = errors.New("dare: key must be 32 bytes")
)

// authErr wraps ErrAuthentication with the package index, so logs can say
// which part of a stream failed without weakening errors.Is checks.
func authErr(index int64, why string) error {
	return fmt.Errorf("%w: package %d: %s", ErrAuthentication, index, why)
}
