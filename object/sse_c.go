package object

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/ssefs/ssefs/keyring"
)

// SSE-C errors; the FUSE edge maps ErrNoCustomerKey to ENOKEY, ErrWrongCustomerKey to
// EACCES and ErrCustomerKeyFormat to EINVAL.
var (
	ErrNoCustomerKey     = errors.New("object: SSE-C key not supplied")
	ErrWrongCustomerKey  = errors.New("object: wrong SSE-C key")
	ErrCustomerKeyFormat = errors.New("object: SSE-C key must be 32 bytes, base64, and match its MD5 if one is given")
)

// customerKeyLabel separates the fingerprint from any other use of the client key.
const customerKeyLabel = "ssefs sse-c key id"

// CustomerKeyFingerprint is what an SSE-C object records instead of its key:
// HMAC-SHA256(client key, "ssefs sse-c key id" ‖ store id). It tells a supplied key
// apart from a wrong one without storing anything that helps recover the key.
func CustomerKeyFingerprint(storeID []byte, key *[32]byte) []byte {
	h := hmac.New(sha256.New, key[:])
	h.Write([]byte(customerKeyLabel))
	h.Write(storeID)
	return h.Sum(nil)
}

// ParseCustomerKey decodes an SSE-C key as S3 takes it: the base64 of 32 bytes
// (surrounding whitespace ignored), or the 32 raw bytes. If md5b64 is not empty it
// must be the base64 MD5 of the key, as the S3 -Key-MD5 header.
func ParseCustomerKey(value []byte, md5b64 string) (*[32]byte, error) {
	var k [32]byte
	v := bytes.TrimSpace(value)
	// 44 base64 characters without padding decode to 33 bytes: decode into
	// a buffer of the decoded length, never into the key itself.
	buf := make([]byte, base64.StdEncoding.DecodedLen(len(v)))
	defer clear(buf)
	if n, err := base64.StdEncoding.Decode(buf, v); len(v) == 44 && err == nil && n == len(k) {
		copy(k[:], buf[:n])
	} else if len(value) == len(k) {
		copy(k[:], value)
	} else {
		return nil, ErrCustomerKeyFormat
	}
	if md5b64 != "" {
		sum := md5.Sum(k[:])
		if base64.StdEncoding.EncodeToString(sum[:]) != string(bytes.TrimSpace([]byte(md5b64))) {
			clear(k[:])
			return nil, fmt.Errorf("%w: MD5 mismatch", ErrCustomerKeyFormat)
		}
	}
	return &k, nil
}

// customerKey returns the supplied client key with this fingerprint.
func (l *Layer) customerKey(fp []byte) (*[32]byte, error) {
	var id [32]byte
	if len(fp) != len(id) {
		return nil, fmt.Errorf("%w: malformed key fingerprint", ErrCorrupt)
	}
	copy(id[:], fp)
	l.sse.mu.Lock()
	defer l.sse.mu.Unlock()
	k, ok := l.sse.ckeys[id]
	if !ok {
		return nil, ErrNoCustomerKey
	}
	return k, nil
}

// holdCustomerKey keeps a client key in memory (only there) for the mount's life.
func (l *Layer) holdCustomerKey(key *[32]byte) []byte {
	fp := CustomerKeyFingerprint(l.storeID, key)
	var id [32]byte
	copy(id[:], fp)
	l.sse.mu.Lock()
	if l.sse.ckeys == nil {
		l.sse.ckeys = map[[32]byte]*[32]byte{}
	}
	if _, ok := l.sse.ckeys[id]; !ok {
		c := *key
		l.sse.ckeys[id] = &c
	}
	l.sse.mu.Unlock()
	return fp
}

// SetCustomerKeyMD5 records the MD5 that the next SupplyCustomerKey for ino must
// match (the xattr user.ssefs.sse.customer-key-md5, set before the key as the S3
// headers travel together). It is kept in memory only.
func (l *Layer) SetCustomerKeyMD5(ino Ino, md5b64 string) {
	l.sse.mu.Lock()
	if l.sse.md5 == nil {
		l.sse.md5 = map[Ino]string{}
	}
	l.sse.md5[ino] = md5b64
	l.sse.mu.Unlock()
}

func (l *Layer) takeCustomerKeyMD5(ino Ino) string {
	l.sse.mu.Lock()
	defer l.sse.mu.Unlock()
	m := l.sse.md5[ino]
	delete(l.sse.md5, ino)
	return m
}

// SupplyCustomerKey gives an SSE-C key for a file or a directory subtree. For a file
// already under SSE-C it must be that file's key (else ErrWrongCustomerKey) and makes
// it readable; a file under SSE-S3 or SSE-KMS is re-wrapped onto it. For a directory
// it becomes the default of the directory and its subdirectories, for files created
// later; a directory whose SSE-C default names another key refuses it. The key is
// held in memory only: after a remount it must be supplied again.
func (l *Layer) SupplyCustomerKey(ino Ino, value []byte) (err error) {
	defer func() { l.audit("sse-c-supply", "", err, fmt.Sprintf("object %d", ino)) }()
	key, err := ParseCustomerKey(value, l.takeCustomerKeyMD5(ino))
	if err != nil {
		return err
	}
	defer clear(key[:])
	n, err := l.Inode(ino)
	if err != nil {
		return err
	}
	fp := CustomerKeyFingerprint(l.storeID, key)
	switch {
	case isReg(n.Mode) && keyring.Domain(n.SSE.Domain) == keyring.DomainSSEC:
		if !hmac.Equal(fp, n.SSE.SealedDEK) {
			return ErrWrongCustomerKey
		}
		var sk keyring.SealedKey
		if err := sk.UnmarshalBinary(n.SSE.SealedOEK); err != nil {
			return err
		}
		oek, err := sk.Unseal(key[:], keyring.DomainSSEC, l.storeID, uint64(ino))
		if err != nil {
			return fmt.Errorf("%w: %w", ErrWrongCustomerKey, err)
		}
		oek.Zero()
		l.holdCustomerKey(key)
		return nil
	case isReg(n.Mode):
		l.holdCustomerKey(key)
		_, err := l.Rewrap(ino, SSEChoice{Domain: keyring.DomainSSEC, Fingerprint: fp})
		return err
	case isDir(n.Mode):
		cur, err := l.DirDefault(ino)
		if err != nil {
			return err
		}
		if cur != nil && cur.Domain == keyring.DomainSSEC && !hmac.Equal(cur.Fingerprint, fp) {
			return ErrWrongCustomerKey
		}
		l.holdCustomerKey(key)
		return l.setDirDefaultTree(ino, &SSEChoice{Domain: keyring.DomainSSEC, Fingerprint: fp})
	}
	return ErrInvalid
}

// ForgetCustomerKey drops the SSE-C key of a file from memory (removexattr of
// user.ssefs.sse.customer-key): its files become unreadable until it is supplied again.
func (l *Layer) ForgetCustomerKey(ino Ino) error {
	n, err := l.Inode(ino)
	if err != nil {
		return err
	}
	if keyring.Domain(n.SSE.Domain) != keyring.DomainSSEC {
		return ErrNoData
	}
	var id [32]byte
	copy(id[:], n.SSE.SealedDEK)
	l.sse.mu.Lock()
	if k, ok := l.sse.ckeys[id]; ok {
		clear(k[:])
		delete(l.sse.ckeys, id)
	}
	l.sse.mu.Unlock()
	go l.ForgetKeys() // called from a FUSE request: notify the kernel from outside it
	l.audit("sse-c-forget", "", nil, fmt.Sprintf("object %d", ino))
	return nil
}
