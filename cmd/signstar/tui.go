package main

import (
	"errors"
	"fmt"
	"os"

	"signstar/pkg/refusal"
)

// Exit codes, documented in signstar(1).
const (
	exitOK      = 0
	exitFailed  = 1 // the request was valid but could not be carried out
	exitRefused = 2 // usage error or refused request
	exitPartial = 3 // a batch session ended early (its limits); send the rest again
)

// errorf prints one error line and exits. Nothing is ever written to stdout
// on this path: a partial signature is worse than none.
func errorf(code int, format string, v ...any) {
	fmt.Fprintf(os.Stderr, "signstar: error: "+format+"\n", v...)
	exitProcess(code)
}

// exit ends the process with the status err calls for: 0 on success, 2
// for a refused request, 1 for anything else. It prints no hint: the login
// shell's reader is the SSH client.
func exit(err error) { exitWith(err, "") }

// exitWithHint is exit for the admin CLI: the hint for err, if any,
// follows the error line.
func exitWithHint(err error) { exitWith(err, hintFor(err)) }

func exitWith(err error, hint string) {
	if err == nil {
		exitProcess(exitOK)
	}
	// A batch session that stopped early says so on a line of its own:
	// the client sends the rest again, nothing went wrong.
	var early interface{ endedEarly() }
	if errors.As(err, &early) {
		infof("%v", err)
		exitProcess(exitPartial)
	}
	code := exitFailed
	if errors.Is(err, refusal.Err) {
		code = exitRefused
	}
	fmt.Fprintf(os.Stderr, "signstar: error: %v\n", err)
	if hint != "" {
		fmt.Fprintf(os.Stderr, "signstar: hint: %s\n", hint)
	}
	exitProcess(code)
}

func warnf(format string, v ...any) {
	fmt.Fprintf(os.Stderr, "signstar: warning: "+format+"\n", v...)
}

func infof(format string, v ...any) {
	fmt.Fprintf(os.Stderr, "signstar: "+format+"\n", v...)
}
