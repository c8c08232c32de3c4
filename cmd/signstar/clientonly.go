//go:build !(linux && cgo)

package main

// The client-only build: signstar without cgo or off Linux, as a release
// engineer builds it for a laptop (CGO_ENABLED=0 GOOS=darwin go build
// ./cmd/signstar). It has request, --version and --help, and nothing that
// needs the token or the sandbox, which only the full build has (see
// main.go). Each name here stands in for the full build's, in the file
// named.

import (
	"fmt"
	"os"
	"signstar/pkg/clientconfig"

	"github.com/alecthomas/kong"
)

// AdminCLI is empty: this build has no admin commands and no --config, so
// kong's model and --help list none (admin.go).
type AdminCLI struct{}

// adminVars: nothing in the model names a variable (full.go).
func adminVars() kong.Vars { return nil }

// buildNotes says which build this is: --version is what a user shows
// when asking why 'signstar sign' is missing (full.go).
func buildNotes() []string { return []string{"client only"} }

// runLoginShell returns at once: this build is never a login shell, and
// started as one it fails as the command line does, with a usage error
// (loginshell.go).
func runLoginShell() {}

// exitProcess is os.Exit: this build never locks itself down (full.go).
func exitProcess(code int) { os.Exit(code) }

// hintFor has no advice: the hints are about the token and the config
// (hints.go).
func hintFor(error) string { return "" }

// localConfigPath: this build has no --config (gpg_local.go).
func localConfigPath(*cli) string { return "" }

// openLocalBackend: this build cannot sign on a token, so the gpg front
// end needs a client config (gpg_local.go).
func openLocalBackend(string) (backend, error) {
	return nil, fmt.Errorf("no client config: write %s or ~/.config/signstar/client.toml, or set $%s",
		clientconfig.System, clientconfig.Env)
}

// parseSign stands in for parsesign.go's: this build has no sign command.
func parseSign(*cli, []string) (*kong.Context, bool) { return nil, false }
