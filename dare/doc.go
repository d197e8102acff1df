// Package dare implements DARE 2.0, the authenticated encryption format of
// github.com/minio/sio, byte for byte.
//
// A stream is a sequence of packages. Each package is a 16-byte header, up to
// PackageSize bytes of AEAD ciphertext and a 16-byte tag; every package but
// the last carries exactly PackageSize plaintext bytes. The header layout,
// nonce derivation and the security argument are in docs/FORMAT.md.
//
// The API is buffer oriented because ssefs parts are bounded in size:
// Encrypt and Decrypt work on whole streams (splitting large ones across
// CPUs), DecryptAt decrypts only the packages a random read touches.
//
// Every decryption either returns plaintext that authenticated or an error
// matching ErrAuthentication or ErrFormat; callers must treat both as "do not
// trust these bytes". DARE cannot detect truncation of a stream to zero
// bytes, so callers authenticate the stream size elsewhere.
package dare
