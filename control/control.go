// Package control is the admin channel of a live mount: HTTP+JSON over a
// unix socket (mode 0600) inside the store directory. The mount serves it;
// admin commands are its clients. Badger admits one process per store, so
// while a store is mounted this socket is the only way in.
package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

// ErrNotServing means no mount answers on the socket.
var ErrNotServing = errors.New("control: no mount is serving this store")

// ErrPermission means the caller may not reach the socket (mode 0600, in a
// 0700 store directory): the store belongs to another user, who (or root)
// must run the command. It is not ErrNotServing: the store may well be
// mounted, and opening it directly would fail for the same reason.
var ErrPermission = errors.New("control: permission denied")

// Server serves the control API of one mount.
type Server struct {
	srv  *http.Server
	path string
}

// Serve listens on the unix socket at path, replacing a stale socket left by
// a killed mount, and serves h until Close.
func Serve(path string, h http.Handler) (*Server, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("control: %s is already served by another mount", path)
	}
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control: listening on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control: securing %s: %w", path, err)
	}
	s := &Server{srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, path: path}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops serving and removes the socket.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	os.Remove(s.path)
	return err
}

// Client talks to a mount's control socket.
type Client struct {
	hc *http.Client
}

// Dial returns a client for the socket at path, or ErrNotServing when no
// mount listens there.
func Dial(path string) (*Client, error) {
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if errors.Is(err, os.ErrPermission) {
		return nil, fmt.Errorf("%w on %s: the store belongs to another user; run the command as that user or root", ErrPermission, path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNotServing, err)
	}
	c.Close()
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}
	return &Client{hc: &http.Client{Transport: tr}}, nil
}

// Error is how the server reports a failed request.
type Error struct {
	Message string `json:"error"`
}

func (e *Error) Error() string { return e.Message }

// Call sends in as JSON to method path and decodes the answer into out.
func (c *Client) Call(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("control: encoding request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://ssefs"+path, body)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("control: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e Error
		if json.NewDecoder(resp.Body).Decode(&e) == nil && e.Message != "" {
			return &e
		}
		return fmt.Errorf("control: %s %s: %s", method, path, resp.Status)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Handle adapts a typed function to an http.Handler: the request body is
// decoded into In, the result encoded as JSON, an error reported as Error.
func Handle[In, Out any](fn func(In) (Out, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in In
		if r.ContentLength != 0 {
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil && !errors.Is(err, io.EOF) {
				writeJSON(w, http.StatusBadRequest, &Error{Message: "bad request: " + err.Error()})
				return
			}
		}
		out, err := fn(in)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, &Error{Message: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// Status is what GET /status returns and `ssefs status` prints.
type Status struct {
	StoreID     string `json:"store_id"`
	Store       string `json:"store"`
	Mountpoint  string `json:"mountpoint,omitempty"`
	Cipher      string `json:"cipher"`
	ObjectLock  bool   `json:"object_lock"`
	KMS         string `json:"kms"`
	KMSSealed   bool   `json:"kms_sealed"`
	Keys        int    `json:"keys"`
	Objects     int64  `json:"objects"`
	Files       int64  `json:"files"`
	Versions    int64  `json:"versions"`
	Deleted     int64  `json:"deleted_objects"`
	Locked      int64  `json:"locked_versions"`
	PlainBytes  int64  `json:"plaintext_bytes"`
	StoredBytes int64  `json:"stored_bytes"`
	PartFiles   int64  `json:"part_files"`
	InlineParts int64  `json:"inline_parts"`

	// SSE: Unrecoverable counts objects whose key was deleted (crypto-erased), -1
	// while the KMS is sealed and it cannot be known.
	SealedKeys    int   `json:"sealed_keys"`
	Unrecoverable int64 `json:"unrecoverable_objects"`
	Rotations     int   `json:"rotations_running,omitempty"`
}
