// Command locked locks itself down as signstar does and reports the
// kernel's view; the build test runs it as scripts/build links it, to show
// that the statically linked libseccomp loads its filter, and built for
// coverage, to show that a locked-down process writes its counters.
package main

import (
	"fmt"
	"io"
	"os"

	"signstar/pkg/sandbox"
)

func main() {
	if err := sandbox.CloseInherited(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		sandbox.Exit(1)
	}
	warnings, err := sandbox.Lockdown(sandbox.Policy{})
	for _, w := range warnings {
		fmt.Fprintln(os.Stderr, "warning:", w)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		sandbox.Exit(1)
	}
	n, _ := io.Copy(io.Discard, os.Stdin)
	fmt.Printf("locked; read %d bytes\n", n)
	sandbox.Exit(0)
}
