package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
)

// errUsage reports bad arguments after the flag package printed usage.
var errUsage = errors.New("usage")

// newFlags returns a flag set that prints to env's stderr and whose usage
// line names the command and its positional arguments.
func newFlags(env *cliEnv, name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "usage: ssefs %s [options] %s\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args allowing flags after positional arguments too, as
// users of mount(8)-like commands expect, and checks the positional count.
func parse(fs *flag.FlagSet, args []string, minPos, maxPos int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errUsage
			}
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) < minPos || (maxPos >= 0 && len(pos) > maxPos) {
		fs.Usage()
		return nil, errUsage
	}
	return pos, nil
}

// multiFlag collects a repeatable string flag such as -o.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
