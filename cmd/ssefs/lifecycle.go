package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/ssefs/ssefs/control"
	"github.com/ssefs/ssefs/object"
)

var (
	lifecycleOp = layerOp[lifecycleReq, lifecycleResp]{"POST", "/lifecycle", doLifecycle}
	gcOp        = layerOp[struct{}, object.GCReport]{"POST", "/gc", doGC}
)

// lifecycleRoutes serve `ssefs lifecycle` and `ssefs gc` on a mount.
func lifecycleRoutes() routeTable {
	return routeTable{lifecycleOp.pattern(): lifecycleOp.handler, gcOp.pattern(): gcOp.handler}
}

// layerOp is an operation of a command on the object layer, which a mount
// serves on its control socket and the command runs itself on a store that
// is not mounted. Defining both by one value keeps the route the mount
// registers and the one the command calls from drifting apart, and makes
// the two paths run the same code.
type layerOp[Req, Resp any] struct {
	method, path string
	do           func(*object.Layer, Req) (*Resp, error)
}

// pattern is the operation's route on a mount's control socket.
func (op layerOp[Req, Resp]) pattern() string { return op.method + " " + op.path }

// handler serves the operation on the mount mc.
func (op layerOp[Req, Resp]) handler(mc *mountCtx) http.Handler {
	return control.Handle(func(in Req) (*Resp, error) { return op.do(mc.l, in) })
}

// run applies req to the store at loc through its mount when one serves
// it (the mount must see every change it caches), else to the store
// opened with ks.
func (op layerOp[Req, Resp]) run(loc location, ks *keySource, req Req) (*Resp, error) {
	var resp *Resp
	err := withStore(loc, ks,
		func(c *control.Client) error { return c.Call(op.method, op.path, req, &resp) },
		func(l *object.Layer) (err error) { resp, err = op.do(l, req); return })
	return resp, err
}

type lifecycleReq struct {
	Op   string       `json:"op"` // set, show, clear
	Path control.Path `json:"path"`
	Rule object.Rule  `json:"rule"`
}

type lifecycleResp struct {
	Path control.Path `json:"path"`
	Set  bool         `json:"set"`
	Rule object.Rule  `json:"rule"`
}

func doLifecycle(l *object.Layer, in lifecycleReq) (*lifecycleResp, error) {
	n, err := l.ResolvePath(string(in.Path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in.Path, err)
	}
	switch in.Op {
	case "set":
		err = l.SetRule(n.Ino, in.Rule)
	case "clear":
		err = l.SetRule(n.Ino, object.Rule{})
	case "show":
	default:
		return nil, fmt.Errorf("unknown lifecycle operation %q", in.Op)
	}
	if err != nil {
		return nil, err
	}
	r, ok, err := l.RuleOf(n.Ino)
	return &lifecycleResp{Path: in.Path, Set: ok, Rule: r}, err
}

func runLifecycle(env *cliEnv, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(env.stderr, "usage: ssefs lifecycle set|show|clear DIR [--keep N] [--days D] [--expire-delete-markers]")
		return errUsage
	}
	op := args[0]
	fs := newFlags(env, "lifecycle "+op, "DIR")
	keep := fs.Int("keep", 0, "keep this many newest noncurrent versions")
	days := fs.Int("days", 0, "expire versions noncurrent for more than D days")
	markers := fs.Bool("expire-delete-markers", false, "remove a delete marker (and the deleted file) once no other version is left")
	asJSON := fs.Bool("json", false, "print JSON")
	storeFlag := fs.String("store", "", "the store, when it is not mounted (DIR is then a path from its root)")
	var ks keySource
	ks.register(fs)
	pos, err := parse(fs, args[1:], 1, 1)
	if err != nil {
		return err
	}
	req := lifecycleReq{Op: op, Rule: object.Rule{KeepNoncurrent: *keep, NoncurrentDays: *days, ExpireDeleteMarkers: *markers}}
	if op == "set" && req.Rule.Empty() {
		return fmt.Errorf("lifecycle set needs --keep, --days or --expire-delete-markers (use clear to remove a rule)")
	}
	loc, err := pathArg(*storeFlag, pos[0], &req.Path)
	if err != nil {
		return err
	}
	resp, err := lifecycleOp.run(loc, &ks, req)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(env.stdout).Encode(resp)
	}
	if !resp.Set {
		fmt.Fprintf(env.stdout, "%s: no rule of its own (the nearest parent's rule applies)\n", pos[0])
		return nil
	}
	r := resp.Rule
	fmt.Fprintf(env.stdout, "%s: keep %d noncurrent, expire noncurrent after %d days, expire delete markers %v (0 = no limit)\n",
		pos[0], r.KeepNoncurrent, r.NoncurrentDays, r.ExpireDeleteMarkers)
	return nil
}

// pathArg resolves a path argument to its store and the path inside it:
// with --store the argument is already a path from the store's root.
func pathArg(storeFlag, arg string, rel *control.Path) (location, error) {
	if storeFlag != "" {
		*rel = control.Path(arg)
		return locate(storeFlag)
	}
	loc, err := locate(arg)
	if err != nil {
		return loc, err
	}
	if loc.mountpoint == "" {
		return loc, fmt.Errorf("%s is not inside a mount; use --store STORE with a path from the store's root", arg)
	}
	*rel = control.Path(loc.rel)
	return loc, nil
}

func doGC(l *object.Layer, _ struct{}) (*object.GCReport, error) {
	rep, err := l.CollectGarbage(time.Now())
	return &rep, err
}

func runGC(env *cliEnv, args []string) error {
	loc, ks, err := parseStoreWide(env, "gc", args, nil)
	if err != nil {
		return err
	}
	rep, err := gcOp.run(loc, ks, struct{}{})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "scanned %d files: expired %d versions, removed %d objects and %d orphan parts, compacted %d files, %s\n",
		rep.Objects, rep.VersionsExpired, rep.ObjectsRemoved, rep.OrphanParts, rep.Compacted, freedText(rep.BytesFreed))
	return nil
}
