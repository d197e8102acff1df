package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// The built-in KMS stores every record in the same envelope: a clear header naming the
// record kind and id, then AES-256-GCM under the wrap key with the header as AAD, so a
// record cannot be moved to another file name or reinterpreted as another kind.
//
//	offset  size  field
//	0       4     magic "SFKR"
//	4       1     format version (recordVersion)
//	5       1     kind (kindKey, kindVerifier, kindTombstones)
//	6       16    id: the key id for kindKey, zero otherwise
//	22      12    GCM nonce (random)
//	34      n+16  AES-256-GCM(wrapKey, nonce, payload, AAD = bytes 0..22)
type record []byte

const (
	recordMagic     = "SFKR"
	recordVersion   = 1
	recordHeaderLen = 22
	recordNonceLen  = 12
	recordTagLen    = 16
	recordMinLen    = recordHeaderLen + recordNonceLen + recordTagLen

	wrapKeyLabel = "ssefs keyring v1"
)

// Record kinds.
const (
	kindKey        byte = 1
	kindVerifier   byte = 2
	kindTombstones byte = 3
	kindMetaKey    byte = 4
)

// File names under the keyring directory. Key files are named by their random id so the
// directory never reveals key names.
const (
	verifierFile   = "verifier"
	tombstonesFile = "tombstones"
	metaKeyFile    = "metakey"
	keyFileSuffix  = ".key"
	newSuffix      = ".new" // a record re-sealed by an unfinished ChangeMasterKey
	tmpSuffix      = ".tmp" // an unfinished atomic write
)

// verifierPlaintext is what the verifier record decrypts to under the right master key.
const verifierPlaintext = "ssefs keyring verifier v1"

// keyID is the random identifier of an EK: its file name and its mark in DEK ciphertexts.
type keyID [16]byte

func (id keyID) String() string { return hex.EncodeToString(id[:]) }

func newKeyID() (keyID, error) {
	var id keyID
	if _, err := rand.Read(id[:]); err != nil {
		return id, fmt.Errorf("keyring: generating key id: %w", err)
	}
	return id, nil
}

func keyFileName(id keyID) string { return id.String() + keyFileSuffix }

// parseKeyFileName returns the id of a key file name, or false for any other name.
func parseKeyFileName(name string) (keyID, bool) {
	var id keyID
	h, ok := strings.CutSuffix(name, keyFileSuffix)
	if !ok || len(h) != hex.EncodedLen(len(id)) {
		return id, false
	}
	if _, err := hex.Decode(id[:], []byte(h)); err != nil {
		return id, false
	}
	return id, true
}

func (r record) header() []byte { return r[:recordHeaderLen] }
func (r record) magic() string  { return string(r[0:4]) }
func (r record) version() byte  { return r[4] }
func (r record) kind() byte     { return r[5] }
func (r record) nonce() []byte  { return r[recordHeaderLen : recordHeaderLen+recordNonceLen] }
func (r record) sealed() []byte { return r[recordHeaderLen+recordNonceLen:] }
func (r record) id() keyID {
	var id keyID
	copy(id[:], r[6:recordHeaderLen])
	return id
}

// wrapper seals and opens records under the key derived from one master key.
type wrapper struct {
	aead cipher.AEAD
}

// newWrapper derives wrapKey = HMAC-SHA256(mk, "ssefs keyring v1"), so the master key
// itself never keys a cipher and can be replaced by a KDF change without a format change.
func newWrapper(mk *MasterKey) (*wrapper, error) {
	mac := hmac.New(sha256.New, mk[:])
	mac.Write([]byte(wrapKeyLabel))
	wk := mac.Sum(nil)
	defer clear(wk)
	block, err := aes.NewCipher(wk)
	if err != nil {
		return nil, fmt.Errorf("keyring: wrap key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keyring: wrap key: %w", err)
	}
	return &wrapper{aead: aead}, nil
}

// seal builds a record of the given kind around payload.
func (w *wrapper) seal(kind byte, id keyID, payload []byte) (record, error) {
	r := make(record, recordHeaderLen+recordNonceLen, recordHeaderLen+recordNonceLen+len(payload)+recordTagLen)
	copy(r[0:4], recordMagic)
	r[4] = recordVersion
	r[5] = kind
	copy(r[6:recordHeaderLen], id[:])
	if _, err := rand.Read(r.nonce()); err != nil {
		return nil, fmt.Errorf("keyring: record nonce: %w", err)
	}
	return w.aead.Seal(r, r.nonce(), payload, r.header()), nil
}

// open authenticates a record of the wanted kind and returns its id and payload. A
// record that does not authenticate returns errAuth, so callers can tell a wrong master
// key (or a foreign file) apart from a malformed one.
func (w *wrapper) open(data []byte, kind byte) (keyID, []byte, error) {
	r := record(data)
	if len(r) < recordMinLen || r.magic() != recordMagic {
		return keyID{}, nil, fmt.Errorf("%w: not a keyring record", ErrCorrupt)
	}
	if r.version() != recordVersion {
		return keyID{}, nil, fmt.Errorf("%w: record version %d not supported", ErrCorrupt, r.version())
	}
	if r.kind() != kind {
		return keyID{}, nil, fmt.Errorf("%w: record kind %d, want %d", ErrCorrupt, r.kind(), kind)
	}
	payload, err := w.aead.Open(nil, r.nonce(), r.sealed(), r.header())
	if err != nil {
		return keyID{}, nil, errAuth
	}
	return r.id(), payload, nil
}

// errAuth is the internal "record does not authenticate under this wrap key" signal.
var errAuth = fmt.Errorf("%w: record does not authenticate", ErrCorrupt)

// keyPayload is the plaintext of a key record; fixed size so the file length does not
// reveal the name length.
//
//	offset  size  field
//	0       1     flags (bit 0: key sealed)
//	1       8     created, big-endian int64 Unix nanoseconds
//	9       32    key material
//	41      1     name length n (1..64)
//	42      64    name, zero padded
type keyPayload []byte

const (
	keyPayloadLen  = 42 + maxKeyNameLen
	flagKeySealed  = 1 << 0
	keyMaterialLen = 32
)

func (p keyPayload) flags() byte { return p[0] }
func (p keyPayload) created() time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(p[1:9]))).UTC()
}
func (p keyPayload) material() []byte       { return p[9:41] }
func (p keyPayload) nameLen() int           { return int(p[41]) }
func (p keyPayload) nameField() []byte      { return p[42:keyPayloadLen] }
func (p keyPayload) name() string           { return string(p.nameField()[:p.nameLen()]) }
func (p keyPayload) setCreated(t time.Time) { binary.BigEndian.PutUint64(p[1:9], uint64(t.UnixNano())) }

// keyRecord is the decoded content of one key file.
type keyRecord struct {
	id       keyID
	name     string
	created  time.Time
	sealed   bool
	version  int
	material [keyMaterialLen]byte
}

// marshal returns the payload; the caller zeroises it after sealing.
func (k *keyRecord) marshal() keyPayload {
	p := make(keyPayload, keyPayloadLen)
	if k.sealed {
		p[0] = flagKeySealed
	}
	p.setCreated(k.created)
	copy(p.material(), k.material[:])
	p[41] = byte(len(k.name))
	copy(p.nameField(), k.name)
	return p
}

// unmarshalKeyPayload decodes and validates a key payload.
func unmarshalKeyPayload(id keyID, p keyPayload) (*keyRecord, error) {
	if len(p) != keyPayloadLen {
		return nil, fmt.Errorf("%w: key payload is %d bytes", ErrCorrupt, len(p))
	}
	if p.flags()&^flagKeySealed != 0 || p.nameLen() < 1 || p.nameLen() > maxKeyNameLen || !ValidKeyName(p.name()) {
		return nil, fmt.Errorf("%w: bad key payload", ErrCorrupt)
	}
	k := &keyRecord{
		id:      id,
		name:    p.name(),
		created: p.created(),
		sealed:  p.flags()&flagKeySealed != 0,
		version: recordVersion,
	}
	copy(k.material[:], p.material())
	return k, nil
}

// sealKey encodes a key record into its file content.
func (w *wrapper) sealKey(k *keyRecord) (record, error) {
	p := k.marshal()
	defer clear(p)
	return w.seal(kindKey, k.id, p)
}

// openKey decodes a key file; the id in the header must match the one in its file name.
func (w *wrapper) openKey(data []byte, want keyID) (*keyRecord, error) {
	id, p, err := w.open(data, kindKey)
	if err != nil {
		return nil, err
	}
	defer clear(p)
	if id != want {
		return nil, fmt.Errorf("%w: key record %s stored under file name %s", ErrCorrupt, id, want)
	}
	return unmarshalKeyPayload(id, p)
}

// sealVerifier builds the verifier record that tells a wrong master key apart.
func (w *wrapper) sealVerifier() (record, error) {
	return w.seal(kindVerifier, keyID{}, []byte(verifierPlaintext))
}

// checkVerifier reports whether data is a verifier sealed under this wrapper's key.
func (w *wrapper) checkVerifier(data []byte) error {
	_, p, err := w.open(data, kindVerifier)
	if err != nil {
		return err
	}
	if string(p) != verifierPlaintext {
		return fmt.Errorf("%w: verifier content", ErrCorrupt)
	}
	return nil
}

// The tombstones payload lists the ids of deleted keys, so that Decrypt of a DEK made
// under a deleted key says ErrKeyDeleted rather than a generic failure.
//
//	offset  size  field
//	0       4     count, big-endian uint32
//	4       16*n  key ids
func (w *wrapper) sealTombstones(ids map[keyID]struct{}) (record, error) {
	p := make([]byte, 4, 4+16*len(ids))
	binary.BigEndian.PutUint32(p, uint32(len(ids)))
	for _, id := range sortedIDs(ids) {
		p = append(p, id[:]...)
	}
	return w.seal(kindTombstones, keyID{}, p)
}

func (w *wrapper) openTombstones(data []byte) (map[keyID]struct{}, error) {
	_, p, err := w.open(data, kindTombstones)
	if err != nil {
		return nil, err
	}
	if len(p) < 4 || uint64(len(p)-4) != 16*uint64(binary.BigEndian.Uint32(p)) {
		return nil, fmt.Errorf("%w: tombstones length", ErrCorrupt)
	}
	ids := make(map[keyID]struct{}, (len(p)-4)/16)
	for off := 4; off < len(p); off += 16 {
		var id keyID
		copy(id[:], p[off:off+16])
		ids[id] = struct{}{}
	}
	return ids, nil
}

// metaKeyLen is the size of the metadata (Badger) encryption key kept in the keyring.
const metaKeyLen = 32

// sealMetaKey seals the store's random metadata key; the payload is the 32 key bytes.
func (w *wrapper) sealMetaKey(k *[metaKeyLen]byte) (record, error) {
	return w.seal(kindMetaKey, keyID{}, k[:])
}

// openMetaKey decodes the metadata key record.
func (w *wrapper) openMetaKey(data []byte) (*[metaKeyLen]byte, error) {
	_, p, err := w.open(data, kindMetaKey)
	if err != nil {
		return nil, err
	}
	defer clear(p)
	if len(p) != metaKeyLen {
		return nil, fmt.Errorf("%w: metadata key is %d bytes", ErrCorrupt, len(p))
	}
	var k [metaKeyLen]byte
	copy(k[:], p)
	return &k, nil
}
