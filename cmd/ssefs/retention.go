package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/ssefs/ssefs/control"
	"github.com/ssefs/ssefs/object"
)

// lockRoutes serve the object-lock commands (docs/LOCK.md) on a mount. The
// control socket is 0600, so whoever can call it is root or the store
// owner: that is who may --bypass-governance.
func lockRoutes() routeTable { return routeTable{lockOp.pattern(): lockOp.handler} }

var lockOp = layerOp[lockReq, lockResp]{"POST", "/lock", doLock}

type lockReq struct {
	Op      string       `json:"op"` // show, set, hold
	Path    control.Path `json:"path"`
	Version uint64       `json:"version,omitempty"`
	Mode    string       `json:"mode,omitempty"`
	Until   time.Time    `json:"until,omitzero"`
	Bypass  bool         `json:"bypass_governance,omitempty"`
	Hold    bool         `json:"hold,omitempty"`
	Days    int          `json:"days,omitempty"` // default
}

type lockResp struct {
	Path     control.Path        `json:"path"`
	ObjectID uint64              `json:"object_id"`
	Lock     object.LockState    `json:"lock"`
	Default  *object.LockDefault `json:"default,omitempty"`
}

func doLock(l *object.Layer, in lockReq) (*lockResp, error) {
	n, err := l.ResolvePath(string(in.Path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in.Path, err)
	}
	out := &lockResp{Path: in.Path, ObjectID: uint64(n.Ino)}
	switch in.Op {
	case "show":
		out.Lock, err = l.LockOf(n.Ino, in.Version)
	case "set":
		out.Lock, err = l.SetRetention(n.Ino, in.Version, in.Mode, in.Until, in.Bypass)
	case "hold":
		out.Lock, err = l.SetLegalHold(n.Ino, in.Version, in.Hold)
	case "default":
		d := object.LockDefault{Mode: in.Mode, Days: in.Days}
		if err = l.SetLockDefault(n.Ino, d); err == nil {
			d, err = l.LockDefaultOf(n.Ino)
			out.Default = &d
		}
	default:
		err = fmt.Errorf("unknown lock operation %q", in.Op)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in.Path, err)
	}
	return out, nil
}

func runRetention(env *cliEnv, args []string) error {
	if len(args) == 0 || (args[0] != "set" && args[0] != "show" && args[0] != "default") {
		fmt.Fprintln(env.stderr, "usage: ssefs retention set|show PATH [options]\n       ssefs retention default DIR --mode M --days N | --mode none")
		return errUsage
	}
	op := args[0]
	fs := newFlags(env, "retention "+op, "PATH")
	mode := fs.String("mode", "", "set: GOVERNANCE or COMPLIANCE; \"none\" removes the retention")
	until := fs.String("until", "", "set: retain until this RFC 3339 time")
	days := fs.Int("days", 0, "set: retain for this many days from now")
	bypass := fs.Bool("bypass-governance", false, "set: allow shortening or removing a GOVERNANCE retention (store owner only; audited)")
	lc := newLockCmd(fs)
	req, err := lc.parse(args[1:], op)
	if err != nil {
		return err
	}
	req.Bypass = *bypass
	if op == "default" {
		if *mode != "none" && *mode != "NONE" {
			req.Mode, req.Days = *mode, *days
		}
	}
	if op == "set" {
		switch {
		case *mode == "none" || *mode == "NONE":
			if *until != "" || *days != 0 {
				return fmt.Errorf("--mode none takes neither --until nor --days")
			}
		case *mode == "":
			return fmt.Errorf("retention set needs --mode GOVERNANCE|COMPLIANCE|none")
		default:
			if req.Mode, err = object.ParseMode(*mode); err != nil {
				return err
			}
			if (*until == "") == (*days == 0) {
				return fmt.Errorf("retention set needs either --until RFC3339 or --days N")
			}
			if *days != 0 {
				if *days < 0 {
					return fmt.Errorf("--days must be positive")
				}
				req.Until = time.Now().Add(time.Duration(*days) * 24 * time.Hour)
			} else if req.Until, err = time.Parse(time.RFC3339, *until); err != nil {
				return fmt.Errorf("--until: %w", err)
			}
		}
	}
	return lc.apply(env, req)
}

func runLegalHold(env *cliEnv, args []string) error {
	if len(args) == 0 || (args[0] != "on" && args[0] != "off") {
		fmt.Fprintln(env.stderr, "usage: ssefs legal-hold on|off PATH [--version V]")
		return errUsage
	}
	lc := newLockCmd(newFlags(env, "legal-hold "+args[0], "PATH"))
	req, err := lc.parse(args[1:], "hold")
	if err != nil {
		return err
	}
	req.Hold = args[0] == "on"
	return lc.apply(env, req)
}

// lockCmd holds what the object-lock commands share, so that retention
// and legal-hold name a file version, find its store and print the
// result the same way: one PATH, --version, --store, --json and the key
// source.
type lockCmd struct {
	fs        *flag.FlagSet
	version   *string
	asJSON    *bool
	storeFlag *string
	ks        keySource
	path      string // the PATH argument, once parsed
}

// newLockCmd registers the shared flags on fs, next to the command's own.
func newLockCmd(fs *flag.FlagSet) *lockCmd {
	c := &lockCmd{fs: fs}
	c.version = fs.String("version", "", "a version id or versions-view name (default: the current version)")
	c.asJSON = fs.Bool("json", false, "print JSON")
	c.storeFlag = fs.String("store", "", "the store, when it is not mounted (PATH is then a path inside it, from its root)")
	c.ks.register(fs)
	return c
}

// parse parses args and returns the request for op with the version
// filled in; the command adds its own fields.
func (c *lockCmd) parse(args []string, op string) (lockReq, error) {
	req := lockReq{Op: op}
	pos, err := parse(c.fs, args, 1, 1)
	if err != nil {
		return req, err
	}
	c.path = pos[0]
	if *c.version != "" {
		if req.Version, err = object.ParseVersion(*c.version); err != nil {
			return req, err
		}
	}
	return req, nil
}

// apply sends req for the parsed PATH to its mount, or applies it to the
// store, and prints the resulting lock state.
func (c *lockCmd) apply(env *cliEnv, req lockReq) error {
	loc, err := pathArg(*c.storeFlag, c.path, &req.Path)
	if err != nil {
		return err
	}
	resp, err := lockOp.run(loc, &c.ks, req)
	if err != nil {
		return err
	}
	return printLock(env, resp, *c.asJSON)
}

func printLock(env *cliEnv, resp *lockResp, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(resp)
	}
	if resp.Default != nil {
		if resp.Default.Mode == "" {
			fmt.Fprintf(env.stdout, "%s: no default retention\n", resp.Path)
		} else {
			fmt.Fprintf(env.stdout, "%s: new versions under it get %s retention for %d days\n", resp.Path, resp.Default.Mode, resp.Default.Days)
		}
		return nil
	}
	s := resp.Lock
	fmt.Fprintf(env.stdout, "%s version %d\n", resp.Path, s.Version)
	if s.Mode == "" {
		fmt.Fprintln(env.stdout, "retention\tnone")
	} else {
		state := "expired"
		if time.Now().Before(s.RetainUntil) {
			state = "active"
		}
		fmt.Fprintf(env.stdout, "retention\t%s until %s (%s)\n", s.Mode, s.RetainUntil.Format(time.RFC3339), state)
	}
	hold := "off"
	if s.LegalHold {
		hold = "on"
	}
	fmt.Fprintf(env.stdout, "legal hold\t%s\n", hold)
	return nil
}

// runObjectLock exists to say why object lock cannot be switched later.
func runObjectLock(env *cliEnv, args []string) error {
	return fmt.Errorf("object lock can only be chosen when a store is created (ssefs init --object-lock) and can never be enabled or disabled afterwards: " +
		"locked versions must stay locked for the life of the store, and versions written before it was enabled carry no lock")
}
