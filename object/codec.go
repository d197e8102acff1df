package object

import (
	"encoding/binary"
	"errors"
	"io"
)

// errShort reports a record that ended before its fields did: a corrupt or
// foreign value in the metadata database.
var errShort = errors.New("object: record truncated")

// enc appends fixed-width big-endian fields; records are small and hot, so a
// hand-rolled codec beats reflection and keeps the byte layout explicit.
type enc []byte

func (e *enc) u8(v uint8)   { *e = append(*e, v) }
func (e *enc) u32(v uint32) { *e = binary.BigEndian.AppendUint32(*e, v) }
func (e *enc) u64(v uint64) { *e = binary.BigEndian.AppendUint64(*e, v) }
func (e *enc) i64(v int64)  { e.u64(uint64(v)) }
func (e *enc) bytes(b []byte) {
	e.u32(uint32(len(b)))
	*e = append(*e, b...)
}
func (e *enc) str(s string) { e.bytes([]byte(s)) }

// dec reads what enc wrote; the first short read sticks in err.
type dec struct {
	b   []byte
	err error
}

func (d *dec) take(n int) []byte {
	if d.err != nil || len(d.b) < n {
		d.err = errShort
		return make([]byte, n)
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}
func (d *dec) u8() uint8   { return d.take(1)[0] }
func (d *dec) u32() uint32 { return binary.BigEndian.Uint32(d.take(4)) }
func (d *dec) u64() uint64 { return binary.BigEndian.Uint64(d.take(8)) }
func (d *dec) i64() int64  { return int64(d.u64()) }
func (d *dec) bytes() []byte {
	n := d.u32()
	if d.err == nil && uint64(n) > uint64(len(d.b)) {
		d.err = errShort
		return nil
	}
	return append([]byte(nil), d.take(int(n))...)
}
func (d *dec) str() string { return string(d.bytes()) }

func uint64FromBytes(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

func isEOF(err error) bool { return errors.Is(err, io.EOF) }
