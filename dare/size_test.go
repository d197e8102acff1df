package dare

import (
	"errors"
	"testing"
)

func TestEncryptedSize(t *testing.T) {
	for _, tc := range []struct{ plain, enc int64 }{
		{0, 0},
		{1, 33},
		{65535, 65567},
		{65536, 65568},
		{65537, 65568 + 33},
		{3 * 65536, 3 * 65568},
		{3<<20 + 17, 48*65568 + 17 + 32},
		{maxPlainSize, maxEncSize},
		{maxPlainSize + 1, -1},
		{-1, -1},
	} {
		if got := EncryptedSize(tc.plain); got != tc.enc {
			t.Errorf("EncryptedSize(%d) = %d, want %d", tc.plain, got, tc.enc)
		}
	}
}

func TestDecryptedSize(t *testing.T) {
	for _, tc := range []struct {
		enc, plain int64
		ok         bool
	}{
		{0, 0, true},
		{1, 0, false},
		{32, 0, false},
		{33, 1, true},
		{65567, 65535, true},
		{65568, 65536, true},
		{65569, 0, false},
		{65568 + 32, 0, false},
		{65568 + 33, 65537, true},
		{maxEncSize, maxPlainSize, true},
		{maxEncSize + 1, 0, false},
		{-1, 0, false},
	} {
		got, err := DecryptedSize(tc.enc)
		if tc.ok && (err != nil || got != tc.plain) {
			t.Errorf("DecryptedSize(%d) = %d, %v; want %d", tc.enc, got, err, tc.plain)
		}
		if !tc.ok && !errors.Is(err, ErrFormat) {
			t.Errorf("DecryptedSize(%d) = %d, %v; want ErrFormat", tc.enc, got, err)
		}
	}
}

// TestSizeInverse checks DecryptedSize(EncryptedSize(x)) == x around every
// boundary of the first few packages.
func TestSizeInverse(t *testing.T) {
	for k := int64(0); k < 5; k++ {
		for d := int64(-2); d <= 2; d++ {
			x := k*PackageSize + d
			if x < 0 {
				continue
			}
			got, err := DecryptedSize(EncryptedSize(x))
			if err != nil || got != x {
				t.Errorf("DecryptedSize(EncryptedSize(%d)) = %d, %v", x, got, err)
			}
		}
	}
}

func TestPackageOf(t *testing.T) {
	for _, tc := range []struct{ off, index, within int64 }{
		{0, 0, 0},
		{1, 0, 1},
		{65535, 0, 65535},
		{65536, 1, 0},
		{65537, 1, 1},
		{3*65536 + 17, 3, 17},
	} {
		i, w := PackageOf(tc.off)
		if i != tc.index || w != tc.within {
			t.Errorf("PackageOf(%d) = %d, %d; want %d, %d", tc.off, i, w, tc.index, tc.within)
		}
	}
}

func TestLayout(t *testing.T) {
	for _, tc := range []struct {
		plain    int64
		packages int64
		lastLen  int
	}{
		{0, 0, 0},
		{1, 1, 1},
		{65536, 1, 65536},
		{65537, 2, 1},
		{3 * 65536, 3, 65536},
	} {
		l, err := layoutOf(EncryptedSize(tc.plain))
		if err != nil || l.plain != tc.plain || l.packages != tc.packages || l.lastLen != tc.lastLen {
			t.Errorf("layoutOf(EncryptedSize(%d)) = %+v, %v; want %d packages, last %d",
				tc.plain, l, err, tc.packages, tc.lastLen)
		}
	}
}
