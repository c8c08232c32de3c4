//go:build linux && cgo

package main

// What main gets from the full build (see main.go): the variables the
// admin CLI's help interpolates, the version line's note on libseccomp,
// and an exit that keeps a locked-down process's coverage counters.
// clientonly.go has the client build's counterparts; the admin CLI itself
// is in admin.go, the login shell's start in loginshell.go and the hints
// in hints.go.

import (
	"fmt"

	"github.com/alecthomas/kong"
	seccomp "github.com/seccomp/libseccomp-golang"

	"signstar/pkg/sandbox"
	"signstar/pkg/token"
)

const defaultConfig = "/etc/signstar/config.toml"

// adminVars are the variables AdminCLI's tags name.
func adminVars() kong.Vars {
	return kong.Vars{"keytypes": keyTypeEnum(), "defaultconfig": defaultConfig}
}

func keyTypeEnum() string { return token.JoinKeyTypes(token.KeyTypes(), ",") }

// buildNotes names the libseccomp that builds the filter: it is linked in
// (statically, by scripts/build), and its version decides which syscalls
// the filter can know.
func buildNotes() []string {
	major, minor, micro := seccomp.GetLibraryVersion()
	return []string{fmt.Sprintf("libseccomp %d.%d.%d", major, minor, micro)}
}

// exitProcess ends the process: sandbox.Exit, since the process may have
// locked itself down.
func exitProcess(code int) { sandbox.Exit(code) }
