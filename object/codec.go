package object

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Record encoding convention. Every metadata value is a named record type
// with MarshalBinary/UnmarshalBinary (docs/FORMAT.md lists them). Binary
// records are written with enc and read with dec: fixed-width big-endian
// integers, byte strings as len u32 ‖ data, enum values as explicit bytes.
// A decoder consumes the whole value: a value that ends early or goes on
// after the last field is a *RecordError. The JSON records (lifecycle rule,
// audit record, rotation) are the one exception: their MarshalBinary keeps
// the JSON bytes stores already hold.

// Causes a RecordError wraps.
var (
	// errShort reports a record that ended before its fields did: a corrupt
	// or foreign value in the metadata database.
	errShort = errors.New("object: record truncated")
	// errTrailing reports bytes after a record's last field.
	errTrailing = errors.New("object: record has trailing bytes")
)

// RecordError reports a metadata value that does not decode as the record
// its key names: truncated, longer than its fields, or with a record
// version or enum value this code does not know.
type RecordError struct {
	Record string // which record: "inode", "version", "lock", ...
	Err    error  // errShort, errTrailing, or what was wrong
}

func (e *RecordError) Error() string {
	return "object: decoding " + e.Record + " record: " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *RecordError) Unwrap() error { return e.Err }

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

// raw appends b without a length: only for a record's last field, whose
// length is the rest of the value.
func (e *enc) raw(b []byte) { *e = append(*e, b...) }

// dec reads what enc wrote; the first short read sticks in err.
type dec struct {
	b   []byte
	err error
}

func (d *dec) take(n int) []byte {
	if d.err != nil || len(d.b) < n {
		if d.err == nil {
			d.err = errShort
		}
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

// rest returns a copy of the remaining bytes: the last field of a record
// that raw wrote.
func (d *dec) rest() []byte {
	if d.err != nil {
		return nil
	}
	v := append([]byte(nil), d.b...)
	d.b = nil
	return v
}

// version reads a record's version byte; one that is not in want is the
// decoding error.
func (d *dec) version(want ...uint8) uint8 {
	v := d.u8()
	if d.err != nil {
		return v
	}
	for _, w := range want {
		if v == w {
			return v
		}
	}
	d.err = fmt.Errorf("record version %d unsupported", v)
	return v
}

// finish ends decoding record: the first error seen, or errTrailing if
// bytes are left, as a *RecordError; nil when the value was exactly one
// record.
func (d *dec) finish(record string) error {
	if d.err == nil && len(d.b) > 0 {
		d.err = errTrailing
	}
	if d.err != nil {
		return &RecordError{Record: record, Err: d.err}
	}
	return nil
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }
