package dare

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
)

// rejected reports whether err is one of the two "do not trust" classes.
func rejected(err error) bool {
	return errors.Is(err, ErrAuthentication) || errors.Is(err, ErrFormat)
}

// mustReject checks that neither Decrypt nor DecryptAt (whole range, and
// each package on its own) accepts ct, given the size a reader would see.
func mustReject(t *testing.T, what string, key, ct []byte) {
	t.Helper()
	if pt, err := Decrypt(key, ct); !rejected(err) || pt != nil {
		t.Errorf("%s: Decrypt = %d bytes, %v; want rejection", what, len(pt), err)
	}
	plain, err := DecryptedSize(int64(len(ct)))
	if err != nil {
		plain = int64(len(ct)) // impossible size: any read must fail
	}
	p := make([]byte, plain+1)
	for kind, r := range readersOf(ct) {
		if n, err := DecryptAt(key, r, int64(len(ct)), p, 0); !rejected(err) {
			t.Errorf("%s: DecryptAt(whole, %s) = %d, %v; want rejection", what, kind, n, err)
		}
	}
	mustBeUnchanged(t, what, key, ct)
}

// readersOf returns ct behind both kinds of reader DecryptAt handles: a
// generic io.ReaderAt (copied into a read buffer, as part files are) and
// an in-memory stream (decrypted where it lies, as inline parts are).
func readersOf(ct []byte) map[string]io.ReaderAt {
	return map[string]io.ReaderAt{"pread": bytes.NewReader(ct), "in-memory": Bytes(ct)}
}

// mustBeUnchanged checks that decrypting ct as an in-memory stream,
// whatever the outcome, left its bytes as they were.
func mustBeUnchanged(t *testing.T, what string, key, ct []byte) {
	t.Helper()
	before := bytes.Clone(ct)
	plain, err := DecryptedSize(int64(len(ct)))
	if err != nil {
		return
	}
	for _, rg := range [][2]int64{{0, plain}, {1, plain/2 + 1}, {plain / 3, 70000}} {
		if rg[1] > 0 {
			DecryptAt(key, Bytes(ct), int64(len(ct)), make([]byte, rg[1]), rg[0])
		}
	}
	if !bytes.Equal(ct, before) {
		t.Errorf("%s: DecryptAt changed the in-memory stream", what)
	}
}

// mustRejectRange checks DecryptAt of [off, off+n) fails when the stream's
// recorded size is encSize but the reader holds ct.
func mustRejectRange(t *testing.T, what string, key, ct []byte, encSize int64, off, n int) {
	t.Helper()
	for kind, r := range readersOf(ct) {
		p := make([]byte, n)
		got, err := DecryptAt(key, r, encSize, p, int64(off))
		if !rejected(err) {
			t.Errorf("%s: DecryptAt(%d, %d, %s) = %d, %v; want rejection", what, off, n, kind, got, err)
		}
		if !bytes.Equal(p, make([]byte, n)) {
			t.Errorf("%s: DecryptAt (%s) left plaintext in p after an error", what, kind)
		}
	}
}

func flip(ct []byte, i int, bit byte) []byte {
	c := bytes.Clone(ct)
	c[i] ^= bit
	return c
}

// TestFlipEveryByte flips one bit in every byte (and the final-flag bit of
// the nonce) of small streams of each cipher.
func TestFlipEveryByte(t *testing.T) {
	for _, c := range ciphers {
		for _, size := range []int{1, 100} {
			key := randBytes(t, 32)
			ct, err := Encrypt(c, key, randBytes(t, size))
			if err != nil {
				t.Fatal(err)
			}
			for i := range ct {
				mustReject(t, fmt.Sprintf("%v/%d flip byte %d", c, size, i), key, flip(ct, i, 0x01))
			}
			mustReject(t, "clear final bit", key, flip(ct, 4, finalBit))
		}
	}
}

// TestFlipByteClasses flips header, nonce, payload and tag bytes of every
// package of multi-package streams, including one large enough to take the
// parallel path.
func TestFlipByteClasses(t *testing.T) {
	classes := []struct {
		name string
		off  func(pkgLen int) int
		bit  byte
	}{
		{"version", func(int) int { return 0 }, 0x01},
		{"cipher", func(int) int { return 1 }, 0x01},
		{"length", func(int) int { return 2 }, 0x01},
		{"final flag", func(int) int { return 4 }, finalBit},
		{"nonce", func(int) int { return 9 }, 0x10},
		{"nonce seq bytes", func(int) int { return 15 }, 0x01},
		{"payload first", func(int) int { return HeaderSize }, 0x01},
		{"payload last", func(n int) int { return n - TagSize - 1 }, 0x80},
		{"tag", func(n int) int { return n - 1 }, 0x01},
	}
	for _, c := range ciphers {
		for _, size := range []int{3*PackageSize + 100, 40 * PackageSize} {
			key := randBytes(t, 32)
			ct, err := Encrypt(c, key, randBytes(t, size))
			if err != nil {
				t.Fatal(err)
			}
			l, _ := layoutOf(int64(len(ct)))
			for i := range l.packages {
				if size > 4*PackageSize && i%7 != 0 && i != l.packages-1 {
					continue // large stream: a sample of packages is enough
				}
				start, n := int(l.encOffset(i)), l.payloadLen(i)+Overhead
				for _, cl := range classes {
					what := fmt.Sprintf("%v/%d pkg %d %s", c, size, i, cl.name)
					bad := flip(ct, start+cl.off(n), cl.bit)
					mustReject(t, what, key, bad)
					// a read of just this package must fail too
					mustRejectRange(t, what, key, bad, int64(len(bad)), int(i)*PackageSize, 1)
				}
			}
		}
	}
}

// TestStreamSurgery covers whole-package edits: truncation, dropping,
// swapping, splicing and appending.
func TestStreamSurgery(t *testing.T) {
	for _, c := range ciphers {
		key, other := randBytes(t, 32), randBytes(t, 32)
		size := 3*PackageSize + 100 // packages 0-2 full, 3 holds 100 bytes
		pt := randBytes(t, size)
		a, _ := Encrypt(c, key, pt)
		b, _ := Encrypt(c, key, randBytes(t, size))   // same key, other nonce
		k, _ := Encrypt(c, other, randBytes(t, size)) // other key
		full, _ := Encrypt(c, key, randBytes(t, 4*PackageSize))
		pk := func(ct []byte, i int) []byte {
			end := min((i+1)*packageLen, len(ct))
			return ct[i*packageLen : end]
		}
		join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

		cases := map[string][]byte{
			"drop final package":           a[:3*packageLen],
			"drop final full package":      full[:3*packageLen],
			"truncate at first boundary":   a[:packageLen],
			"truncate inside package":      a[:len(a)-10],
			"truncate inside full package": a[:packageLen+1000],
			"truncate to impossible size":  a[:packageLen+20],
			"truncate inside only package": a[:40],
			"swap packages 0 and 1":        join(pk(a, 1), pk(a, 0), pk(a, 2), pk(a, 3)),
			"swap packages 1 and 2":        join(pk(a, 0), pk(a, 2), pk(a, 1), pk(a, 3)),
			"splice same key other nonce":  join(pk(a, 0), pk(b, 1), pk(a, 2), pk(a, 3)),
			"splice final same key":        join(pk(a, 0), pk(a, 1), pk(a, 2), pk(b, 3)),
			"splice other key":             join(pk(a, 0), pk(k, 1), pk(a, 2), pk(a, 3)),
			"append package":               join(a, pk(a, 0)),
			"append final package":         join(a, pk(a, 3)),
			"append bytes":                 join(a, []byte{0}),
			"replace stream head":          join(pk(b, 0), pk(a, 1), pk(a, 2), pk(a, 3)),
		}
		for name, ct := range cases {
			mustReject(t, fmt.Sprintf("%v %s", c, name), key, ct)
		}

		// Reads of single packages must catch splices without reading
		// the rest of the stream.
		spliced := cases["splice same key other nonce"]
		mustRejectRange(t, "read spliced package", key, spliced, int64(len(spliced)), PackageSize+5, 10)
		spliced = cases["splice final same key"]
		mustRejectRange(t, "read spliced final", key, spliced, int64(len(spliced)), 3*PackageSize, 10)

		// The recorded size is honest, the file behind it was cut short.
		for _, cut := range []int{3 * packageLen, len(a) - 1, packageLen + 1000} {
			mustRejectRange(t, fmt.Sprintf("short reader %d", cut), key, a[:cut], int64(len(a)), size-1, 1)
		}
		// The recorded size was cut too: a read at or beyond the new end
		// must not be a clean io.EOF.
		cut := a[:3*packageLen]
		for _, off := range []int{3*PackageSize - 1, 3 * PackageSize, 3*PackageSize + 50} {
			mustRejectRange(t, fmt.Sprintf("truncated at boundary, read at %d", off), key, cut, int64(len(cut)), off, 10)
		}
		// Reads that stay in untouched packages still return true data.
		p := make([]byte, 10)
		if n, err := DecryptAt(key, bytes.NewReader(cut), int64(len(a)), p, 5); n != 10 || err != nil || !bytes.Equal(p, pt[5:15]) {
			t.Errorf("%v: read before truncation point = %d, %v", c, n, err)
		}
	}
}

// errReader fails every read with a non-EOF error.
type errReader struct{}

var errDisk = errors.New("disk on fire")

func (errReader) ReadAt([]byte, int64) (int, error) { return 0, errDisk }

func TestDecryptAtReadError(t *testing.T) {
	_, err := DecryptAt(make([]byte, 32), errReader{}, 100, make([]byte, 10), 0)
	if !errors.Is(err, errDisk) || rejected(err) {
		t.Errorf("I/O error = %v; want it wrapped, not an authentication error", err)
	}
}

func TestDecryptAtEOFSemantics(t *testing.T) {
	key, pt := randBytes(t, 32), randBytes(t, 2*PackageSize)
	ct, _ := Encrypt(AES256GCM, key, pt)
	r := bytes.NewReader(ct)
	for _, tc := range []struct {
		off, n, want int
		err          error
	}{
		{0, len(pt), len(pt), nil},
		{10, len(pt) - 10, len(pt) - 10, nil},
		{10, len(pt), len(pt) - 10, io.EOF},
		{len(pt), 1, 0, io.EOF},
		{len(pt) + 1000, 1, 0, io.EOF},
	} {
		p := make([]byte, tc.n)
		n, err := DecryptAt(key, r, int64(len(ct)), p, int64(tc.off))
		if n != tc.want || err != tc.err || !bytes.Equal(p[:n], pt[min(tc.off, len(pt)):][:n]) {
			t.Errorf("DecryptAt(%d, %d) = %d, %v; want %d, %v", tc.off, tc.n, n, err, tc.want, tc.err)
		}
	}
}
