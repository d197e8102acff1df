package object

import (
	"encoding/json"
	"time"
)

// The records below are JSON, the one exception to the binary convention
// of codec.go: stores hold them in this form, and changing it would need a
// record version and an upgrade path. MarshalBinary writes exactly the
// bytes encoding/json always wrote for these structs (field order, names,
// omitempty); UnmarshalBinary refuses what encoding/json refuses, which
// includes truncated values and trailing data, as a *RecordError.

// ruleRecord is a directory's lifecycle rule, key 'L' dir-ino.
type ruleRecord struct {
	KeepNoncurrent      int  `json:"keep_noncurrent,omitempty"`
	NoncurrentDays      int  `json:"noncurrent_days,omitempty"`
	ExpireDeleteMarkers bool `json:"expire_delete_markers,omitempty"`
}

// MarshalBinary encodes the record as JSON.
func (r ruleRecord) MarshalBinary() ([]byte, error) { return marshalJSON("lifecycle rule", r) }

// UnmarshalBinary decodes what MarshalBinary wrote.
func (r *ruleRecord) UnmarshalBinary(b []byte) error {
	*r = ruleRecord{}
	return unmarshalJSON("lifecycle rule", b, r)
}

// auditRecord is one entry of the audit log, key 'A' time-ns.
type auditRecord struct {
	Time   time.Time `json:"time"`
	Op     string    `json:"op"`
	Key    string    `json:"key,omitempty"`
	Result string    `json:"result"`
	Detail string    `json:"detail,omitempty"`
}

// MarshalBinary encodes the record as JSON.
func (r auditRecord) MarshalBinary() ([]byte, error) { return marshalJSON("audit", r) }

// UnmarshalBinary decodes what MarshalBinary wrote.
func (r *auditRecord) UnmarshalBinary(b []byte) error {
	*r = auditRecord{}
	return unmarshalJSON("audit", b, r)
}

// rotationRecord is an unfinished key rotation, key 'k' key-name. It exists
// from the moment the new key version does until the old versions are
// retired, so a mount that starts finds and finishes it.
type rotationRecord struct {
	Name    string    `json:"name"`
	NewID   string    `json:"new_id"`
	Started time.Time `json:"started"`
}

// MarshalBinary encodes the record as JSON.
func (r rotationRecord) MarshalBinary() ([]byte, error) { return marshalJSON("rotation", r) }

// UnmarshalBinary decodes what MarshalBinary wrote.
func (r *rotationRecord) UnmarshalBinary(b []byte) error {
	*r = rotationRecord{}
	return unmarshalJSON("rotation", b, r)
}

func marshalJSON(record string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, &RecordError{Record: record, Err: err}
	}
	return b, nil
}

func unmarshalJSON(record string, b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return &RecordError{Record: record, Err: err}
	}
	return nil
}
