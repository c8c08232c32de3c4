// Command signstar signs what it reads on standard input with a key held on a
// PKCS#11 token and writes a detached OpenPGP signature to standard output.
//
// It builds in two shapes. On Linux with cgo (scripts/build, 'just build')
// it is all of signstar: the admin CLI, the login shell sshd starts for a
// client, and the client command, request. Anywhere else, or with
// CGO_ENABLED=0, it is the client alone: request, --version and --help, for
// release engineers' laptops. The token (PKCS#11 through cgo) and the
// sandbox (seccomp through libseccomp's cgo binding; Landlock) exist only
// in the full build, so every file that needs them starts with
// "//go:build linux && cgo", and clientonly.go names what the client build
// has in their place.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/alecthomas/kong"
)

// version is stamped by 'just build' with -X main.version=...
var version = ""

func main() {
	// Started as gpg, signstar is the gpg front end (gpg.go).
	if args, ok := gpgArgs(os.Args); ok {
		exit(runGPG(args, ""))
	}
	// Started by sshd as a login shell, signstar serves the client and
	// exits here, before the command line below is parsed.
	runLoginShell()
	var c cli
	if ctx, ok := parseSign(&c, os.Args[1:]); ok {
		exitWithHint(ctx.Run(&c))
	}
	parser, err := newParser(&c)
	if err != nil {
		errorf(exitFailed, "BUG: build CLI: %v", err)
	}
	ctx, err := parser.Parse(os.Args[1:])
	if err != nil {
		errorf(exitRefused, "%v (see 'signstar --help')", err)
	}
	exitWithHint(ctx.Run(&c))
}

// newParser builds the CLI model; the man page and completions (gendoc*.go)
// are generated from the same call, so they cannot drift from it.
func newParser(c *cli, opts ...kong.Option) (*kong.Kong, error) {
	return newGrammar(c, opts...)
}

// newGrammar is kong.New with signstar's name, description and variables.
func newGrammar(grammar any, opts ...kong.Option) (*kong.Kong, error) {
	return kong.New(grammar, append([]kong.Option{
		kong.Name("signstar"),
		kong.Description("Sign artifacts with a key that never leaves its PKCS#11 token."),
		kong.Vars{"version": versionLine()}.CloneWith(adminVars()),
	}, opts...)...)
}

// versionLine is what --version and the login shell's version print: the
// version, the Go release, and what the build adds (buildNotes).
func versionLine() string {
	v := version
	if v == "" {
		v = "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			v = bi.Main.Version
		}
	}
	notes := append([]string{runtime.Version()}, buildNotes()...)
	return fmt.Sprintf("signstar %s (%s)", v, strings.Join(notes, ", "))
}
