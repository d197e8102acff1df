package object

import "fmt"

// lockMode is a retention mode as stored: an explicit byte per mode, never
// an index into a table, so reordering names cannot change the format.
type lockMode uint8

// Retention modes on disk (docs/FORMAT.md 'R' and 'W').
const (
	lockModeNone       lockMode = 0
	lockModeGovernance lockMode = 1
	lockModeCompliance lockMode = 2
)

// lockModeOf is the stored mode of a mode name. A name that is not a mode
// stores as lockModeNone, as it always has; callers pass ParseMode's result.
func lockModeOf(name string) lockMode {
	switch name {
	case ModeGovernance:
		return lockModeGovernance
	case ModeCompliance:
		return lockModeCompliance
	}
	return lockModeNone
}

// name is the S3 spelling of the mode ("" for none).
func (m lockMode) name() string {
	switch m {
	case lockModeGovernance:
		return ModeGovernance
	case lockModeCompliance:
		return ModeCompliance
	}
	return ""
}

func (m lockMode) known() bool { return m <= lockModeCompliance }

// lockRecord is the object lock of one version, key 'R' ino id:
// ver u8 ‖ mode u8 ‖ retain-until i64 (unix ns) ‖ legal-hold u8.
type lockRecord struct {
	Mode        lockMode
	RetainUntil int64 // unix nanoseconds; 0 without retention
	LegalHold   bool
}

// MarshalBinary encodes the record.
func (r lockRecord) MarshalBinary() ([]byte, error) {
	e := make(enc, 0, 11)
	e.u8(recordVersion1)
	e.u8(uint8(r.Mode))
	e.i64(r.RetainUntil)
	if r.LegalHold {
		e.u8(1)
	} else {
		e.u8(0)
	}
	return e, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote; any non-zero legal-hold
// byte is a hold.
func (r *lockRecord) UnmarshalBinary(b []byte) error {
	d := dec{b: b}
	d.version(recordVersion1)
	r.Mode = lockMode(d.u8())
	r.RetainUntil = d.i64()
	r.LegalHold = d.u8() != 0
	if d.err == nil && !r.Mode.known() {
		d.err = fmt.Errorf("retention mode %d unknown", r.Mode)
	}
	return d.finish("lock")
}

// lockRecordOf is the stored form of s. Retain-until is kept only with a
// mode.
func lockRecordOf(s LockState) lockRecord {
	r := lockRecord{Mode: lockModeOf(s.Mode), LegalHold: s.LegalHold}
	if s.Mode != "" {
		r.RetainUntil = s.RetainUntil.UnixNano()
	}
	return r
}

// lockDefaultRecord is a default retention, key 'W' ino:
// ver u8 ‖ mode u8 ‖ days u32. It always has a mode: no mode is no record.
type lockDefaultRecord struct {
	Mode lockMode
	Days uint32
}

// MarshalBinary encodes the record.
func (r lockDefaultRecord) MarshalBinary() ([]byte, error) {
	e := make(enc, 0, 6)
	e.u8(recordVersion1)
	e.u8(uint8(r.Mode))
	e.u32(r.Days)
	return e, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (r *lockDefaultRecord) UnmarshalBinary(b []byte) error {
	d := dec{b: b}
	d.version(recordVersion1)
	r.Mode = lockMode(d.u8())
	r.Days = d.u32()
	if d.err == nil && (r.Mode == lockModeNone || !r.Mode.known()) {
		d.err = fmt.Errorf("default retention mode %d unknown", r.Mode)
	}
	return d.finish("lock default")
}
