// Package clidoc writes a man page and bash, zsh and fish completions from
// the model of a kong command line, so that none of them can drift from
// the parser that runs.
//
// It promises that whatever a user can call, hidden commands included, is
// documented and completed; that flags kong refuses together (xor groups)
// are shown and completed as alternatives; and that the output depends on
// its inputs alone (no clock, no environment), so a release can regenerate
// it byte for byte. Everything that is not in the model (the page's prose,
// tables of configuration keys or exit codes) is the caller's: [Page] has
// the requests to write it in the page's style.
//
// It is a build-time tool: a command links it only into the build that
// generates its documentation (signstar's is built with -tags gendoc).
package clidoc

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"
)

// Commands lists the application and every command under it, parents
// before children, in the model's order. Hidden commands are listed too:
// whatever a user can call is documented and completed.
func Commands(app *kong.Application) []*kong.Node {
	var out []*kong.Node
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		out = append(out, n)
		for _, c := range Subcommands(n) {
			walk(c)
		}
	}
	walk(app.Node)
	return out
}

// Subcommands are n's child commands.
func Subcommands(n *kong.Node) []*kong.Node {
	var out []*kong.Node
	for _, c := range n.Children {
		if c.Type == kong.CommandNode {
			out = append(out, c)
		}
	}
	return out
}

// Path is n's command words below the application: "key generate", or
// none for the application itself.
func Path(n *kong.Node) []string {
	var p []string
	for ; n != nil && n.Type != kong.ApplicationNode; n = n.Parent {
		p = append(p, n.Name)
	}
	slices.Reverse(p)
	return p
}

// lineage is n's ancestors and n, the application first.
func lineage(n *kong.Node) []*kong.Node {
	var out []*kong.Node
	for ; n != nil; n = n.Parent {
		out = append(out, n)
	}
	slices.Reverse(out)
	return out
}

// InheritedFlags are the flags valid after n's command words: its
// ancestors' (kong accepts the application's flags anywhere) and its own.
func InheritedFlags(n *kong.Node) []*kong.Flag {
	var out []*kong.Flag
	for _, p := range lineage(n) {
		out = append(out, p.Flags...)
	}
	return out
}

// FlagNames are the spellings of f: "-x" if it has a short form, then
// "--name" and its aliases.
func FlagNames(f *kong.Flag) []string {
	var names []string
	if f.Short != 0 {
		names = append(names, "-"+string(f.Short))
	}
	names = append(names, "--"+f.Name)
	for _, a := range f.Aliases {
		names = append(names, "--"+a)
	}
	return names
}

// Kinds of value a flag or positional argument takes, for the completions.
const (
	none     = ""     // a flag that takes no value
	fileKind = "file" // a file name
	dirKind  = "dir"  // a directory name
	enumKind = "enum" // one of a list of words
	anyKind  = "any"  // anything: nothing to offer
)

// valueKind is what a flag's value or a positional argument is, with the
// words of an enum. A flag whose placeholder is FILE or PATH takes a file
// name even without a type kong checks (a module, a PIN file that may not
// exist yet).
func valueKind(v *kong.Value) (kind string, words []string) {
	switch {
	case v.Flag != nil && (v.IsBool() || v.IsCounter()):
		return none, nil
	case v.Enum != "":
		return enumKind, v.EnumSlice()
	case v.Tag.Type == "existingdir":
		return dirKind, nil
	case v.Tag.Type == "path" || v.Tag.Type == "existingfile" || v.Tag.Type == "filecontent":
		return fileKind, nil
	case v.Flag != nil && (v.Flag.PlaceHolder == "FILE" || v.Flag.PlaceHolder == "PATH"):
		return fileKind, nil
	}
	return anyKind, nil
}

// ArgName is a positional argument's name in a synopsis: its placeholder,
// or its name in capitals, FILE for a repeatable "files".
func ArgName(a *kong.Positional) string {
	if a.Tag.PlaceHolder != "" {
		return a.Tag.PlaceHolder
	}
	name := strings.ToUpper(a.Name)
	if a.IsCumulative() {
		name = strings.TrimSuffix(name, "S")
	}
	return name
}

// placeholder is what a flag's value is called: VALUE in --name=VALUE.
func placeholder(f *kong.Flag) string {
	if f.PlaceHolder != "" {
		return f.PlaceHolder
	}
	return strings.ToUpper(f.Name)
}

// isVersionFlag reports whether f is kong's --version, which a synopsis
// shows on a line of its own, as it does --help.
func isVersionFlag(f *kong.Flag) bool {
	_, ok := f.Target.Interface().(kong.VersionFlag)
	return ok
}

// sharesXor reports whether kong refuses f and g together.
func sharesXor(f, g *kong.Flag) bool {
	for _, x := range f.Xor {
		if slices.Contains(g.Xor, x) {
			return true
		}
	}
	return false
}

func names(nodes []*kong.Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.Name)
	}
	return out
}

// Date is the date for a page's .TH line. Reproducible builds
// (https://reproducible-builds.org/specs/source-date-epoch/) set
// SOURCE_DATE_EPOCH; without it the page carries the version, never the
// time it was generated.
func Date(sourceDateEpoch, version string) (string, error) {
	if sourceDateEpoch == "" {
		return version, nil
	}
	sec, err := strconv.ParseInt(sourceDateEpoch, 10, 64)
	if err != nil {
		return "", fmt.Errorf("SOURCE_DATE_EPOCH %q: want seconds since 1970-01-01 UTC", sourceDateEpoch)
	}
	return time.Unix(sec, 0).UTC().Format(time.DateOnly), nil
}
