package dare

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"testing"

	"github.com/minio/sio"
)

var ciphers = []Cipher{AES256GCM, ChaCha20Poly1305}

// oracleSizes are the plaintext sizes the sio cross-checks cover: one byte,
// both sides of a package boundary, several packages, and a large odd size.
var oracleSizes = []int{1, 65535, 65536, 65537, 3 * 65536, 3<<20 + 17}

func sioConfig(c Cipher, key []byte) sio.Config {
	return sio.Config{
		MinVersion:   sio.Version20,
		MaxVersion:   sio.Version20,
		CipherSuites: []byte{byte(c)},
		Key:          key,
	}
}

func randBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOursToSio: sio must decrypt what we encrypt, via both its buffer and
// its streaming decrypter.
func TestOursToSio(t *testing.T) {
	for _, c := range ciphers {
		for _, size := range oracleSizes {
			t.Run(fmt.Sprintf("%s/%d", c, size), func(t *testing.T) {
				key, pt := randBytes(t, 32), randBytes(t, size)
				ct, err := Encrypt(c, key, pt)
				if err != nil {
					t.Fatal(err)
				}
				if int64(len(ct)) != EncryptedSize(int64(size)) {
					t.Fatalf("len %d, EncryptedSize %d", len(ct), EncryptedSize(int64(size)))
				}
				got, err := sio.DecryptBuffer(nil, ct, sioConfig(c, key))
				if err != nil {
					t.Fatalf("sio.DecryptBuffer: %v", err)
				}
				if !bytes.Equal(got, pt) {
					t.Fatal("sio.DecryptBuffer: plaintext differs")
				}
				r, err := sio.DecryptReader(bytes.NewReader(ct), sioConfig(c, key))
				if err != nil {
					t.Fatal(err)
				}
				got, err = io.ReadAll(r)
				if err != nil {
					t.Fatalf("sio.DecryptReader: %v", err)
				}
				if !bytes.Equal(got, pt) {
					t.Fatal("sio.DecryptReader: plaintext differs")
				}
			})
		}
	}
}

// TestSioToOurs: we must decrypt what sio encrypts, whole and at random
// offsets.
func TestSioToOurs(t *testing.T) {
	for _, c := range ciphers {
		for _, size := range oracleSizes {
			t.Run(fmt.Sprintf("%s/%d", c, size), func(t *testing.T) {
				key, pt := randBytes(t, 32), randBytes(t, size)
				var buf bytes.Buffer
				if _, err := sio.Encrypt(&buf, bytes.NewReader(pt), sioConfig(c, key)); err != nil {
					t.Fatal(err)
				}
				ct := buf.Bytes()
				if ct[1] != byte(c) {
					t.Fatalf("sio used cipher %d", ct[1])
				}
				got, err := Decrypt(key, ct)
				if err != nil {
					t.Fatalf("Decrypt: %v", err)
				}
				if !bytes.Equal(got, pt) {
					t.Fatal("Decrypt: plaintext differs")
				}
				sealed := bytes.Clone(ct)
				for _, rg := range readRanges(size) {
					for kind, r := range readersOf(ct) {
						p := make([]byte, rg[1])
						n, err := DecryptAt(key, r, int64(len(ct)), p, int64(rg[0]))
						want := pt[min(rg[0], size):min(rg[0]+rg[1], size)]
						if n != len(want) || !bytes.Equal(p[:n], want) {
							t.Fatalf("DecryptAt(off %d, len %d, %s) = %d bytes, want %d (err %v)", rg[0], rg[1], kind, n, len(want), err)
						}
						if wantEOF := rg[0]+rg[1] > size; wantEOF != (err == io.EOF) || (!wantEOF && err != nil) {
							t.Fatalf("DecryptAt(off %d, len %d, %s): err %v", rg[0], rg[1], kind, err)
						}
					}
				}
				if !bytes.Equal(ct, sealed) {
					t.Fatal("DecryptAt changed an in-memory stream")
				}
			})
		}
	}
}

// TestSameBytesAsSio: given the same nonce, our stream is sio's stream.
func TestSameBytesAsSio(t *testing.T) {
	for _, c := range ciphers {
		for _, size := range append([]int{0}, oracleSizes...) {
			key, pt := randBytes(t, 32), randBytes(t, size)
			var nonce [12]byte
			copy(nonce[:], randBytes(t, 12))
			ours, err := encryptWithNonce(nil, c, key, &nonce, pt)
			if err != nil {
				t.Fatal(err)
			}
			cfg := sioConfig(c, key)
			cfg.Nonce = &nonce
			var theirs bytes.Buffer
			if _, err := sio.Encrypt(&theirs, bytes.NewReader(pt), cfg); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ours, theirs.Bytes()) {
				t.Errorf("%s/%d: stream differs from sio's", c, size)
			}
			sz, err := sio.EncryptedSize(uint64(size))
			if err != nil || int64(sz) != EncryptedSize(int64(size)) {
				t.Errorf("EncryptedSize(%d) = %d, sio %d (%v)", size, EncryptedSize(int64(size)), sz, err)
			}
		}
	}
}

// readRanges returns (offset, length) pairs covering the interesting cases
// for a plaintext of size bytes: starts mid-package, spans packages, ends
// exactly at and beyond the end, starts at and beyond the end.
func readRanges(size int) [][2]int {
	rs := [][2]int{
		{0, 1}, {0, size}, {0, size + 10},
		{size / 2, 1}, {size / 3, size / 2},
		{size - 1, 1}, {size - 1, 100},
		{size, 1}, {size + 5, 10},
	}
	if size > PackageSize {
		rs = append(rs,
			[2]int{PackageSize - 100, 200},           // across the first boundary
			[2]int{PackageSize, PackageSize},         // exactly the second package
			[2]int{PackageSize + 7, 2 * PackageSize}, // mid-package, spans packages
		)
	}
	if size > 5*PackageSize {
		rs = append(rs, [2]int{PackageSize + 3, 5 * PackageSize}) // parallel path
	}
	var out [][2]int
	for _, r := range rs {
		if r[0] >= 0 && r[1] > 0 {
			out = append(out, r)
		}
	}
	return out
}

// TestEncryptToReusesDirtyBuffer checks that sealing into a reused buffer
// full of old bytes gives exactly the stream a fresh buffer gives.
func TestEncryptToReusesDirtyBuffer(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	var nonce [12]byte
	nonce[3] = 9
	dirty := bytes.Repeat([]byte{0xAA}, 4<<20)
	for _, n := range []int{1, 65535, 65536, 65537, 3*65536 + 5} {
		pt := bytes.Repeat([]byte{byte(n)}, n)
		want, err := encryptWithNonce(nil, AES256GCM, key, &nonce, pt)
		if err != nil {
			t.Fatal(err)
		}
		got, err := encryptWithNonce(dirty, AES256GCM, key, &nonce, pt)
		if err != nil || !bytes.Equal(got, want) || &got[0] != &dirty[0] {
			t.Fatalf("size %d: reused buffer gives a different stream (or was not reused): %v", n, err)
		}
		back, err := Decrypt(key, got)
		if err != nil || !bytes.Equal(back, pt) {
			t.Fatalf("size %d: %v", n, err)
		}
	}
}

// TestEncryptPackagesSameStream: sealing package-sized pieces gives the
// same bytes (and so sio's) as sealing their concatenation, and a split
// that is not package-aligned is refused.
func TestEncryptPackagesSameStream(t *testing.T) {
	for _, c := range ciphers {
		for _, size := range oracleSizes {
			key, pt := randBytes(t, 32), randBytes(t, size)
			var nonce [12]byte
			copy(nonce[:], randBytes(t, 12))
			var pkgs [][]byte
			for off := 0; off < size; off += PackageSize {
				pkgs = append(pkgs, pt[off:min(size, off+PackageSize)])
			}
			want, err := encryptWithNonce(nil, c, key, &nonce, pt)
			if err != nil {
				t.Fatal(err)
			}
			got, err := encryptPackagesWithNonce(nil, c, key, &nonce, pkgs)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s/%d: package-wise stream differs (%v)", c, size, err)
			}
		}
	}
	key := randBytes(t, 32)
	for _, bad := range [][]int{{PackageSize - 1, 10}, {PackageSize + 1}, {0}, {PackageSize, 0}} {
		var pkgs [][]byte
		for _, n := range bad {
			pkgs = append(pkgs, make([]byte, n))
		}
		if _, err := EncryptPackagesTo(nil, AES256GCM, key, pkgs); err == nil {
			t.Errorf("packages of %v bytes: sealed, want an error", bad)
		}
	}
}
