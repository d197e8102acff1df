package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/ssefs/ssefs/control"
	"github.com/ssefs/ssefs/object"
)

// versionsRoutes serve `ssefs versions` on a mount.
func versionsRoutes() routeTable {
	return routeTable{
		"POST /versions": func(mc *mountCtx) http.Handler {
			return control.Handle(func(in versionsReq) (*versionsResp, error) { return doVersions(mc.l, in) })
		},
	}
}

type versionsReq struct {
	Op            string       `json:"op"`   // list, restore, purge
	Path          control.Path `json:"path"` // relative to the mount root
	Version       uint64       `json:"version,omitempty"`
	AllNoncurrent bool         `json:"all_noncurrent,omitempty"`
}

type versionsResp struct {
	Path       control.Path         `json:"path"`
	ObjectID   uint64               `json:"object_id"`
	Versions   []object.VersionInfo `json:"versions,omitempty"`
	Restored   *object.VersionInfo  `json:"restored,omitempty"`
	Purged     int                  `json:"purged,omitempty"`
	BytesFreed int64                `json:"bytes_freed,omitempty"`
}

// doVersions serves the versions command, in a mount or on an opened store.
func doVersions(l *object.Layer, in versionsReq) (*versionsResp, error) {
	n, err := l.ResolvePath(string(in.Path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in.Path, err)
	}
	out := &versionsResp{Path: in.Path, ObjectID: uint64(n.Ino)}
	switch in.Op {
	case "list":
		out.Versions, err = l.Versions(n.Ino)
	case "restore":
		out.Restored, err = l.Restore(n.Ino, in.Version)
	case "purge":
		out.Purged, out.BytesFreed, err = l.Purge(n.Ino, in.Version, in.AllNoncurrent)
	default:
		err = fmt.Errorf("unknown versions operation %q", in.Op)
	}
	return out, err
}

func runVersions(env *cliEnv, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(env.stderr, "usage: ssefs versions list|restore|purge PATH [VERSION] [options]")
		return errUsage
	}
	op := args[0]
	fs := newFlags(env, "versions "+op, "PATH [VERSION]")
	asJSON := fs.Bool("json", false, "print JSON")
	all := fs.Bool("all-noncurrent", false, "purge: every version but the current one")
	yes := fs.Bool("yes", false, "purge: do not ask for confirmation")
	storeFlag := fs.String("store", "", "the store, when it is not mounted (PATH is then a path inside it, from its root)")
	var ks keySource
	ks.register(fs)
	var pos []string
	var err error
	switch op {
	case "list":
		pos, err = parse(fs, args[1:], 1, 1)
	case "restore":
		pos, err = parse(fs, args[1:], 2, 2)
	case "purge":
		pos, err = parse(fs, args[1:], 1, 2)
		if err == nil && (len(pos) == 2) == *all {
			return fmt.Errorf("purge takes either a VERSION or --all-noncurrent")
		}
	default:
		return fmt.Errorf("unknown versions operation %q (list, restore, purge)", op)
	}
	if err != nil {
		return err
	}
	req := versionsReq{Op: op, AllNoncurrent: *all}
	if len(pos) == 2 {
		if req.Version, err = object.ParseVersion(pos[1]); err != nil {
			return err
		}
	}
	loc, err := pathArg(*storeFlag, pos[0], &req.Path)
	if err != nil {
		return err
	}
	if op == "purge" {
		what := fmt.Sprintf("permanently delete version %d of %s", req.Version, pos[0])
		if *all {
			what = "permanently delete every noncurrent version of " + pos[0]
		}
		if err := confirmDestructive(env, *yes, what); err != nil {
			return err
		}
	}
	var resp *versionsResp
	err = withStore(loc, &ks,
		func(c *control.Client) error { return c.Call("POST", "/versions", req, &resp) },
		func(l *object.Layer) (err error) { resp, err = doVersions(l, req); return })
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(resp)
	}
	switch op {
	case "list":
		tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tCOMMITTED (UTC)\tSIZE\tSTATE")
		for _, v := range resp.Versions {
			state := ""
			switch {
			case v.DeleteMarker && v.Current:
				state = "delete marker (current)"
			case v.DeleteMarker:
				state = "delete marker"
			case v.Current:
				state = "current"
			}
			fmt.Fprintf(tw, "%d\t%s\t%d\t%s\n", v.ID, time.Unix(0, int64(v.ID)).UTC().Format("2006-01-02 15:04:05.000"), v.Size, state)
		}
		return tw.Flush()
	case "restore":
		fmt.Fprintf(env.stdout, "restored %s as new current version %d (%d bytes)\n", pos[0], resp.Restored.ID, resp.Restored.Size)
	case "purge":
		fmt.Fprintf(env.stdout, "purged %d version(s) of %s, freed %s\n", resp.Purged, pos[0], humanBytes(resp.BytesFreed))
	}
	return nil
}
