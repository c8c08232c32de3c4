// Command signstar signs what it reads on standard input with a key held on a
// PKCS#11 token and writes a detached OpenPGP signature to standard output.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/alecthomas/kong"
	seccomp "github.com/seccomp/libseccomp-golang"

	"signstar/pkg/sandbox"
)

// version is stamped by 'just build' with -X main.version=...
var version = ""

const defaultConfig = "/etc/signstar/config.toml"

func main() {
	// sshd may leak descriptors into the login shell; close them before
	// anything else is opened.
	if err := sandbox.CloseInherited(); err != nil {
		errorf(exitFailed, "close inherited file descriptors: %v", err)
	}
	if line, ok, err := loginShell(os.Args, os.LookupEnv); ok {
		// Before the config is read or a module loaded: nothing a client
		// set through sshd's AcceptEnv reaches them.
		clearEnv()
		exit(serve(line, err))
	}
	var c cli
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
	return kong.New(c, append([]kong.Option{
		kong.Name("signstar"),
		kong.Description("Sign artifacts with a key that never leaves its PKCS#11 token."),
		kong.Vars{"version": versionLine(), "keytypes": keyTypeEnum(), "defaultconfig": defaultConfig},
	}, opts...)...)
}

func versionLine() string {
	v := version
	if v == "" {
		v = "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			v = bi.Main.Version
		}
	}
	// The libseccomp that builds the filter is linked in (statically, by
	// scripts/build): name it, since its version decides which syscalls
	// the filter can know.
	major, minor, micro := seccomp.GetLibraryVersion()
	return fmt.Sprintf("signstar %s (%s, libseccomp %d.%d.%d)", v, runtime.Version(), major, minor, micro)
}
