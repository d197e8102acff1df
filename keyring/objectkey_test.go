package keyring

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/minio/sio"
	"github.com/ssefs/ssefs/dare"
)

// Fixed inputs of the golden vectors.
var (
	goldenExt     = seq(0, 32)
	goldenIV      = [32]byte(seq(32, 32))
	goldenOEK     = ObjectKey(seq(64, 32))
	goldenStoreID = []byte("0123456789abcdef")
)

const goldenObjectID = 0x0102030405060708

func seq(start, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(start + i)
	}
	return b
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// KEKs computed independently with Python's hmac module:
// hmac.new(ext, iv + domain + b"DAREv2-HMAC-SHA256" + store_id + struct.pack(">Q", oid), sha256).
func TestKEKGolden(t *testing.T) {
	tests := []struct {
		d    Domain
		want string
	}{
		{DomainSSES3, "0e711ceea1ba3cb0d457a624dfabd2b164e6432102e845b1e32c89dd1319a68c"},
		{DomainSSEKMS, "e7986f33aa75a3116c63b1bdf2d1eb105781edc2f159bf22f4f759e3fff7a8d5"},
		{DomainSSEC, "d3b33d1af3b252f3bf5eb77c7c5005f5f7e13e7190fa3a8a8730dbf93bfa5fe2"},
	}
	for _, tc := range tests {
		kek, err := deriveKEK(goldenExt, &goldenIV, tc.d, goldenStoreID, goldenObjectID)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(kek[:]); got != tc.want {
			t.Errorf("%s: KEK %s, want %s", tc.d, got, tc.want)
		}
	}
}

// Sealed OEK records made once by this package; they must unseal forever, and
// github.com/minio/sio must decrypt the sealed part with the Python-computed KEK.
func TestSealedKeyGolden(t *testing.T) {
	tests := []struct {
		d      Domain
		kek    string
		record string
	}{
		{DomainSSES3, "0e711ceea1ba3cb0d457a624dfabd2b164e6432102e845b1e32c89dd1319a68c",
			"01202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f20001f00e49ec88e5af04bbd20efa0ce7b27aef61ad52d8476bf19835244ea109459fb6c17f82e98df4d3b99de0df6afec957a20ed37c2b7175c7d1770b569ba"},
		{DomainSSEC, "d3b33d1af3b252f3bf5eb77c7c5005f5f7e13e7190fa3a8a8730dbf93bfa5fe2",
			"01202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f20011f00ad0045f693b0f0f04a015e88f5cf1ead12fd12d4ab84a65036002d37fd421622b61d85d58f1b4ac0fc837e84d3bd0de75a8f8a3e13e537c9760663dc"},
	}
	for _, tc := range tests {
		t.Run(string(tc.d), func(t *testing.T) {
			raw := mustHex(t, tc.record)
			var s SealedKey
			if err := s.UnmarshalBinary(raw); err != nil {
				t.Fatal(err)
			}
			if s.IV != goldenIV {
				t.Fatal("IV not at bytes 1..33")
			}
			oek, err := s.Unseal(goldenExt, tc.d, goldenStoreID, goldenObjectID)
			if err != nil {
				t.Fatal(err)
			}
			if oek != goldenOEK {
				t.Fatalf("OEK %x", oek[:])
			}
			back, _ := s.MarshalBinary()
			if !bytes.Equal(back, raw) {
				t.Fatal("marshal does not round-trip")
			}
			out, err := sio.DecryptBuffer(nil, s.Sealed[:], sio.Config{Key: mustHex(t, tc.kek), MinVersion: sio.Version20})
			if err != nil || !bytes.Equal(out, goldenOEK[:]) {
				t.Fatalf("sio oracle: %v", err)
			}
		})
	}
}

func TestSealUnsealObjectKey(t *testing.T) {
	oek, err := NewObjectKey()
	if err != nil {
		t.Fatal(err)
	}
	if oek2, _ := NewObjectKey(); oek2 == oek {
		t.Fatal("two OEKs are equal")
	}
	ext := seq(1, 32)
	store := []byte("store-1")
	for _, c := range []dare.Cipher{dare.AES256GCM, dare.ChaCha20Poly1305} {
		t.Run(c.String(), func(t *testing.T) {
			s, err := SealObjectKey(c, ext, DomainSSEKMS, store, 77, oek)
			if err != nil {
				t.Fatal(err)
			}
			if got := dare.Cipher(s.Sealed[1]); got != c {
				t.Fatalf("sealed with cipher %v, want %v", got, c)
			}
			s2, _ := SealObjectKey(c, ext, DomainSSEKMS, store, 77, oek)
			if s2.IV == s.IV || s2.Sealed == s.Sealed {
				t.Fatal("two seals share IV or bytes")
			}
			got, err := s.Unseal(ext, DomainSSEKMS, store, 77)
			if err != nil || got != oek {
				t.Fatalf("round trip: %v", err)
			}
			otherExt := bytes.Clone(ext)
			otherExt[31] ^= 1
			badIV, badSealed := s, s
			badIV.IV[0] ^= 1
			badSealed.Sealed[40] ^= 1
			tests := []struct {
				name  string
				s     SealedKey
				ext   []byte
				d     Domain
				store []byte
				obj   uint64
			}{
				{"other object id", s, ext, DomainSSEKMS, store, 78},
				{"other store id", s, ext, DomainSSEKMS, []byte("store-2"), 77},
				{"empty store id", s, ext, DomainSSEKMS, nil, 77},
				{"domain SSE-S3", s, ext, DomainSSES3, store, 77},
				{"domain SSE-C", s, ext, DomainSSEC, store, 77},
				{"other external key", s, otherExt, DomainSSEKMS, store, 77},
				{"tampered IV", badIV, ext, DomainSSEKMS, store, 77},
				{"tampered sealed", badSealed, ext, DomainSSEKMS, store, 77},
				{"zero record", SealedKey{}, ext, DomainSSEKMS, store, 77},
			}
			for _, tc := range tests {
				got, err := tc.s.Unseal(tc.ext, tc.d, tc.store, tc.obj)
				if !errors.Is(err, ErrUnseal) {
					t.Errorf("%s: err = %v, want ErrUnseal", tc.name, err)
				}
				if got != (ObjectKey{}) {
					t.Errorf("%s: key bytes returned with an error", tc.name)
				}
			}
		})
	}
}

func TestSealObjectKeyMisuse(t *testing.T) {
	oek := goldenOEK
	tests := []struct {
		name string
		c    dare.Cipher
		ext  []byte
		d    Domain
		want string
	}{
		{"short external key", dare.AES256GCM, seq(0, 16), DomainSSES3, "external key"},
		{"long external key", dare.AES256GCM, seq(0, 44), DomainSSES3, "external key"},
		{"unknown domain", dare.AES256GCM, seq(0, 32), Domain("sse-s3"), "domain"},
		{"unknown cipher", dare.Cipher(7), seq(0, 32), DomainSSES3, "cipher"},
	}
	for _, tc := range tests {
		_, err := SealObjectKey(tc.c, tc.ext, tc.d, nil, 1, oek)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
	s, _ := SealObjectKey(dare.AES256GCM, seq(0, 32), DomainSSES3, nil, 1, oek)
	if _, err := s.Unseal(seq(0, 31), DomainSSES3, nil, 1); err == nil {
		t.Error("unsealed with a short external key")
	}
}

func TestSealedKeyUnmarshal(t *testing.T) {
	good, _ := (SealedKey{IV: goldenIV}).MarshalBinary()
	if len(good) != SealedKeySize || good[0] != 1 {
		t.Fatalf("record %x", good)
	}
	bad := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "0 bytes"},
		{"short", good[:96], "96 bytes"},
		{"long", append(bytes.Clone(good), 0), "98 bytes"},
		{"version 0", bad(func(b []byte) []byte { b[0] = 0; return b }), "version 0"},
		{"version 2", bad(func(b []byte) []byte { b[0] = 2; return b }), "version 2"},
	}
	for _, tc := range tests {
		var s SealedKey
		if err := s.UnmarshalBinary(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
}

// deriveKEK's hand-written HMAC must agree with crypto/hmac for every store id length,
// including ones that spill past its stack buffer.
func TestDeriveKEKMatchesCryptoHMAC(t *testing.T) {
	ext := seq(9, 32)
	for _, n := range []int{0, 1, 16, 93, 94, 200, 1000} {
		store := seq(n, n)
		for _, d := range []Domain{DomainSSES3, DomainSSEKMS, DomainSSEC} {
			got, err := deriveKEK(ext, &goldenIV, d, store, uint64(n)<<40|7)
			if err != nil {
				t.Fatal(err)
			}
			m := hmac.New(sha256.New, ext)
			m.Write(goldenIV[:])
			m.Write([]byte(d))
			m.Write([]byte("DAREv2-HMAC-SHA256"))
			m.Write(store)
			m.Write(binary.BigEndian.AppendUint64(nil, uint64(n)<<40|7))
			if want := m.Sum(nil); !bytes.Equal(got[:], want) {
				t.Fatalf("store id len %d, %s: %x != %x", n, d, got, want)
			}
		}
	}
}
