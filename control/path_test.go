package control

import (
	"encoding/json"
	"testing"
)

// TestPathRoundTrip: every byte string survives JSON, names that are not
// UTF-8 included (encoding/json alone turns their bytes into U+FFFD).
func TestPathRoundTrip(t *testing.T) {
	for _, p := range []Path{"", "dir/file", "caf\xc3\xa9/ü", "bad\xffname", "\x80", "a\x00b", "half\xe2\x82", `quote"back\slash`} {
		b, err := json.Marshal(struct {
			P Path `json:"path"`
		}{p})
		if err != nil {
			t.Fatalf("%q: %v", p, err)
		}
		var out struct {
			P Path `json:"path"`
		}
		if err := json.Unmarshal(b, &out); err != nil || out.P != p {
			t.Fatalf("%q → %s → %q, %v", p, b, out.P, err)
		}
	}
	// A valid UTF-8 path stays a plain JSON string.
	if b, _ := json.Marshal(Path("dir/é")); string(b) != `"dir/é"` {
		t.Fatalf("plain path encodes as %s", b)
	}
}
