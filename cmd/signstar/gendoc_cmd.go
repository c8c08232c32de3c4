//go:build gendoc

package main

// The documentation generator's command, built only with -tags gendoc:
//
//	go run -tags gendoc ./cmd/signstar generate shell_completions|manpages [--output DIR]
//
// It takes over in init, before main parses anything, so the shipped
// binary's command line has no trace of it, and main needs no hook. With
// gendoc_man.go it is the only code that calls internal/clidoc, the engine
// that writes the page and the completions from the kong model.

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/alecthomas/kong"

	"signstar/internal/clidoc"
)

type generateCmd struct {
	What   string `arg:"" enum:"shell_completions,manpages" help:"What to generate: shell_completions or manpages."`
	Output string `help:"Directory to write WHAT/ under." env:"SIGNSTAR_OUTPUT_DIR" default:"output" type:"path" placeholder:"DIR"`
}

func init() {
	if len(os.Args) < 2 || os.Args[1] != "generate" {
		return
	}
	var g generateCmd
	parser, err := kong.New(&g, kong.Name("signstar generate"),
		kong.Description("Write signstar's shell completions or man page, generated from its command line model."))
	if err != nil {
		errorf(exitFailed, "BUG: build generator CLI: %v", err)
	}
	if _, err := parser.Parse(os.Args[2:]); err != nil {
		errorf(exitRefused, "%v (see 'signstar generate --help')", err)
	}
	exit(g.run())
}

func (g *generateCmd) run() error {
	files, err := g.files()
	if err != nil {
		return err
	}
	dir := filepath.Join(g.Output, g.What)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := os.WriteFile(path, f.data, 0o644); err != nil {
			return err
		}
		infof("wrote %s", path)
	}
	return nil
}

type genFile struct {
	name string
	data []byte
}

// files are what g.What asks for, named as packages install them:
// bash-completion/completions/signstar, zsh/site-functions/_signstar,
// fish/vendor_completions.d/signstar.fish, man1/signstar.1.
func (g *generateCmd) files() ([]genFile, error) {
	parser, err := docParser()
	if err != nil {
		return nil, fmt.Errorf("BUG: build CLI: %v", err)
	}
	app := parser.Model
	if g.What == "shell_completions" {
		const by = "'just generate shell_completions'"
		return []genFile{
			{"signstar.bash", clidoc.Bash(app, by)},
			{"_signstar", clidoc.Zsh(app, by)},
			{"signstar.fish", clidoc.Fish(app, by)},
		}, nil
	}
	version := docVersion()
	date, err := clidoc.Date(os.Getenv("SOURCE_DATE_EPOCH"), version)
	if err != nil {
		return nil, err
	}
	return []genFile{{"signstar.1", manPage(app, date, version)}}, nil
}
