package bench

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/ssefs/ssefs/dare"
)

// CryptoSizes are the payloads RunCrypto measures: a small file, one DARE
// package, a FUSE write, and a part.
var CryptoSizes = []int{4 << 10, 64 << 10, 1 << 20, 4 << 20}

// CryptoRow is the speed of one cipher on one payload size, in MB/s
// (10^6 bytes), on one core and on all cores. Raw figures are the AEAD
// alone sealing or opening 64 KiB at a time, the ceiling that DARE's
// package framing, nonces and allocation must stay close to.
type CryptoRow struct {
	Cipher  string  `json:"cipher"`
	Size    int     `json:"size"`
	Workers int     `json:"workers"`
	RawSeal float64 `json:"raw_seal"`
	Encrypt float64 `json:"encrypt"`
	RawOpen float64 `json:"raw_open"`
	Decrypt float64 `json:"decrypt"`
}

// CryptoReport is the output of RunCrypto.
type CryptoReport struct {
	AESHardware bool        `json:"aes_hardware"`
	Cores       int         `json:"cores"`
	Rows        []CryptoRow `json:"rows"`
}

// RunCrypto measures each cipher and payload size for about d per figure,
// first on one core (GOMAXPROCS 1, so DARE's own parallelism cannot help)
// and then with one worker per core.
func RunCrypto(d time.Duration, progress io.Writer) (*CryptoReport, error) {
	cores := runtime.NumCPU()
	rep := &CryptoReport{AESHardware: dare.HasAESHardware(), Cores: cores}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	prev := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(prev)
	for _, workers := range []int{1, cores} {
		runtime.GOMAXPROCS(workers)
		for _, c := range []dare.Cipher{dare.AES256GCM, dare.ChaCha20Poly1305} {
			for _, size := range CryptoSizes {
				row, err := cryptoRow(c, key, size, workers, d)
				if err != nil {
					return nil, err
				}
				rep.Rows = append(rep.Rows, row)
				if progress != nil {
					fmt.Fprintf(progress, "measured %s %s on %d core(s)\n", c, sizeString(int64(size)), workers)
				}
			}
		}
		if cores == 1 {
			break
		}
	}
	return rep, nil
}

func cryptoRow(c dare.Cipher, key []byte, size, workers int, d time.Duration) (CryptoRow, error) {
	row := CryptoRow{Cipher: c.String(), Size: size, Workers: workers}
	pt := make([]byte, size)
	rand.Read(pt)
	ct, err := dare.Encrypt(c, key, pt)
	if err != nil {
		return row, fmt.Errorf("bench: dare.Encrypt: %w", err)
	}
	raw := func(open bool) func() (func() error, error) {
		return func() (func() error, error) {
			aead, err := rawAEAD(c, key)
			if err != nil {
				return nil, err
			}
			nonce := make([]byte, aead.NonceSize())
			chunks := make([][]byte, 0, (size+dare.PackageSize-1)/dare.PackageSize)
			for off := 0; off < size; off += dare.PackageSize {
				chunks = append(chunks, aead.Seal(nil, nonce, pt[off:min(off+dare.PackageSize, size)], nil))
			}
			// Each package's output goes to its own place in a buffer of the
			// whole stream, as DARE's must: reusing one hot 64 KiB buffer
			// would time the AEAD without the memory its output needs.
			out := make([]byte, len(chunks)*(dare.PackageSize+aead.Overhead()))
			return func() error {
				for i, ch := range chunks {
					dst := out[i*(dare.PackageSize+aead.Overhead()):][:0]
					if open {
						if _, err := aead.Open(dst, nonce, ch, nil); err != nil {
							return err
						}
					} else {
						aead.Seal(dst, nonce, pt[i*dare.PackageSize:min((i+1)*dare.PackageSize, size)], nil)
					}
				}
				return nil
			}, nil
		}
	}
	// The paths ssefs itself takes: sealing into a recycled buffer (the
	// spill pipeline) and random-access decryption into the caller's buffer
	// (every read).
	enc := func() (func() error, error) {
		buf := make([]byte, 0, len(ct))
		return func() error { _, err := dare.EncryptTo(buf, c, key, pt); return err }, nil
	}
	dec := func() (func() error, error) {
		out := make([]byte, size)
		r := dare.Bytes(ct) // in memory, as inline parts are read: no I/O copy
		return func() error { _, err := dare.DecryptAt(key, r, int64(len(ct)), out, 0); return err }, nil
	}
	for _, m := range []struct {
		dst *float64
		mk  func() (func() error, error)
	}{{&row.RawSeal, raw(false)}, {&row.Encrypt, enc}, {&row.RawOpen, raw(true)}, {&row.Decrypt, dec}} {
		if *m.dst, err = throughput(m.mk, size, workers, d); err != nil {
			return row, fmt.Errorf("bench: %s %d bytes: %w", c, size, err)
		}
	}
	return row, nil
}

// throughput runs one op per worker in a loop for d and returns MB/s.
func throughput(mk func() (func() error, error), size, workers int, d time.Duration) (float64, error) {
	ops := make([]func() error, workers)
	for i := range ops {
		op, err := mk()
		if err != nil {
			return 0, err
		}
		if err := op(); err != nil { // warm up and check once
			return 0, err
		}
		ops[i] = op
	}
	var total atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for _, op := range ops {
		wg.Go(func() {
			// At least one op per worker, so a worker scheduled late on a
			// busy machine still counts instead of reporting zero.
			n := int64(0)
			for {
				if err := op(); err != nil {
					firstErr.CompareAndSwap(nil, err)
					break
				}
				n++
				if !time.Now().Before(deadline) {
					break
				}
			}
			total.Add(n)
		})
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return 0, err
	}
	return float64(total.Load()) * float64(size) / 1e6 / time.Since(start).Seconds(), nil
}

func rawAEAD(c dare.Cipher, key []byte) (cipher.AEAD, error) {
	if c == dare.ChaCha20Poly1305 {
		return chacha20poly1305.New(key)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// WriteTable prints the report like `gocryptfs -speed`: a table per core
// count, MB/s with DARE's share of the raw AEAD speed.
func (rep *CryptoReport) WriteTable(w io.Writer) error {
	aes := "no (ChaCha20-Poly1305 is the default)"
	if rep.AESHardware {
		aes = "yes (AES-256-GCM is the default)"
	}
	fmt.Fprintf(w, "AES hardware: %s; %d core(s). MB/s = 10^6 bytes/s; %% = DARE / raw AEAD.\n", aes, rep.Cores)
	workers := -1
	var tw *tabwriter.Writer
	for _, r := range rep.Rows {
		if r.Workers != workers {
			if tw != nil {
				tw.Flush()
			}
			workers = r.Workers
			fmt.Fprintf(w, "\n%d core(s):\n", workers)
			tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "cipher\tsize\traw seal\tdare.EncryptTo\t%\traw open\tdare.DecryptAt\t%\t")
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.0f\t%.0f%%\t%.0f\t%.0f\t%.0f%%\t\n", r.Cipher, sizeString(int64(r.Size)),
			r.RawSeal, r.Encrypt, pct(r.Encrypt, r.RawSeal), r.RawOpen, r.Decrypt, pct(r.Decrypt, r.RawOpen))
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

func pct(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * a / b
}
