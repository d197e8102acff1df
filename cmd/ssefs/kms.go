package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/ssefs/ssefs/control"
	"github.com/ssefs/ssefs/keyring"
	"github.com/ssefs/ssefs/object"
	"github.com/ssefs/ssefs/store"
)

// kmsStatus is what `ssefs kms status` shows.
type kmsStatus struct {
	keyring.Status
	Hook      string                  `json:"seal_hook,omitempty"`
	Rotations []object.RotationStatus `json:"rotations,omitempty"`
}

// masterKeyReq carries a master key to the mount over the 0600 control socket
// (never argv, environment or logs). JSON encodes the bytes as base64.
type masterKeyReq struct {
	Key []byte `json:"key"`
}

type hookReq struct {
	Path control.Path `json:"path"`
}

// kmsRoutes serve `ssefs kms` on a mount.
func kmsRoutes() routeTable {
	return routeTable{
		"POST /kms/seal": func(mc *mountCtx) http.Handler {
			return control.Handle(func(struct{}) (struct{}, error) { return struct{}{}, mc.l.KMSSeal() })
		},
		"POST /kms/unseal": func(mc *mountCtx) http.Handler {
			return control.Handle(func(in masterKeyReq) (struct{}, error) {
				defer clear(in.Key)
				var mk keyring.MasterKey
				if len(in.Key) != len(mk) {
					return struct{}{}, errors.New("malformed master key")
				}
				copy(mk[:], in.Key)
				return struct{}{}, mc.l.KMSUnseal(mk)
			})
		},
		"GET /kms/status": func(mc *mountCtx) http.Handler {
			return control.Handle(func(struct{}) (kmsStatus, error) { return kmsStatusOf(mc.l), nil })
		},
		"POST /kms/hook": func(mc *mountCtx) http.Handler {
			return control.Handle(func(in hookReq) (struct{}, error) { return struct{}{}, mc.l.SetSealHook(string(in.Path)) })
		},
	}
}

// sseFigures are the SSE lines of `ssefs status`.
type sseFigures struct {
	Unrecoverable int64
	Rotations     int
}

func sseStatus(l *object.Layer) sseFigures {
	var f sseFigures
	if lost, err := l.Unrecoverable(); err == nil {
		f.Unrecoverable = int64(len(lost))
	} else {
		f.Unrecoverable = -1
	}
	for _, r := range l.Rotations() {
		if r.Running {
			f.Rotations++
		}
	}
	return f
}

func kmsStatusOf(l *object.Layer) kmsStatus {
	return kmsStatus{Status: l.KMSStatus(), Hook: l.SealHook(), Rotations: l.Rotations()}
}

func runKMS(env *cliEnv, args []string) error {
	fs := newFlags(env, "kms", "seal | unseal | status | hook set PATH | hook clear")
	storeFlag := fs.String("store", "", "the store or a path in its mount (default: the current directory)")
	var ks keySource
	ks.register(fs)
	pos, err := parse(fs, args, 1, 3)
	if err != nil {
		return err
	}
	loc, err := locateArg(*storeFlag, nil)
	if err != nil {
		return err
	}
	notMounted := func(*object.Layer) error {
		return errors.New("the store is not mounted: a store at rest is always sealed; seal and unseal act on a mount")
	}
	switch {
	case pos[0] == "seal" && len(pos) == 1:
		if _, err := control.Dial(storeSocket(loc.store)); errors.Is(err, control.ErrNotServing) {
			return notMounted(nil)
		} else if err != nil {
			return err
		}
		err := withStore(loc, &ks, func(c *control.Client) error { return c.Call("POST", "/kms/seal", nil, nil) }, notMounted)
		if err == nil {
			fmt.Fprintln(env.stdout, "KMS sealed: SSE-S3 and SSE-KMS files are unreadable until ssefs kms unseal")
		}
		return err
	case pos[0] == "unseal" && len(pos) == 1:
		c, err := control.Dial(storeSocket(loc.store))
		if errors.Is(err, control.ErrNotServing) {
			return notMounted(nil)
		} else if err != nil {
			return err
		}
		cfg, err := store.LoadConfig(loc.store)
		if err != nil {
			return err
		}
		mk, err := ks.masterKey(cfg)
		if err != nil {
			return err
		}
		defer mk.Zero()
		err = c.Call("POST", "/kms/unseal", masterKeyReq{Key: mk[:]}, nil)
		if err != nil && errors.As(err, new(*control.Error)) && err.Error() == keyring.ErrWrongMasterKey.Error() {
			return errors.New("wrong passphrase or key file for this store (the KMS stays sealed)")
		}
		if err == nil {
			fmt.Fprintln(env.stdout, "KMS unsealed")
		}
		return err
	case pos[0] == "status" && len(pos) == 1:
		var s kmsStatus
		err := withStore(loc, &ks,
			func(c *control.Client) error { return c.Call("GET", "/kms/status", nil, &s) },
			func(l *object.Layer) error { s = kmsStatusOf(l); return nil })
		if err != nil {
			return err
		}
		state := "unsealed"
		if s.Sealed {
			state = "SEALED"
		}
		fmt.Fprintf(env.stdout, "kms: %s, %s, %d keys (%d sealed)\n", s.Backend, state, s.Keys, s.SealedKeys)
		if s.Hook != "" {
			fmt.Fprintf(env.stdout, "seal hook: %s\n", s.Hook)
		}
		for _, r := range s.Rotations {
			st := "running"
			switch {
			case r.Finished:
				st = "finished"
			case !r.Running:
				st = "stopped: " + r.Error
			case r.Waiting != "":
				st = r.Waiting
			}
			fmt.Fprintf(env.stdout, "rotation of %s: %d/%d re-wrapped, %s\n", r.Name, r.Done, r.Total, st)
		}
		return nil
	case pos[0] == "hook" && len(pos) >= 2:
		path := ""
		switch {
		case pos[1] == "set" && len(pos) == 3:
			abs, err := filepath.Abs(pos[2])
			if err != nil {
				return err
			}
			if fi, err := os.Stat(abs); err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
				return fmt.Errorf("%s is not an executable file", abs)
			}
			path = abs
		case pos[1] == "clear" && len(pos) == 2:
		default:
			fs.Usage()
			return errUsage
		}
		return withStore(loc, &ks,
			func(c *control.Client) error { return c.Call("POST", "/kms/hook", hookReq{control.Path(path)}, nil) },
			func(l *object.Layer) error { return l.SetSealHook(path) })
	}
	fs.Usage()
	return errUsage
}
