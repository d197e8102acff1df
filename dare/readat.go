package dare

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"sync"
)

// readBufPackages is how many packages a pooled read buffer holds: enough
// for a 128 KiB FUSE read that starts mid-package.
const readBufPackages = 3

var readBufPool = sync.Pool{New: func() any {
	b := make([]byte, readBufPackages*packageLen)
	return &b
}}

// midReadPackages bounds the reads served from midReadPool: 1 MiB (a
// read-ahead window, a FUSE read) starting mid-package.
const midReadPackages = 17

var midReadPool = sync.Pool{New: func() any {
	b := make([]byte, midReadPackages*packageLen)
	return &b
}}

// bigReadPackages bounds the reads served from bigReadPool: a whole part.
const bigReadPackages = 64

var bigReadPool = sync.Pool{New: func() any {
	b := make([]byte, bigReadPackages*packageLen)
	return &b
}}

// DecryptAt decrypts plaintext bytes [off, off+len(p)) of the stream of
// encSize bytes in r, reading and authenticating only the packages that
// range touches (plus package 0's header, which fixes the stream nonce).
//
// It follows io.ReaderAt: n < len(p) only with an error, io.EOF at the end
// of the plaintext. Before it reports io.EOF it authenticates the last
// package and checks its final flag, so a stream cut short (at a package
// boundary or inside one) is ErrAuthentication, never a silently short
// read. On any error p holds no plaintext.
func DecryptAt(key []byte, r io.ReaderAt, encSize int64, p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("dare: DecryptAt: negative offset %d", off)
	}
	l, err := streamLayout(encSize)
	if err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if l.packages == 0 {
		return 0, io.EOF
	}

	// Packages [first, last] hold the requested range; a read reaching the
	// end of the plaintext always includes the final package.
	end := min(off+int64(len(p)), l.plain)
	var first, last int64
	if off >= l.plain {
		first, last = l.packages-1, l.packages-1
	} else {
		first, _ = PackageOf(off)
		last, _ = PackageOf(end - 1)
	}

	start := l.encOffset(first)
	length := l.encOffset(last) + int64(l.payloadLen(last)+Overhead) - start
	var buf []byte
	mem, inMemory := r.(Bytes)
	switch {
	case inMemory:
		// Authenticate and decrypt straight from the caller's bytes, which
		// must stay untouched: edge packages decrypt into scratch space.
		if int64(len(mem)) < start+length {
			return 0, fmt.Errorf("%w: stream shorter than its size (%d of %d bytes)", ErrAuthentication, len(mem), start+length)
		}
		buf = mem[start : start+length]
	case length <= readBufPackages*packageLen:
		bp := readBufPool.Get().(*[]byte)
		defer readBufPool.Put(bp)
		buf = (*bp)[:length]
	case length <= midReadPackages*packageLen:
		// Reads of up to 1 MiB take a buffer of their size class, not a
		// whole part's 4 MiB.
		bp := midReadPool.Get().(*[]byte)
		defer midReadPool.Put(bp)
		buf = (*bp)[:length]
	case length <= bigReadPackages*packageLen:
		// Reads of up to 4 MiB: recycle instead of allocating
		// (and clearing) a buffer the size of the read every time.
		bp := bigReadPool.Get().(*[]byte)
		defer bigReadPool.Put(bp)
		buf = (*bp)[:length]
	default:
		buf = make([]byte, length)
	}
	if !inMemory {
		if err := readFull(r, buf, start); err != nil {
			return 0, err
		}
	}

	ref := header(buf[:HeaderSize])
	if first > 0 {
		var h0 [HeaderSize]byte
		if err := readFull(r, h0[:], 0); err != nil {
			return 0, err
		}
		ref = header(h0[:])
	}
	if err := ref.checkRef(); err != nil {
		return 0, err
	}
	for i := first; i <= last; i++ {
		if err := header(buf[l.encOffset(i)-start:]).check(ref, l, i); err != nil {
			return 0, err
		}
	}

	err = forRanges(ref.Cipher(), key, last-first+1, func(aead cipher.AEAD, lo, hi int64) error {
		var scratch []byte // edge packages of an in-memory stream
		if inMemory {
			sp := scratchPool.Get().(*[]byte)
			defer scratchPool.Put(sp)
			scratch = *sp
		}
		for j := lo; j < hi; j++ {
			i := first + j
			pkg := buf[l.encOffset(i)-start:][:l.payloadLen(i)+Overhead]
			if err := openInto(aead, p, off, end, pkg, i, scratch); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		clear(p)
		return 0, err
	}
	if off >= l.plain {
		return 0, io.EOF
	}
	n := int(end - off)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// openInto authenticates package i and copies the part of its plaintext
// inside [off, end) to p (which starts at plaintext offset off). A package
// wholly inside the range decrypts straight into p; an edge package
// decrypts in place, or into scratch when it is not nil, and is copied.
func openInto(aead cipher.AEAD, p []byte, off, end int64, pkg []byte, i int64, scratch []byte) error {
	pStart := i * PackageSize
	pEnd := pStart + int64(len(pkg)-Overhead)
	if pStart >= off && pEnd <= end {
		return openPackage(aead, p[pStart-off:pStart-off], pkg, i)
	}
	plain := pkg[HeaderSize:]
	if scratch != nil {
		plain = scratch
	}
	if err := openPackage(aead, plain[:0], pkg, i); err != nil {
		return err
	}
	lo, hi := max(pStart, off), min(pEnd, end)
	if lo < hi {
		copy(p[lo-off:hi-off], plain[lo-pStart:])
	}
	return nil
}

// Bytes is a sealed stream held in memory (an inline part). DecryptAt
// authenticates and decrypts straight from it, leaving it unchanged,
// instead of first copying the packages it needs into a read buffer as it
// does for any other io.ReaderAt (a part file, read with pread).
type Bytes []byte

// ReadAt implements io.ReaderAt.
func (b Bytes) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("dare: Bytes.ReadAt: negative offset %d", off)
	}
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// scratchPool holds the plaintext of one package, for edge packages of
// in-memory streams.
var scratchPool = sync.Pool{New: func() any {
	b := make([]byte, PackageSize)
	return &b
}}

// readFull reads len(buf) bytes at off. Missing bytes mean the stream is
// shorter than its recorded size, i.e. truncated: ErrAuthentication.
func readFull(r io.ReaderAt, buf []byte, off int64) error {
	n, err := r.ReadAt(buf, off)
	if n == len(buf) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: stream shorter than its size (%d of %d bytes at offset %d)",
			ErrAuthentication, n, len(buf), off)
	}
	return fmt.Errorf("dare: reading %d bytes at offset %d: %w", len(buf), off, err)
}
