package dare

import "encoding/binary"

// version20 is the first byte of every DARE 2.0 package header.
const version20 = 0x20

// finalBit is the bit of header byte 4 (nonce byte 0) that marks the last
// package of a stream. It is part of the AEAD nonce, so it is authenticated.
const finalBit = 0x80

// header is a 16-byte DARE 2.0 package header; all header byte offsets live
// in its methods.
//
//	[0]     version (0x20)
//	[1]     cipher
//	[2:4]   payload length − 1, little endian
//	[4:16]  stream nonce; top bit of byte 4 = final package
type header []byte

func (h header) Version() byte      { return h[0] }
func (h header) Cipher() Cipher     { return Cipher(h[1]) }
func (h header) PayloadLen() int    { return int(binary.LittleEndian.Uint16(h[2:4])) + 1 }
func (h header) IsFinal() bool      { return h[4]&finalBit != 0 }
func (h header) Nonce() []byte      { return h[4:HeaderSize] }
func (h header) AAD() []byte        { return h[0:4] }
func (h header) setVersion()        { h[0] = version20 }
func (h header) setCipher(c Cipher) { h[1] = byte(c) }
func (h header) setPayloadLen(n int) {
	binary.LittleEndian.PutUint16(h[2:4], uint16(n-1))
}

// setNonce stores the stream nonce with the final bit forced to final.
func (h header) setNonce(nonce *[12]byte, final bool) {
	copy(h[4:HeaderSize], nonce[:])
	if final {
		h[4] |= finalBit
	} else {
		h[4] &^= finalBit
	}
}

// sameStream reports whether h carries the same stream nonce as ref,
// ignoring the final bit (checked separately against the package's position).
func (h header) sameStream(ref header) bool {
	a, b := h.Nonce(), ref.Nonce()
	var diff byte
	diff |= (a[0] ^ b[0]) &^ finalBit
	for i := 1; i < len(a); i++ {
		diff |= a[i] ^ b[i]
	}
	return diff == 0
}

// aeadNonce derives the per-package AEAD nonce: the header nonce (final bit
// included) with its last four bytes XOR the little-endian sequence number.
func (h header) aeadNonce(seq uint32) [12]byte {
	var n [12]byte
	copy(n[:], h.Nonce())
	binary.LittleEndian.PutUint32(n[8:], binary.LittleEndian.Uint32(n[8:])^seq)
	return n
}
