package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"text/tabwriter"

	"golang.org/x/sys/unix"

	"github.com/ssefs/ssefs/control"
	"github.com/ssefs/ssefs/keyring"
	"github.com/ssefs/ssefs/object"
)

// The SSE attributes the mount serves (fs/xattr_sse.go); `ssefs sse` is a front end
// to them, so it needs a path inside a live mount.
const (
	xattrSSE         = "user.ssefs.sse"
	xattrSSEType     = "user.ssefs.sse.type"
	xattrKMSKeyID    = "user.ssefs.sse.kms-key-id"
	xattrCustomerKey = "user.ssefs.sse.customer-key"
	xattrCustomerMD5 = "user.ssefs.sse.customer-key-md5"
)

const sseUsage = `set PATH (--kms NAME | --sse-s3 | --customer-key-file FILE [--customer-key-md5 MD5]) [-r] | show PATH...`

func runSSE(env *cliEnv, args []string) error {
	fset := newFlags(env, "sse", sseUsage)
	kms := fset.String("kms", "", "SSE-KMS: the key NAME (a directory: default for new files; a file: re-wrap onto it)")
	s3 := fset.Bool("sse-s3", false, "SSE-S3: the store's deployment key (a directory: remove its default)")
	ckFile := fset.String("customer-key-file", "", "SSE-C: `FILE` holding the base64 of a 32-byte key (held in the mount's memory only)")
	ckMD5 := fset.String("customer-key-md5", "", "SSE-C: base64 MD5 of the key, checked as S3 does")
	recursive := fset.Bool("r", false, "set: also re-wrap every existing file below a directory")
	asJSON := fset.Bool("json", false, "show: print JSON")
	pos, err := parse(fset, args, 2, -1)
	if err != nil {
		return err
	}
	switch pos[0] {
	case "show":
		return sseShow(env, pos[1:], *asJSON)
	case "set":
		if len(pos) != 2 {
			break
		}
		n := 0
		for _, set := range []bool{*kms != "", *s3, *ckFile != ""} {
			if set {
				n++
			}
		}
		if n != 1 {
			return errors.New("sse set: give exactly one of --kms NAME, --sse-s3, --customer-key-file FILE")
		}
		return sseSet(env, pos[1], *kms, *s3, *ckFile, *ckMD5, *recursive)
	}
	fset.Usage()
	return errUsage
}

func mountedPath(p string) (string, location, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", location{}, err
	}
	loc, ok := findMount(abs)
	if !ok {
		return "", loc, fmt.Errorf("%s is not in an ssefs mount (sse acts on a mounted store)", p)
	}
	return abs, loc, nil
}

func sseSet(env *cliEnv, p, kms string, s3 bool, ckFile, ckMD5 string, recursive bool) error {
	abs, loc, err := mountedPath(p)
	if err != nil {
		return err
	}
	var name, value string
	var secret []byte
	switch {
	case kms != "":
		name, value = xattrKMSKeyID, kms
		if err := checkKeyExists(loc, kms); err != nil {
			return err
		}
	case s3:
		name, value = xattrSSEType, string(keyring.DomainSSES3)
	default:
		b, err := os.ReadFile(ckFile)
		if err != nil {
			return fmt.Errorf("reading customer key: %w", err)
		}
		defer clear(b)
		name, secret = xattrCustomerKey, b
	}
	set := func(path string) error {
		if secret != nil {
			if ckMD5 != "" {
				if err := unix.Setxattr(path, xattrCustomerMD5, []byte(ckMD5), 0); err != nil {
					return sseErr(path, err)
				}
			}
			return sseErr(path, unix.Setxattr(path, name, secret, 0))
		}
		return sseErr(path, unix.Setxattr(path, name, []byte(value), 0))
	}
	if err := set(abs); err != nil {
		return err
	}
	count := 0
	if fi, err := os.Stat(abs); err == nil && fi.IsDir() && recursive {
		err := filepath.WalkDir(abs, func(q string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			if err := set(q); err != nil {
				return err
			}
			count++
			return nil
		})
		if err != nil {
			return err
		}
	}
	if count > 0 {
		fmt.Fprintf(env.stdout, "%s: set; %d files re-wrapped\n", p, count)
	} else {
		fmt.Fprintf(env.stdout, "%s: set\n", p)
	}
	return nil
}

// checkKeyExists makes an unknown key name a clear error rather than an errno.
func checkKeyExists(loc location, name string) error {
	if name == keyring.DefaultKeyName {
		return nil
	}
	c, err := control.Dial(storeSocket(loc.store))
	if err != nil {
		return err
	}
	var keys []keyring.KeyInfo
	if err := c.Call("GET", "/key/list", nil, &keys); err != nil {
		return keyError(name, err)
	}
	for _, k := range keys {
		if k.Name == name {
			return nil
		}
	}
	return fmt.Errorf("no key named %q (create it with: ssefs key create %s)", name, name)
}

// sseErr explains the errnos of the SSE attributes.
func sseErr(p string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.ENOKEY):
		return fmt.Errorf("%s: key not available (KMS or key sealed, unknown key, or SSE-C key not supplied): %w", p, err)
	case errors.Is(err, syscall.EKEYREVOKED):
		return fmt.Errorf("%s: its key was deleted; the file is unrecoverable: %w", p, err)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("%s: wrong SSE-C key: %w", p, err)
	case errors.Is(err, syscall.EINVAL):
		return fmt.Errorf("%s: invalid key (SSE-C: base64 of 32 bytes, matching --customer-key-md5): %w", p, err)
	}
	return fmt.Errorf("%s: %w", p, err)
}

func sseShow(env *cliEnv, paths []string, asJSON bool) error {
	type row struct {
		Path string `json:"path"`
		object.SSEInfo
	}
	var rows []row
	for _, p := range paths {
		abs, _, err := mountedPath(p)
		if err != nil {
			return err
		}
		buf := make([]byte, 4096)
		n, err := unix.Getxattr(abs, xattrSSE, buf)
		if err != nil {
			return sseErr(p, err)
		}
		r := row{Path: p}
		if err := json.Unmarshal(buf[:n], &r.SSEInfo); err != nil {
			return err
		}
		rows = append(rows, r)
	}
	if asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PATH\tTYPE\tKEY\tSTATUS")
	for _, r := range rows {
		key := r.KeyName
		if r.Type == string(keyring.DomainSSEC) {
			key = "fingerprint " + r.Fingerprint[:16]
		}
		if r.Default {
			r.Type += " (default for new files)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Path, r.Type, key, r.Status)
	}
	return tw.Flush()
}
