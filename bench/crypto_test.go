package bench

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestRunCrypto(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	rep, err := RunCrypto(time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOMAXPROCS(0) != before {
		t.Error("GOMAXPROCS not restored")
	}
	perPass := 2 * len(CryptoSizes)
	if want := perPass * min(2, runtime.NumCPU()); len(rep.Rows) != want {
		t.Fatalf("%d rows, want %d", len(rep.Rows), want)
	}
	for _, r := range rep.Rows {
		if r.RawSeal <= 0 || r.Encrypt <= 0 || r.RawOpen <= 0 || r.Decrypt <= 0 {
			t.Errorf("row without speed: %+v", r)
		}
	}
	if rep.Rows[0].Workers != 1 {
		t.Errorf("first pass on %d workers, want 1", rep.Rows[0].Workers)
	}
	var b bytes.Buffer
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"aes-256-gcm", "chacha20-poly1305", "4 MiB", "1 core(s):", "dare.DecryptAt"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestThroughputReportsErrors(t *testing.T) {
	calls := 0
	_, err := throughput(func() (func() error, error) {
		return func() error {
			calls++
			if calls > 3 {
				return errTest
			}
			return nil
		}, nil
	}, 1, 1, time.Second)
	if err != errTest {
		t.Errorf("err = %v, want errTest", err)
	}
}

var errTest = bytes.ErrTooLarge
