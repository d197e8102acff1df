// Command ssefs creates, mounts and administers ssefs stores: encrypted,
// versioned filesystems with MinIO-style server-side encryption.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one subcommand; run gets the arguments after its name.
type command struct {
	summary string
	run     func(env *cliEnv, args []string) error
}

// cliEnv carries the process's streams so tests can run commands in-process.
type cliEnv struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

var commands = map[string]command{}

func register(name, summary string, run func(*cliEnv, []string) error) {
	commands[name] = command{summary: summary, run: run}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: ssefs COMMAND [options] [args]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	width := 0
	for n := range commands {
		names = append(names, n)
		width = max(width, len(n))
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-*s %s\n", width, n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'ssefs COMMAND -h' for a command's options.")
}

// Main runs the command line and returns the exit code.
func Main(env *cliEnv, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "ssefs: unknown command %q\n", args[0])
		usage(env.stderr)
		return 2
	}
	if err := cmd.run(env, args[1:]); err != nil {
		if err == errUsage {
			return 2
		}
		fmt.Fprintf(env.stderr, "ssefs %s: %s\n", args[0], strings.TrimPrefix(err.Error(), "ssefs: "))
		return 1
	}
	return 0
}

func main() {
	os.Exit(Main(&cliEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:]))
}
