package main

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ssefs/ssefs/control"
	"github.com/ssefs/ssefs/keyring"
	"github.com/ssefs/ssefs/object"
)

// keyReq names the key of a key operation.
type keyReq struct {
	Name string `json:"name"`
}

// keyRoutes serve `ssefs key` on a mount.
func keyRoutes() routeTable {
	byName := func(op func(*object.Layer, string) error) func(*mountCtx) http.Handler {
		return func(mc *mountCtx) http.Handler {
			return control.Handle(func(in keyReq) (struct{}, error) { return struct{}{}, op(mc.l, in.Name) })
		}
	}
	return routeTable{
		"POST /key/create": byName((*object.Layer).KeyCreate),
		"POST /key/delete": byName((*object.Layer).KeyDelete),
		"POST /key/seal":   byName((*object.Layer).KeySeal),
		"POST /key/unseal": byName((*object.Layer).KeyUnseal),
		"GET /key/list": func(mc *mountCtx) http.Handler {
			return control.Handle(func(struct{}) ([]keyring.KeyInfo, error) { return mc.l.KeyList() })
		},
		"POST /key/rotate": func(mc *mountCtx) http.Handler {
			return control.Handle(func(in keyReq) (object.RotationStatus, error) { return mc.l.KeyRotate(in.Name) })
		},
		"GET /key/rotations": func(mc *mountCtx) http.Handler {
			// Building the mount's API is the moment it starts serving: finish the
			// rotations an earlier mount (or a crash) left unfinished.
			mc.l.ResumeRotations()
			return control.Handle(func(struct{}) ([]object.RotationStatus, error) { return mc.l.Rotations(), nil })
		},
	}
}

const keyUsage = `create NAME | list | seal NAME | unseal NAME | rotate NAME [--wait] | delete NAME [--yes]`

func runKey(env *cliEnv, args []string) error {
	fs := newFlags(env, "key", keyUsage)
	storeFlag := fs.String("store", "", "the store or a path in its mount (default: the current directory)")
	yes := fs.Bool("yes", false, "delete without asking")
	wait := fs.Bool("wait", false, "rotate: wait until every object is re-wrapped and the old version retired")
	var ks keySource
	ks.register(fs)
	pos, err := parse(fs, args, 1, 2)
	if err != nil {
		return err
	}
	verb := pos[0]
	name := ""
	if verb != "list" {
		if len(pos) != 2 {
			fs.Usage()
			return errUsage
		}
		name = pos[1]
	}
	loc, err := locateArg(*storeFlag, nil)
	if err != nil {
		return err
	}
	switch verb {
	case "create", "seal", "unseal", "delete":
		if verb == "delete" {
			if err := confirmDestructive(env, *yes, fmt.Sprintf("crypto-erase key %q: every file under it becomes unreadable forever", name)); err != nil {
				return err
			}
		}
		ops := map[string]func(*object.Layer, string) error{
			"create": (*object.Layer).KeyCreate, "seal": (*object.Layer).KeySeal,
			"unseal": (*object.Layer).KeyUnseal, "delete": (*object.Layer).KeyDelete,
		}
		err := withStore(loc, &ks,
			func(c *control.Client) error { return c.Call("POST", "/key/"+verb, keyReq{name}, nil) },
			func(l *object.Layer) error { return ops[verb](l, name) })
		if err != nil {
			return keyError(name, err)
		}
		fmt.Fprintf(env.stdout, "key %q: %s done\n", name, verb)
		return nil
	case "list":
		var keys []keyring.KeyInfo
		err := withStore(loc, &ks,
			func(c *control.Client) error { return c.Call("GET", "/key/list", nil, &keys) },
			func(l *object.Layer) (err error) { keys, err = l.KeyList(); return })
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSTATE\tVERSIONS\tID\tCREATED")
		for _, k := range keys {
			state := "active"
			if k.Sealed {
				state = "sealed"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", k.Name, state, k.Versions, k.ID, k.Created.Format(time.RFC3339))
		}
		return tw.Flush()
	case "rotate":
		return rotateKey(env, loc, &ks, name, *wait)
	}
	fs.Usage()
	return errUsage
}

// rotateKey starts (or joins) a rotation; offline it always runs to the end.
func rotateKey(env *cliEnv, loc location, ks *keySource, name string, wait bool) error {
	var s object.RotationStatus
	err := withStore(loc, ks,
		func(c *control.Client) error {
			if err := c.Call("POST", "/key/rotate", keyReq{name}, &s); err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "key %q: new version %s; re-wrapping in the background\n", name, s.NewID)
			for wait {
				var all []object.RotationStatus
				if err := c.Call("GET", "/key/rotations", nil, &all); err != nil {
					return err
				}
				for _, r := range all {
					if r.Name == name && !r.Running {
						s = r
						wait = false
					}
				}
				if wait {
					time.Sleep(100 * time.Millisecond)
				}
			}
			return nil
		},
		func(l *object.Layer) error {
			if _, err := l.KeyRotate(name); err != nil {
				return err
			}
			for {
				for _, r := range l.Rotations() {
					if r.Name == name && !r.Running {
						s = r
						return nil
					}
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	if err != nil {
		return keyError(name, err)
	}
	if s.Error != "" {
		return fmt.Errorf("rotation of %q: %s", name, s.Error)
	}
	if s.Finished {
		fmt.Fprintf(env.stdout, "key %q rotated: %d objects re-wrapped, %d skipped, %d old version(s) crypto-erased\n", name, s.Done, s.Skipped, s.Retired)
	}
	return nil
}

// keyError turns the KMS's sentinel errors, which may arrive as text over the
// control socket, into messages that say what to do.
func keyError(name string, err error) error {
	var ce *control.Error
	msg := err.Error()
	if errors.As(err, &ce) {
		msg = ce.Message
	}
	switch {
	case errors.Is(err, keyring.ErrKeyNotFound) || strings.Contains(msg, keyring.ErrKeyNotFound.Error()):
		return fmt.Errorf("no key named %q (see: ssefs key list)", name)
	case errors.Is(err, keyring.ErrKeyExists) || strings.Contains(msg, keyring.ErrKeyExists.Error()):
		return fmt.Errorf("a key named %q already exists", name)
	case errors.Is(err, keyring.ErrSealed) || strings.Contains(msg, keyring.ErrSealed.Error()):
		return fmt.Errorf("the KMS is sealed: run ssefs kms unseal first")
	}
	return err
}
