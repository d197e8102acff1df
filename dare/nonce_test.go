package dare

import (
	"bytes"
	"fmt"
	"testing"
)

// TestSealingsNeverRepeat: every public sealing path draws a fresh stream
// nonce, so sealing the same plaintext under the same key twice gives
// streams that share no package header and no package ciphertext. A fixed
// or reused nonce (on any path: whole buffer, package by package, the
// parallel encryption of large streams) would repeat AES-GCM nonces under
// one key, which reveals the XOR of plaintexts and the authentication key.
func TestSealingsNeverRepeat(t *testing.T) {
	paths := []struct {
		name string
		seal func(c Cipher, key, pt []byte) ([]byte, error)
	}{
		{"Encrypt", func(c Cipher, key, pt []byte) ([]byte, error) { return Encrypt(c, key, pt) }},
		{"EncryptTo", func(c Cipher, key, pt []byte) ([]byte, error) {
			return EncryptTo(make([]byte, 0, EncryptedSize(int64(len(pt)))), c, key, pt)
		}},
		{"EncryptPackagesTo", func(c Cipher, key, pt []byte) ([]byte, error) {
			var pkgs [][]byte
			for off := 0; off < len(pt); off += PackageSize {
				pkgs = append(pkgs, pt[off:min(len(pt), off+PackageSize)])
			}
			return EncryptPackagesTo(nil, c, key, pkgs)
		}},
	}
	for _, c := range ciphers {
		for _, size := range oracleSizes {
			key, pt := randBytes(t, 32), randBytes(t, size)
			var streams [][]byte
			for _, p := range paths {
				for range 2 {
					s, err := p.seal(c, key, pt)
					if err != nil {
						t.Fatalf("%s %s/%d: %v", p.name, c, size, err)
					}
					if got, err := Decrypt(key, s); err != nil || !bytes.Equal(got, pt) {
						t.Fatalf("%s %s/%d: does not decrypt to the plaintext (%v)", p.name, c, size, err)
					}
					streams = append(streams, s)
				}
			}
			// No stream nonce (header bytes 4..16 of the first package,
			// the final-package flag masked) and no package ciphertext may
			// appear twice across all sealings, within or between them.
			seen := map[string]string{}
			check := func(b []byte, where string) {
				if prev, ok := seen[string(b)]; ok {
					t.Fatalf("%s/%d: %s repeats %s: a reused nonce", c, size, where, prev)
				}
				seen[string(b)] = where
			}
			for i, s := range streams {
				name := fmt.Sprintf("%s #%d", paths[i/2].name, i%2+1)
				nonce := bytes.Clone(s[4:HeaderSize])
				nonce[0] &^= 0x80
				check(nonce, name+" nonce")
				for off, k := 0, 0; off < len(s); off, k = off+packageLen, k+1 {
					check(s[off+HeaderSize:min(len(s), off+packageLen)], fmt.Sprintf("%s package %d", name, k))
				}
			}
		}
	}
}
