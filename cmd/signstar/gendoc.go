package main

// The core of the documentation generator: signstar(1) and the shell
// completions are written from the kong model of the admin CLI, so they
// cannot drift from it. The command that writes them to disk is built only
// with -tags gendoc (gendoc_cmd.go), so the shipped binary has no hidden
// command; this core is unexported and unreferenced there, and the linker
// drops it.

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"
)

// docParser builds the admin CLI's parser with main's options, so the
// model holds the same names, defaults and interpolated help as
// 'signstar --help' (TestGenHelpMatchesBinary compares the two).
func docParser(opts ...kong.Option) (*kong.Kong, error) {
	return newParser(&cli{}, opts...)
}

// docVersion is the version signstar(1) is generated for: the second word
// of the --version line, so both say the same.
func docVersion() string {
	if f := strings.Fields(versionLine()); len(f) > 1 {
		return f[1]
	}
	return "(devel)"
}

// manDate is the date on the page's .TH line. Reproducible builds
// (https://reproducible-builds.org/specs/source-date-epoch/) set
// SOURCE_DATE_EPOCH; without it the page carries the version, never the
// time it was generated.
func manDate(sourceDateEpoch, version string) (string, error) {
	if sourceDateEpoch == "" {
		return version, nil
	}
	sec, err := strconv.ParseInt(sourceDateEpoch, 10, 64)
	if err != nil {
		return "", fmt.Errorf("SOURCE_DATE_EPOCH %q: want seconds since 1970-01-01 UTC", sourceDateEpoch)
	}
	return time.Unix(sec, 0).UTC().Format(time.DateOnly), nil
}

// commands lists the application and every command under it, parents
// before children, in the model's order. Hidden commands are listed too:
// whatever a user can call is documented and completed.
func commands(app *kong.Application) []*kong.Node {
	var out []*kong.Node
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		out = append(out, n)
		for _, c := range n.Children {
			if c.Type == kong.CommandNode {
				walk(c)
			}
		}
	}
	walk(app.Node)
	return out
}

// subcommands are n's child commands.
func subcommands(n *kong.Node) []*kong.Node {
	var out []*kong.Node
	for _, c := range n.Children {
		if c.Type == kong.CommandNode {
			out = append(out, c)
		}
	}
	return out
}

// cmdPath is n's command words below the application: "key generate", or
// "" for the application itself.
func cmdPath(n *kong.Node) []string {
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

// inheritedFlags are the flags valid after n's command words: its
// ancestors' (kong accepts the application's flags anywhere) and its own.
func inheritedFlags(n *kong.Node) []*kong.Flag {
	var out []*kong.Flag
	for _, p := range lineage(n) {
		out = append(out, p.Flags...)
	}
	return out
}

// flagNames are the spellings of f: "-x" if it has a short form, then
// "--name" and its aliases.
func flagNames(f *kong.Flag) []string {
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

// valueKind is what a flag's value or a positional argument is, for the
// completions: "" (a flag that takes no value), "file", "dir", "enum" (with
// its words) or "any".
func valueKind(v *kong.Value) (kind string, words []string) {
	switch {
	case v.Flag != nil && (v.IsBool() || v.IsCounter()):
		return "", nil
	case v.Enum != "":
		return "enum", v.EnumSlice()
	case v.Tag.Type == "existingdir":
		return "dir", nil
	case v.Tag.Type == "path" || v.Tag.Type == "existingfile" || v.Tag.Type == "filecontent":
		return "file", nil
	case v.Flag != nil && (v.Flag.PlaceHolder == "FILE" || v.Flag.PlaceHolder == "PATH"):
		// --pin-file, --lock-file, --module: paths kong does not check.
		return "file", nil
	}
	return "any", nil
}

// argName is a positional argument's name in a synopsis: FILE for a
// repeatable "files".
func argName(a *kong.Positional) string {
	if a.Tag.PlaceHolder != "" {
		return a.Tag.PlaceHolder
	}
	name := strings.ToUpper(a.Name)
	if a.IsCumulative() {
		name = strings.TrimSuffix(name, "S")
	}
	return name
}
