package clidoc

// The toy command line the engine's tests document and complete.

import (
	"testing"

	"github.com/alecthomas/kong"
)

// toy is a command line with one of each thing the engine renders: global
// flags with a short form, an environment variable and a counter; an enum
// with a default; a directory; repeatable flags and arguments; an xor
// group; a parent command with flags of its own; a hidden command.
type toy struct {
	Config  string           `help:"Configuration file." type:"path" env:"TOY_CONFIG" short:"c" placeholder:"FILE"`
	Verbose int              `help:"Say more; repeatable." type:"counter" short:"v"`
	Version kong.VersionFlag `help:"Print the version and exit."`

	Build  toyBuild  `cmd:"" help:"Build the targets."`
	Remote toyRemote `cmd:"" help:"Manage remotes."`
	Dump   struct{}  `cmd:"" hidden:"" help:"Dump the internal state."`
}

type toyBuild struct {
	Mode  string   `help:"How to build." enum:"debug,release" default:"debug"`
	Jobs  int      `help:"Jobs run at once."`
	Out   string   `help:"Directory to write to." type:"existingdir" placeholder:"DIR"`
	Files []string `arg:"" optional:"" help:"Files to build." type:"path"`
}

type toyRemote struct {
	Tag  []string `help:"Tag to set." sep:"none"`
	Add  toyAdd   `cmd:"" help:"Add a remote."`
	List toyList  `cmd:"" help:"List the remotes."`
}

type toyList struct{}

// Help is the command's detail (kong.HelpProvider).
func (toyList) Help() string { return "One remote per line, the default first." }

type toyAdd struct {
	URL  string `help:"Fetch from this URL." xor:"src" name:"url" placeholder:"URL"`
	File string `help:"Read from this file." xor:"src" type:"path"`
	Name string `arg:"" help:"Name of the remote."`
}

// toyName has a '-', which shell function names replace.
const toyName = "toy-cli"

func toyModel(t *testing.T) *kong.Application {
	t.Helper()
	p, err := kong.New(&toy{}, kong.Name(toyName), kong.Description("Build things from remotes."),
		kong.Vars{"version": "toy-cli 1.0"})
	if err != nil {
		t.Fatal(err)
	}
	return p.Model
}

func toyPage(t *testing.T) []byte {
	t.Helper()
	p := NewPage(toyModel(t), Header{Section: "1", Date: "2026-01-01", Source: "toy-cli 1.0", Manual: "Toy Manual", By: "'make docs'"})
	p.Synopsis(Bold("-e") + " " + Italic("EXPR"))
	p.Options("These options apply to every command.")
	p.Commands("Every command also takes the OPTIONS above.")
	p.Section("EXIT STATUS", "It exits with:", []Term{{"0", "Built."}, {"1", "Failed."}})
	return p.Bytes()
}
