package main

// How sshd starts signstar, and what the client asked for. sshd(8) runs
// the account's shell as "-shell" (no command) or "shell -c COMMAND".

import (
	"os"
	"path/filepath"
	"strings"

	"signstar/pkg/remote"
)

// forcedCommand is the ForceCommand of the shipped sshd drop-in. sshd runs
// "<shell> -c <forced command>" and exports the client's own command as
// SSH_ORIGINAL_COMMAND only if the client sent one, so this word stands for
// "the client sent nothing".
const forcedCommand = "signstar"

// loginShell reports whether sshd started signstar as a login shell, and
// the client's request line if so.
func loginShell(args []string) (line string, ok bool, err error) {
	switch {
	case len(args) > 0 && strings.HasPrefix(filepath.Base(args[0]), "-"):
		// sshd(8): a session without a command runs the shell with
		// argv[0] prefixed by '-'.
		return os.Getenv("SSH_ORIGINAL_COMMAND"), true, nil
	case len(args) > 1 && args[1] == "-c":
		if len(args) != 3 {
			return "", true, remote.Refusef("expected exactly one command after -c")
		}
		if orig, set := os.LookupEnv("SSH_ORIGINAL_COMMAND"); set {
			return orig, true, nil
		}
		if args[2] == forcedCommand {
			return "", true, nil
		}
		return args[2], true, nil
	}
	return "", false, nil
}
