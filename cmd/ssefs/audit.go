package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/ssefs/ssefs/control"
	"github.com/ssefs/ssefs/object"
)

type auditReq struct {
	Limit int `json:"limit"`
}

// auditRoutes serve `ssefs audit` on a mount.
func auditRoutes() routeTable {
	return routeTable{
		"POST /audit": func(mc *mountCtx) http.Handler {
			return control.Handle(func(in auditReq) ([]object.AuditRecord, error) { return mc.l.Audit(in.Limit) })
		},
	}
}

func runAudit(env *cliEnv, args []string) error {
	var limit *int
	var asJSON *bool
	loc, ks, err := parseStoreWide(env, "audit", args, func(fs *flag.FlagSet) {
		limit = fs.Int("n", 0, "show only the newest `N` records")
		asJSON = fs.Bool("json", false, "print JSON")
	})
	if err != nil {
		return err
	}
	var recs []object.AuditRecord
	err = withStore(loc, ks,
		func(c *control.Client) error { return c.Call("POST", "/audit", auditReq{*limit}, &recs) },
		func(l *object.Layer) (err error) { recs, err = l.Audit(*limit); return })
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(recs)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tOPERATION\tKEY\tRESULT\tDETAIL")
	for _, r := range recs {
		key := r.Key
		if key == "" {
			key = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Time.Local().Format(time.RFC3339), r.Op, key, r.Result, r.Detail)
	}
	return tw.Flush()
}
