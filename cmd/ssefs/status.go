package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/ssefs/ssefs/control"
	"github.com/ssefs/ssefs/object"
)

// withStore runs live against a mount's control socket when one serves the
// store at loc, and offline against the store opened directly otherwise.
func withStore(loc location, ks *keySource, live func(*control.Client) error, offline func(*object.Layer) error) error {
	c, err := control.Dial(storeSocket(loc.store))
	if err == nil {
		return live(c)
	}
	if !errors.Is(err, control.ErrNotServing) {
		return err
	}
	st, err := ks.openStore(loc.store)
	if err != nil {
		return err
	}
	defer st.Close()
	l, err := openLayer(st)
	if err != nil {
		return err
	}
	defer l.Close()
	return offline(l)
}

func runStatus(env *cliEnv, args []string) error {
	var asJSON *bool
	loc, ks, err := parseStoreWide(env, "status", args, func(fs *flag.FlagSet) {
		asJSON = fs.Bool("json", false, "print JSON")
	})
	if err != nil {
		return err
	}
	var s *control.Status
	err = withStore(loc, ks,
		func(c *control.Client) error { return c.Call("GET", "/status", nil, &s) },
		func(l *object.Layer) (err error) { s, err = storeStatus(l, ""); return })
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	mounted := s.Mountpoint
	if mounted == "" {
		mounted = "(not mounted)"
	}
	kms := "unsealed"
	if s.KMSSealed {
		kms = "SEALED"
	}
	ratio := 0.0
	if s.PlainBytes > 0 {
		ratio = float64(s.StoredBytes) / float64(s.PlainBytes)
	}
	fmt.Fprintf(tw, "store\t%s\nstore id\t%s\nmounted on\t%s\ncipher\t%s\nobject lock\t%v\n", s.Store, s.StoreID, mounted, s.Cipher, s.ObjectLock)
	fmt.Fprintf(tw, "kms\t%s, %s, %d keys (%d sealed)\n", s.KMS, kms, s.Keys, s.SealedKeys)
	switch {
	case s.Unrecoverable > 0:
		fmt.Fprintf(tw, "unrecoverable\t%d objects (key deleted; ssefs gc can reclaim their space)\n", s.Unrecoverable)
	case s.Unrecoverable < 0:
		fmt.Fprintf(tw, "unrecoverable\tunknown while the KMS is sealed\n")
	}
	if s.Rotations > 0 {
		fmt.Fprintf(tw, "rotations\t%d running (ssefs kms status)\n", s.Rotations)
	}
	fmt.Fprintf(tw, "objects\t%d (%d files, %d deleted)\nversions\t%d\n", s.Objects, s.Files, s.Deleted, s.Versions)
	if s.ObjectLock {
		fmt.Fprintf(tw, "locked versions\t%d\n", s.Locked)
	}
	fmt.Fprintf(tw, "plaintext\t%s\nstored\t%s in %d part files + %d inline parts (%.2fx)\n",
		humanBytes(s.PlainBytes), humanBytes(s.StoredBytes), s.PartFiles, s.InlineParts, ratio)
	return tw.Flush()
}

// parseStoreWide parses the arguments of a command that acts on a whole
// store: [PATH] or --store, the key source, and the command's own flags.
func parseStoreWide(env *cliEnv, name string, args []string, own func(*flag.FlagSet)) (location, *keySource, error) {
	fs := newFlags(env, name, "[PATH]")
	storeFlag := fs.String("store", "", "the store or a path in its mount (default: PATH or the current directory)")
	ks := &keySource{}
	ks.register(fs)
	if own != nil {
		own(fs)
	}
	pos, err := parse(fs, args, 0, 1)
	if err != nil {
		return location{}, nil, err
	}
	loc, err := locateArg(*storeFlag, pos)
	return loc, ks, err
}

// locateArg resolves the store of a store-wide command from --store, a
// positional path, or the current directory.
func locateArg(storeFlag string, pos []string) (location, error) {
	switch {
	case storeFlag != "":
		return locate(storeFlag)
	case len(pos) > 0:
		return locate(pos[0])
	}
	return locate(".")
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// freedText says how much space an operation freed. Compaction can make the
// store grow (it writes a file's new parts while older versions keep the
// old ones), so the net figure may be negative: say so instead of printing
// a negative "freed".
func freedText(n int64) string {
	if n < 0 {
		return "freed nothing (the store grew by " + humanBytes(-n) + ": compaction rewrote files whose older versions keep their old parts)"
	}
	return "freed " + humanBytes(n)
}
