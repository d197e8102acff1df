package keyring

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A keyring made by the first release (master key 0x80..0x9f): key "golden" (live),
// "sse-s3" (sealed), and the tombstone of a deleted key "doomed". Every later release
// must open it and decrypt its DEKs.
var goldenKeyring = map[string]string{
	"77fc52902b9dea5010481dd016583beb.key": "53464b52010177fc52902b9dea5010481dd016583beb35bd97661ed1d234998f8961de31594950e91fb365af39cd55fa6a92bebd8e66b77afb1f302a52e65e97a3b425b8f5c3acdd2ef7af4cd4d727922dfbe0c51c0878e9d0f2223934b2ab965b9ed676752780c80a98c0a1da9222da2303cb1bfe4c8fc6ef81fdec0160e78c085ddce43f4129821a3be44364b99c57c8d8d791b3f50e62194d2a7f",
	"7bdcf0a7bbe0a707ea82e49aab91b100.key": "53464b5201017bdcf0a7bbe0a707ea82e49aab91b1000ac84bd9a72a7c9a7c4751ca845665902f15eb329d49aff45c6af57e3359ea31c9df6912f2ae7290f81bedcf63d284a71f99275385d650fa6e810828b1a1e481148b6918dcb18f2e1559a8dc67ef3b6d0aa3681b0b6160c023e23a89becb423016d6d2c40cbb4c61ff5c53f4bff15756f7c7ff8cce54b5d45cd371d1fe571e5c8db5e1b9cf7b",
	"tombstones":                           "53464b52010300000000000000000000000000000000621f8d175c078bc7f007a30dbc8609a68df0b72769f5b0dd79143dd7e75e83558a8192f6384915be5bb449f32861ebad",
	"verifier":                             "53464b520102000000000000000000000000000000005f4dc2193d98728d30a1d528e08fa88e275aca6b9340d7757b0ebe17e212f9a56dc3f0bbaa7c91710f76064fcce17ea5d4686ce504",
}

const (
	goldenGoldenID  = "77fc52902b9dea5010481dd016583beb"
	goldenDefaultID = "7bdcf0a7bbe0a707ea82e49aab91b100"
	goldenDEK       = "3f9748564372dc5763658904bc91d01835228aebf0f17880370c92fac13b5fea"
	goldenDEKCT     = "0177fc52902b9dea5010481dd016583beb5a669bfff64262548f2bf382de9cc86f6036448b8d5a397035ee5a888be77b014a312d62c1b97cd2058989fa1469d7870c46c428042210135068f816"
	goldenDoomedCT  = "014ab65f6ebb1d8c4a39db1498013fb1939d1d66d85033e19e1f5cf1370d850520ea7e04c5e8f294df2b213207a0c26eae3b6671ee3dc51d6b8ed310212d1d462ca1b57bb9d75d6780f49341a1"
)

var goldenMK = MasterKey(seq(0x80, 32))

func writeGoldenKeyring(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, h := range goldenKeyring {
		if err := os.WriteFile(filepath.Join(dir, name), mustHex(t, h), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestGoldenKeyring(t *testing.T) {
	dir := writeGoldenKeyring(t)
	if _, err := OpenBuiltin(dir, testMK(1)); !errors.Is(err, ErrWrongMasterKey) {
		t.Fatalf("wrong key: %v", err)
	}
	b := mustOpen(t, dir, goldenMK)
	keys, err := b.ListKeys()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].Name != "golden" || keys[0].ID != goldenGoldenID || keys[0].Sealed ||
		keys[1].Name != DefaultKeyName || keys[1].ID != goldenDefaultID || !keys[1].Sealed {
		t.Fatalf("keys %+v", keys)
	}
	if keys[0].Created.Year() != 2026 || keys[0].Created.Location() != time.UTC {
		t.Fatalf("created %v", keys[0].Created)
	}
	ctx := DEKContext([]byte("golden-store"), 1)
	pt, err := b.Decrypt("golden", mustHex(t, goldenDEKCT), ctx)
	if err != nil || !bytes.Equal(pt, mustHex(t, goldenDEK)) {
		t.Fatalf("golden DEK: %x, %v", pt, err)
	}
	if _, err := b.Decrypt("doomed", mustHex(t, goldenDoomedCT), ctx); !errors.Is(err, ErrKeyDeleted) {
		t.Fatalf("deleted key's DEK: %v", err)
	}
}

// Decodes the golden records with nothing but the byte layouts of docs/FORMAT.md and the
// standard library, so the document and the code cannot drift apart silently.
func TestGoldenKeyringMatchesFormatDoc(t *testing.T) {
	wrapKey := hmacWrap(goldenMK) // HMAC-SHA256(mk, "ssefs keyring v1")
	open := func(t *testing.T, key, rec []byte) []byte {
		t.Helper()
		if string(rec[0:4]) != "SFKR" || rec[4] != 1 {
			t.Fatalf("header %x", rec[:6])
		}
		blk, _ := aes.NewCipher(key)
		gcm, _ := cipher.NewGCM(blk)
		pt, err := gcm.Open(nil, rec[22:34], rec[34:], rec[0:22])
		if err != nil {
			t.Fatal(err)
		}
		return pt
	}
	v := mustHex(t, goldenKeyring["verifier"])
	if v[5] != 2 || string(open(t, wrapKey, v)) != "ssefs keyring verifier v1" {
		t.Fatal("verifier")
	}
	tomb := open(t, wrapKey, mustHex(t, goldenKeyring["tombstones"]))
	doomedCT := mustHex(t, goldenDoomedCT)
	if binary.BigEndian.Uint32(tomb) != 1 || !bytes.Equal(tomb[4:20], doomedCT[1:17]) {
		t.Fatalf("tombstones %x", tomb)
	}
	rec := mustHex(t, goldenKeyring[goldenGoldenID+".key"])
	if len(rec) != 156 || rec[5] != 1 || !bytes.Equal(rec[6:22], mustHex(t, goldenGoldenID)) {
		t.Fatalf("key record header %x", rec[:22])
	}
	p := open(t, wrapKey, rec)
	if len(p) != 106 || p[0] != 0 || p[41] != 6 || string(p[42:48]) != "golden" || !bytes.Equal(p[48:], make([]byte, 58)) {
		t.Fatalf("key payload layout %x", p)
	}
	sealedRec := open(t, wrapKey, mustHex(t, goldenKeyring[goldenDefaultID+".key"]))
	if sealedRec[0] != 1 || string(sealedRec[42:42+sealedRec[41]]) != DefaultKeyName {
		t.Fatal("sealed flag or name of sse-s3 record")
	}
	// DEK ciphertext: version ‖ key id ‖ nonce ‖ GCM(EK, DEK, AAD = context ‖ key id).
	ct := mustHex(t, goldenDEKCT)
	if len(ct) != 77 || ct[0] != 1 || !bytes.Equal(ct[1:17], rec[6:22]) {
		t.Fatalf("DEK ciphertext header %x", ct[:17])
	}
	aad := append(DEKContext([]byte("golden-store"), 1), ct[1:17]...)
	dek := open2(t, p[9:41], ct[17:29], ct[29:], aad)
	if !bytes.Equal(dek, mustHex(t, goldenDEK)) {
		t.Fatalf("DEK %x", dek)
	}
}

func open2(t *testing.T, key, nonce, sealed, aad []byte) []byte {
	t.Helper()
	blk, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(blk)
	pt, err := gcm.Open(nil, nonce, sealed, aad)
	if err != nil {
		t.Fatal(err)
	}
	return pt
}
