package fs

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestSSECustomerKeyMalformed: an SSE-C key of 44 base64 characters that
// holds 33 bytes is EINVAL through the mount (ParseCustomerKey panicked,
// which the request's panic handler turned into EIO), and the file stays
// readable with its key.
func TestSSECustomerKeyMalformed(t *testing.T) {
	m := newTestMount(t)
	writeFile(t, m.path("f"), "content")
	for _, bad := range []string{strings.Repeat("A", 44), strings.Repeat("/", 44), strings.Repeat("x", 33)} {
		if err := setx(m.path("f"), xattrSSECustomerKey, bad); !errors.Is(err, syscall.EINVAL) {
			t.Errorf("SSE-C key %q: %v, want EINVAL", bad, err)
		}
	}
	if b, err := os.ReadFile(m.path("f")); err != nil || string(b) != "content" {
		t.Fatalf("after refused keys: %q, %v", b, err)
	}
}
