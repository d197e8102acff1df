package control

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Path is a file path carried in a request or an answer. A Linux file name
// is any byte string, but a JSON string holds only UTF-8 and encoding/json
// replaces every other byte with U+FFFD, so a path that is not valid UTF-8
// travels as {"base64": "..."} instead; every other path stays a plain
// string. Any byte string round-trips.
type Path string

type pathBytes struct {
	Base64 string `json:"base64"`
}

// MarshalJSON encodes p as a JSON string, or as {"base64": ...} when it is
// not valid UTF-8.
func (p Path) MarshalJSON() ([]byte, error) {
	if utf8.ValidString(string(p)) {
		return json.Marshal(string(p))
	}
	return json.Marshal(pathBytes{Base64: base64.StdEncoding.EncodeToString([]byte(p))})
}

// UnmarshalJSON accepts both forms MarshalJSON writes.
func (p *Path) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*p = Path(s)
		return nil
	}
	var pb pathBytes
	if err := json.Unmarshal(b, &pb); err != nil {
		return fmt.Errorf("control: path is neither a string nor {\"base64\": ...}: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(pb.Base64)
	if err != nil {
		return fmt.Errorf("control: path: %w", err)
	}
	*p = Path(raw)
	return nil
}
