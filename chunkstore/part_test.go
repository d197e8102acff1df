package chunkstore

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/minio/sio"
	"github.com/ssefs/ssefs/dare"
)

var ciphers = []dare.Cipher{dare.AES256GCM, dare.ChaCha20Poly1305}

func randBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPartKeyGolden pins the derivation to HMAC-SHA256(OEK, BE64(id));
// the expected values come from Python's hmac module.
func TestPartKeyGolden(t *testing.T) {
	oek := make([]byte, 32)
	for i := range oek {
		oek[i] = byte(i)
	}
	for _, tc := range []struct {
		id   PartID
		want string
	}{
		{0, "9f0cd9b94097fe4929918d2b8942b34439574261a35dc50163f06c67d4e48899"},
		{1, "c432e059c378eef7fe2f1181a4050836f51e0856fd74937be81784fa0efa7a1c"},
		{0x0102030405060708, "5ea9633fb4bd1788197520638af1f7a6f31ebe0ab983ff0f1f20db34c8b804b0"},
	} {
		k := PartKey(oek, tc.id)
		if got := hex.EncodeToString(k[:]); got != tc.want {
			t.Errorf("PartKey(%v) = %s, want %s", tc.id, got, tc.want)
		}
	}
}

func TestPartKeyDistinct(t *testing.T) {
	a, b := randBytes(t, 32), randBytes(t, 32)
	seen := map[[32]byte]string{}
	for _, oek := range [][]byte{a, b} {
		for _, id := range []PartID{0, 1, 2, 1 << 8, 1 << 56, ^PartID(0)} {
			k := PartKey(oek, id)
			what := fmt.Sprintf("oek %x id %v", oek[:4], id)
			if prev, dup := seen[k]; dup {
				t.Errorf("%s and %s share a part key", what, prev)
			}
			seen[k] = what
		}
	}
}

func TestSealOpenPart(t *testing.T) {
	for _, c := range ciphers {
		for _, size := range []int{0, 1, dare.PackageSize + 1, 4 << 20} {
			oek, pt := randBytes(t, 32), randBytes(t, size)
			sealed, err := SealPart(c, oek, 7, pt)
			if err != nil {
				t.Fatal(err)
			}
			got, err := OpenPart(oek, 7, sealed)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("%v/%d: OpenPart = %d bytes, %v", c, size, len(got), err)
			}
			if size == 0 {
				continue // an empty part has no bytes to authenticate
			}
			if _, err := OpenPart(oek, 8, sealed); !errors.Is(err, dare.ErrAuthentication) {
				t.Errorf("%v/%d: opened under another part id: %v", c, size, err)
			}
			if _, err := OpenPart(randBytes(t, 32), 7, sealed); !errors.Is(err, dare.ErrAuthentication) {
				t.Errorf("%v/%d: opened under another object key: %v", c, size, err)
			}
			p := make([]byte, 10)
			if _, err := ReadPartAt(oek, 8, bytes.NewReader(sealed), int64(len(sealed)), p, 0); !errors.Is(err, dare.ErrAuthentication) {
				t.Errorf("%v/%d: ReadPartAt under another part id: %v", c, size, err)
			}
		}
	}
}

func TestObjectKeySize(t *testing.T) {
	if _, err := SealPart(dare.AES256GCM, make([]byte, 16), 1, []byte("x")); !errors.Is(err, ErrObjectKey) {
		t.Errorf("SealPart with 16-byte OEK: %v", err)
	}
	if _, err := OpenPart(nil, 1, []byte("x")); !errors.Is(err, ErrObjectKey) {
		t.Errorf("OpenPart with no OEK: %v", err)
	}
	if _, err := ReadPartAt(nil, 1, bytes.NewReader(nil), 0, make([]byte, 1), 0); !errors.Is(err, ErrObjectKey) {
		t.Errorf("ReadPartAt with no OEK: %v", err)
	}
}

// TestPartsThroughDir stores parts in a Dir and checks them with sio as an
// independent oracle (raw bytes from disk, key from PartKey) and with
// ReadPartAt at several offsets.
func TestPartsThroughDir(t *testing.T) {
	d := openTestDir(t)
	for i, c := range ciphers {
		oek, pt := randBytes(t, 32), randBytes(t, 3*dare.PackageSize+17)
		id := PartID(100 + i)
		sealed, err := SealPart(c, oek, id, pt)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Write(id, sealed); err != nil {
			t.Fatal(err)
		}
		size, err := d.Size(id)
		if err != nil || size != int64(len(sealed)) {
			t.Fatalf("Size = %d, %v; want %d", size, err, len(sealed))
		}
		raw := make([]byte, size)
		if _, err := d.ReadAt(id, raw, 0); err != nil {
			t.Fatal(err)
		}
		key := PartKey(oek, id)
		got, err := sio.DecryptBuffer(nil, raw, sio.Config{
			MinVersion: sio.Version20, MaxVersion: sio.Version20,
			CipherSuites: []byte{byte(c)}, Key: key[:],
		})
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%v: sio could not open the stored part: %v", c, err)
		}
		for _, rg := range [][2]int{{0, 10}, {dare.PackageSize - 3, 10}, {2*dare.PackageSize + 1, dare.PackageSize + 16}, {len(pt) - 5, 100}} {
			p := make([]byte, rg[1])
			n, err := ReadPartAt(oek, id, d.Reader(id, size), size, p, int64(rg[0]))
			want := pt[rg[0]:min(rg[0]+rg[1], len(pt))]
			if n != len(want) || !bytes.Equal(p[:n], want) || (err != nil && err != io.EOF) {
				t.Errorf("%v: ReadPartAt(%d, %d) = %d, %v", c, rg[0], rg[1], n, err)
			}
		}
	}
}
