package object

import "github.com/ssefs/ssefs/keyring"

// deletedRecord marks an object whose last name was unlinked, key 'D' ino:
// parent-ino u64 ‖ name when Named, empty otherwise (the name was taken over
// by another object, or the object is open and never held content).
type deletedRecord struct {
	Named  bool
	Parent Ino
	Name   string
}

// MarshalBinary encodes the record; an unnamed one is the empty value.
func (r deletedRecord) MarshalBinary() ([]byte, error) {
	if !r.Named {
		return nil, nil
	}
	e := make(enc, 0, 8+len(r.Name))
	e.u64(uint64(r.Parent))
	e.raw([]byte(r.Name))
	return e, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (r *deletedRecord) UnmarshalBinary(b []byte) error {
	*r = deletedRecord{}
	if len(b) == 0 {
		return nil
	}
	d := dec{b: b}
	r.Parent = Ino(d.u64())
	r.Name = string(d.rest())
	r.Named = d.err == nil
	return d.finish("deleted")
}

// tombRecord names the deleted object last known by a name, key 'T'
// parent name: ino u64.
type tombRecord struct {
	Ino Ino
}

// MarshalBinary encodes the record.
func (r tombRecord) MarshalBinary() ([]byte, error) {
	e := make(enc, 0, 8)
	e.u64(uint64(r.Ino))
	return e, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (r *tombRecord) UnmarshalBinary(b []byte) error {
	d := dec{b: b}
	r.Ino = Ino(d.u64())
	return d.finish("tombstone")
}

// orphanRecord marks an object with no name and nothing to keep, key 'O'
// ino. The key is the whole record: the value is empty.
type orphanRecord struct{}

// MarshalBinary encodes the record: nothing.
func (orphanRecord) MarshalBinary() ([]byte, error) { return nil, nil }

// UnmarshalBinary accepts only the empty value.
func (*orphanRecord) UnmarshalBinary(b []byte) error {
	d := dec{b: b}
	return d.finish("orphan")
}

// dirSSERecord is the SSE default of a directory, key 'E' dir-ino:
// ver u8 ‖ domain bytes ‖ key-name bytes ‖ fingerprint bytes, the SSEChoice
// of files created in the directory.
type dirSSERecord struct {
	Domain      keyring.Domain
	KeyName     string
	Fingerprint []byte // nil when empty
}

// MarshalBinary encodes the record.
func (r dirSSERecord) MarshalBinary() ([]byte, error) {
	e := make(enc, 0, 64)
	e.u8(recordVersion1)
	e.str(string(r.Domain))
	e.str(r.KeyName)
	e.bytes(r.Fingerprint)
	return e, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (r *dirSSERecord) UnmarshalBinary(b []byte) error {
	d := dec{b: b}
	d.version(recordVersion1)
	r.Domain = keyring.Domain(d.str())
	r.KeyName = d.str()
	r.Fingerprint = d.bytes()
	if len(r.Fingerprint) == 0 {
		r.Fingerprint = nil
	}
	return d.finish("directory SSE")
}
