package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"
)

// confirmDestructive asks on the terminal before an irreversible action.
// Scripts pass --yes; without a terminal and without --yes it refuses.
func confirmDestructive(env *cliEnv, yes bool, what string) error {
	if yes {
		return nil
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil || !term.IsTerminal(int(tty.Fd())) {
		return fmt.Errorf("refusing to %s without confirmation: pass --yes", what)
	}
	defer tty.Close()
	fmt.Fprintf(tty, "This will %s. It cannot be undone. Type 'yes' to continue: ", what)
	line, _ := bufio.NewReader(tty).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return errors.New("aborted")
	}
	return nil
}
