package dare

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestParseCipher(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Cipher
		ok   bool
	}{
		{"aes-256-gcm", AES256GCM, true},
		{"chacha20-poly1305", ChaCha20Poly1305, true},
		{"auto", DefaultCipher(), true},
		{"AES", 0, false},
		{"", 0, false},
	} {
		got, err := ParseCipher(tc.in)
		if tc.ok && (err != nil || got != tc.want) {
			t.Errorf("ParseCipher(%q) = %v, %v", tc.in, got, err)
		}
		if !tc.ok && !errors.Is(err, ErrUnsupportedCipher) {
			t.Errorf("ParseCipher(%q) err = %v, want ErrUnsupportedCipher", tc.in, err)
		}
	}
	for _, c := range ciphers {
		if got, err := ParseCipher(c.String()); err != nil || got != c {
			t.Errorf("ParseCipher(%v.String()) = %v, %v", c, got, err)
		}
	}
	if s := Cipher(7).String(); s != "cipher(0x07)" {
		t.Errorf("Cipher(7).String() = %q", s)
	}
}

func TestDefaultCipher(t *testing.T) {
	want := ChaCha20Poly1305
	if HasAESHardware() {
		want = AES256GCM
	}
	if DefaultCipher() != want {
		t.Errorf("DefaultCipher() = %v with HasAESHardware() = %v", DefaultCipher(), HasAESHardware())
	}
}

func TestEncryptArgs(t *testing.T) {
	if _, err := Encrypt(AES256GCM, make([]byte, 16), []byte("x")); !errors.Is(err, ErrKeySize) {
		t.Errorf("16-byte key: %v, want ErrKeySize", err)
	}
	if _, err := Encrypt(Cipher(2), make([]byte, 32), []byte("x")); !errors.Is(err, ErrUnsupportedCipher) {
		t.Errorf("cipher 2: %v, want ErrUnsupportedCipher", err)
	}
	ct, err := Encrypt(AES256GCM, make([]byte, 32), []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decrypt(make([]byte, 31), ct); !errors.Is(err, ErrKeySize) {
		t.Errorf("Decrypt with 31-byte key: %v, want ErrKeySize", err)
	}
	if _, err := DecryptAt(make([]byte, 32), bytes.NewReader(ct), int64(len(ct)), make([]byte, 1), -1); err == nil {
		t.Error("DecryptAt at offset -1 succeeded")
	}
}

func TestRoundTrip(t *testing.T) {
	for _, c := range ciphers {
		for _, size := range []int{0, 1, 100, PackageSize, 5*PackageSize + 3} {
			key, pt := randBytes(t, 32), randBytes(t, size)
			a, err := Encrypt(c, key, pt)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Encrypt(c, key, pt)
			if err != nil {
				t.Fatal(err)
			}
			if size > 0 && bytes.Equal(a[4:HeaderSize], b[4:HeaderSize]) {
				t.Errorf("%v/%d: two streams share a nonce", c, size)
			}
			if size > 0 && a[1] != byte(c) {
				t.Errorf("%v/%d: header cipher byte %d", c, size, a[1])
			}
			got, err := Decrypt(key, a)
			if err != nil || !bytes.Equal(got, pt) || got == nil {
				t.Errorf("%v/%d: Decrypt = %d bytes, %v", c, size, len(got), err)
			}
			if _, err := Decrypt(randBytes(t, 32), a); size > 0 && !errors.Is(err, ErrAuthentication) {
				t.Errorf("%v/%d: wrong key: %v", c, size, err)
			}
		}
	}
}

func TestDecryptAtEmpty(t *testing.T) {
	n, err := DecryptAt(make([]byte, 32), bytes.NewReader(nil), 0, make([]byte, 10), 0)
	if n != 0 || err != io.EOF {
		t.Errorf("empty stream: %d, %v; want 0, io.EOF", n, err)
	}
	n, err = DecryptAt(make([]byte, 32), bytes.NewReader(nil), 0, nil, 0)
	if n != 0 || err != nil {
		t.Errorf("empty read: %d, %v; want 0, nil", n, err)
	}
}
