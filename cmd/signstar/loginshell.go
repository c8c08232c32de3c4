//go:build linux && cgo

package main

// The login shell, part one: how sshd starts signstar, what the client
// asked for, and the environment it may keep; serve.go carries the
// request out. sshd(8) runs the account's shell as "-shell" (no command)
// or "shell -c COMMAND", where COMMAND is the client's own command or, if
// one is in force, the forced command (sshd_config's ForceCommand wins
// over authorized_keys' command=; OpenSSH 9.2 session.c do_exec). Under
// another shell (bash), a forced command that names the binary starts
// signstar with no arguments.

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"signstar/pkg/modules"
	"signstar/pkg/refusal"
	"signstar/pkg/remote"
	"signstar/pkg/sandbox"
)

// runLoginShell serves the client and exits if sshd started signstar as
// a login shell (loginShell); otherwise it returns, and main runs the
// command line. Either way it first closes what signstar inherited.
func runLoginShell() {
	// sshd may leak descriptors into the login shell; close them before
	// anything else is opened.
	if err := sandbox.CloseInherited(); err != nil {
		errorf(exitFailed, "close inherited file descriptors: %v", err)
	}
	line, ok, err := loginShell(os.Args, os.LookupEnv)
	if !ok {
		return
	}
	// Before the config is read or a module loaded: nothing a client set
	// through sshd's AcceptEnv reaches them.
	clearEnv()
	exit(serveClient(line, err))
}

// program is the word a forced command starts with: sshd passes the whole
// forced command to the shell, so an admin writes it as a command line.
const program = "signstar"

// loginShell reports whether sshd started signstar as a login shell, and
// the client's request line if so. lookup is os.LookupEnv. An error is a
// refusal of the client's request, returned with the line the client sent.
func loginShell(args []string, lookup func(string) (string, bool)) (line string, ok bool, err error) {
	orig, forced := lookup("SSH_ORIGINAL_COMMAND")
	_, inSession := lookup("SSH_CONNECTION")
	switch {
	case len(args) > 0 && strings.HasPrefix(filepath.Base(args[0]), "-"):
		// sshd(8): a session without a command runs the shell with
		// argv[0] prefixed by '-'.
		return orig, true, nil
	case len(args) == 1 && inSession:
		// "ForceCommand /usr/bin/signstar" or command="signstar" under
		// an ordinary shell: "bash -c /usr/bin/signstar" runs signstar
		// with no arguments. An admin running the CLI in an SSH session
		// gives it arguments, and stays in the CLI.
		return orig, true, nil
	case len(args) > 1 && args[1] == "-c":
		if len(args) != 3 {
			return "", true, refusal.Errorf("expected exactly one command after -c")
		}
		line, err := requestLine(args[2], orig, forced)
		return line, true, err
	}
	return "", false, nil
}

// requestLine picks the request from the command sshd passed with -c and
// the client's own command. sshd sets SSH_ORIGINAL_COMMAND only when a
// forced command is in force and the client sent a command (OpenSSH 9.2
// session.c do_setup_env), so without it the command is either the
// client's or a forced one the client left alone: either way it runs.
//
// A forced command that is more than the program word pins the request:
// a client may send nothing or that same request, and is refused anything
// else, so a key restricted with command="signstar sign --key pkg" can
// never sign with another key.
func requestLine(command, orig string, forced bool) (string, error) {
	pinned := stripProgram(command)
	if !forced || strings.TrimSpace(orig) == "" {
		return pinned, nil
	}
	if strings.TrimSpace(pinned) == "" {
		return orig, nil // the bare program word: the client chooses
	}
	want, err := remote.Parse(pinned)
	if err != nil {
		// The admin's words, not the client's: not the client's fault.
		return orig, errors.New("the forced command (sshd ForceCommand or authorized_keys command=) is not a signstar request")
	}
	if got, err := remote.Parse(orig); err != nil || !got.Equal(want) {
		return orig, refusal.Errorf("this key may only run: %s", strings.Join(strings.Fields(pinned), " "))
	}
	return pinned, nil
}

// stripProgram drops the leading program word of a forced command, the
// bare word or a path to a binary of that name. It splits at spaces only,
// leaving every other byte for the request grammar to judge.
func stripProgram(command string) string {
	first, rest, _ := strings.Cut(strings.TrimLeft(command, " "), " ")
	if filepath.Base(first) == program {
		return rest
	}
	return command
}

// keepEnv reports whether the login shell keeps an environment variable:
// what sshd sets for the session (SSH_*), the config's location, and what
// the PKCS#11 modules signstar knows read (package modules). Everything
// else, such as LANG and LC_* that Debian's stock sshd_config accepts from
// any client (AcceptEnv LANG LC_*), is cleared before the config is read
// or a module loaded.
func keepEnv(name string) bool {
	switch name {
	case "USER", "LOGNAME", "HOME", "PATH", "SIGNSTAR_CONFIG":
		return true
	}
	return strings.HasPrefix(name, "SSH_") || modules.ReadsEnv(name)
}

// clearEnv unsets every variable keepEnv does not keep. os.Unsetenv also
// unsets it in the C library's environment (Go's runtime calls unsetenv(3)
// in a cgo binary, runtime/runtime.go syscall_runtimeUnsetenv), which is
// where a PKCS#11 module's getenv(3) looks.
func clearEnv() {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); !keepEnv(name) {
			os.Unsetenv(name)
		}
	}
}
