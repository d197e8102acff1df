package main

import (
	"strings"
	"testing"
)

// The control routes and the commands are tables built on demand: every
// route is "METHOD /path" with a handler, every command has a summary and
// a function.
func TestCommandAndRouteTables(t *testing.T) {
	routes := newAdminRoutes()
	if len(routes) == 0 {
		t.Fatal("no control routes")
	}
	for pattern, h := range routes {
		method, path, ok := strings.Cut(pattern, " ")
		if !ok || (method != "GET" && method != "POST") || !strings.HasPrefix(path, "/") || h == nil {
			t.Errorf("route %q is malformed or has no handler", pattern)
		}
	}
	for name, c := range newCommands() {
		if c.summary == "" || c.run == nil {
			t.Errorf("command %q lacks a summary or a function", name)
		}
	}
}
