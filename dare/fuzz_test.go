package dare

import (
	"bytes"
	"testing"
)

// FuzzDecrypt feeds arbitrary bytes to Decrypt and DecryptAt: they must not
// panic, and every failure must be an authentication or format error.
func FuzzDecrypt(f *testing.F) {
	key := bytes.Repeat([]byte{7}, 32)
	for _, c := range ciphers {
		for _, size := range []int{1, 40, PackageSize + 3} {
			ct, err := Encrypt(c, key, bytes.Repeat([]byte{1}, size))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(ct, int64(0), uint16(10))
			f.Add(ct[:len(ct)-1], int64(size/2), uint16(100))
		}
	}
	f.Add([]byte{}, int64(0), uint16(0))
	f.Add(make([]byte, HeaderSize+TagSize+1), int64(0), uint16(1))
	f.Fuzz(func(t *testing.T, data []byte, off int64, n uint16) {
		if _, err := Decrypt(key, data); err != nil && !rejected(err) {
			t.Fatalf("Decrypt: unexpected error class: %v", err)
		}
		if off < 0 {
			off = -off
		}
		_, err := DecryptAt(key, bytes.NewReader(data), int64(len(data)), make([]byte, n), off%(1<<20))
		if err != nil && err.Error() != "EOF" && !rejected(err) {
			t.Fatalf("DecryptAt: unexpected error class: %v", err)
		}
	})
}
