package chunkstore

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"io"
	"runtime"
	"sync"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/ssefs/ssefs/dare"
)

// This file is dare.DecryptAt for a whole sealed stream that is already in
// memory (a part file mapped read-only, mmap.go). It lives here rather than
// in dare only because of who owns which package; it performs the same
// checks in the same order with the same errors (FORMAT.md "What a reader
// checks"), and the tests compare it with dare.DecryptAt byte for byte and
// error for error. What differs is that it never writes to the stream: it
// decrypts each package straight from the mapping into the caller's buffer,
// or, for a package only partly requested, into a pooled scratch package.
// Each header is copied out of the mapping before it is checked, and that
// copy is what the AEAD gets as nonce and associated data, so no header
// byte is read twice.

const (
	encPackageLen = dare.PackageSize + dare.Overhead // sealed length of a full package
	finalFlag     = 0x80                             // header byte 4: last package
	version20     = 0x20
)

// scratchPool holds one package of plaintext for packages a read only
// partly needs (the mapping itself is read-only).
var scratchPool = sync.Pool{New: func() any {
	b := make([]byte, dare.PackageSize)
	return &b
}}

// parallelMinPackages is where decryption spreads over CPUs, as in dare.
const parallelMinPackages = 4

// openSealedAt decrypts plaintext [off, off+len(p)) of the DARE stream
// sealed (the whole stream) with io.ReaderAt semantics, exactly as
// dare.DecryptAt would from a reader over sealed. On any error p holds no
// plaintext. Faults on sealed are not handled here (see readMapped).
func openSealedAt(key []byte, sealed []byte, p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("chunkstore: reading at negative offset %d", off)
	}
	plain, err := dare.DecryptedSize(int64(len(sealed)))
	if err != nil {
		return 0, fmt.Errorf("%w: %w", dare.ErrAuthentication, err)
	}
	if len(p) == 0 {
		return 0, nil
	}
	packages := (plain + dare.PackageSize - 1) / dare.PackageSize
	if packages == 0 {
		return 0, io.EOF
	}
	lastLen := int(plain - (packages-1)*dare.PackageSize)
	payloadLen := func(i int64) int {
		if i == packages-1 {
			return lastLen
		}
		return dare.PackageSize
	}

	end := min(off+int64(len(p)), plain)
	var first, last int64
	if off >= plain {
		first, last = packages-1, packages-1
	} else {
		first, _ = dare.PackageOf(off)
		last, _ = dare.PackageOf(end - 1)
	}

	var ref [dare.HeaderSize]byte
	copy(ref[:], sealed)
	if err := checkRef(&ref); err != nil {
		return 0, err
	}
	hdrs := make([][dare.HeaderSize]byte, last-first+1)
	for i := first; i <= last; i++ {
		h := &hdrs[i-first]
		copy(h[:], sealed[i*encPackageLen:])
		if err := checkHeader(h, &ref, i, i == packages-1, payloadLen(i)); err != nil {
			return 0, err
		}
	}

	open := func(aead cipher.AEAD, lo, hi int64) error {
		var scratch *[]byte
		defer func() {
			if scratch != nil {
				scratchPool.Put(scratch)
			}
		}()
		for j := lo; j < hi; j++ {
			i := first + j
			h := &hdrs[j]
			body := sealed[i*encPackageLen+dare.HeaderSize:][:payloadLen(i)+dare.TagSize]
			nonce := aeadNonce(h, uint32(i))
			pStart := i * dare.PackageSize
			pEnd := pStart + int64(payloadLen(i))
			if pStart >= off && pEnd <= end {
				if _, err := aead.Open(p[pStart-off:pStart-off], nonce[:], body, h[:4]); err != nil {
					return authError(i, "tag mismatch")
				}
				continue
			}
			if scratch == nil {
				scratch = scratchPool.Get().(*[]byte)
			}
			pt, err := aead.Open((*scratch)[:0], nonce[:], body, h[:4])
			if err != nil {
				return authError(i, "tag mismatch")
			}
			if lo, hi := max(pStart, off), min(pEnd, end); lo < hi {
				copy(p[lo-off:hi-off], pt[lo-pStart:])
			}
		}
		return nil
	}
	if err := forPackages(ref[1], key, last-first+1, open); err != nil {
		clear(p)
		return 0, err
	}
	if off >= plain {
		return 0, io.EOF
	}
	n := int(end - off)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// checkRef validates package 0's header, whose cipher and nonce the whole
// stream must share (dare: header.checkRef).
func checkRef(h *[dare.HeaderSize]byte) error {
	if h[0] != version20 {
		return fmt.Errorf("%w: 0x%02x", dare.ErrUnsupportedVersion, h[0])
	}
	if c := dare.Cipher(h[1]); c != dare.AES256GCM && c != dare.ChaCha20Poly1305 {
		return fmt.Errorf("%w: 0x%02x", dare.ErrUnsupportedCipher, h[1])
	}
	return nil
}

// checkHeader validates package i's header against the reference header
// and the layout implied by the stream size, before any AEAD work (dare:
// header.check).
func checkHeader(h, ref *[dare.HeaderSize]byte, i int64, last bool, payloadLen int) error {
	if h[0] != version20 {
		return fmt.Errorf("%w: package %d: 0x%02x", dare.ErrUnsupportedVersion, i, h[0])
	}
	if h[1] != ref[1] {
		return authError(i, "cipher differs from package 0")
	}
	diff := (h[4] ^ ref[4]) &^ finalFlag
	for k := 5; k < dare.HeaderSize; k++ {
		diff |= h[k] ^ ref[k]
	}
	if diff != 0 {
		return authError(i, "nonce of another stream")
	}
	if final := h[4]&finalFlag != 0; final != last {
		if last {
			return authError(i, "final package missing (stream truncated)")
		}
		return authError(i, "final package before end of stream")
	}
	if int(binary.LittleEndian.Uint16(h[2:4]))+1 != payloadLen {
		return authError(i, "length does not match stream size")
	}
	return nil
}

// aeadNonce is the header nonce (final flag included) with its last four
// bytes XOR the little-endian package number.
func aeadNonce(h *[dare.HeaderSize]byte, seq uint32) [12]byte {
	var n [12]byte
	copy(n[:], h[4:])
	binary.LittleEndian.PutUint32(n[8:], binary.LittleEndian.Uint32(n[8:])^seq)
	return n
}

// authError is dare's error for package i failing authentication.
func authError(i int64, why string) error {
	return fmt.Errorf("%w: package %d: %s", dare.ErrAuthentication, i, why)
}

func newAEAD(c byte, key []byte) (cipher.AEAD, error) {
	switch dare.Cipher(c) {
	case dare.AES256GCM:
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("chunkstore: aes: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("chunkstore: gcm: %w", err)
		}
		return aead, nil
	case dare.ChaCha20Poly1305:
		aead, err := chacha20poly1305.New(key)
		if err != nil {
			return nil, fmt.Errorf("chunkstore: chacha20-poly1305: %w", err)
		}
		return aead, nil
	}
	return nil, fmt.Errorf("%w: 0x%02x", dare.ErrUnsupportedCipher, c)
}

// forPackages calls fn on contiguous ranges [lo, hi) covering [0, n), one
// per worker, each with its own AEAD, and returns the error of the lowest
// failed range. Workers read the mapping too, so each one catches its own
// faults (a fault is per goroutine).
func forPackages(c byte, key []byte, n int64, fn func(aead cipher.AEAD, lo, hi int64) error) error {
	aead, err := newAEAD(c, key)
	if err != nil {
		return err
	}
	workers := int64(runtime.GOMAXPROCS(0))
	if n < parallelMinPackages || workers < 2 {
		return fn(aead, 0, n)
	}
	workers = min(workers, n)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := int64(1); w < workers; w++ {
		wg.Go(func() {
			errs[w] = catchFault(func() error {
				a, err := newAEAD(c, key)
				if err != nil {
					return err
				}
				return fn(a, n*w/workers, n*(w+1)/workers)
			})
		})
	}
	// The first range runs here, but catches its faults itself as well: a
	// panic leaving this frame would abandon workers still writing to p.
	errs[0] = catchFault(func() error { return fn(aead, 0, n/workers) })
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
