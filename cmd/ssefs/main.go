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

// newCommands is the table of subcommands, by name.
func newCommands() map[string]command {
	return map[string]command{
		"audit":       {"show the audit log of key operations", runAudit},
		"bench":       {"compare speed with gocryptfs, securefs, CryFS, EncFS, rclone; 'bench crypto' for AEAD speed", runBench},
		"gc":          {"apply lifecycle rules now and remove unreferenced parts", runGC},
		"init":        {"create a new encrypted store", runInit},
		"key":         {"create, list, seal, unseal, rotate or delete SSE-KMS keys", runKey},
		"kms":         {"seal, unseal or show the KMS; set the seal hook", runKMS},
		"legal-hold":  {"turn the legal hold of a file version on or off", runLegalHold},
		"lifecycle":   {"set, show or clear version expiry rules of a directory", runLifecycle},
		"mount":       {"mount a store (goes to the background once ready; -f stays)", runMount},
		"object-lock": {"explain how object lock is enabled", runObjectLock},
		"passphrase":  {"change the passphrase (or key file) that protects a store", runPassphrase},
		"retention":   {"set or show the object-lock retention of a file version", runRetention},
		"sse":         {"set or show the encryption (SSE-S3, SSE-KMS, SSE-C) of a file or directory", runSSE},
		"status":      {"show a store's state (through its mount if mounted)", runStatus},
		"umount":      {"unmount a mounted store and wait for the mount to finish", runUmount},
		"versions":    {"list, restore or purge the versions of a file", runVersions},
	}
}

func usage(w io.Writer, commands map[string]command) {
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
	commands := newCommands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.stdout, commands)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "ssefs: unknown command %q\n", args[0])
		usage(env.stderr, commands)
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
