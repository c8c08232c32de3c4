package clidoc

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"signstar/internal/clidoc/clidoctest"
)

func TestManCoversModel(t *testing.T) {
	app := toyModel(t)
	secs := clidoctest.Sections(toyPage(t))
	for _, f := range app.Flags {
		for _, name := range FlagNames(f) {
			if !strings.Contains(secs["OPTIONS"], name) {
				t.Errorf("global flag %s is not under OPTIONS", name)
			}
		}
	}
	for _, n := range Commands(app)[1:] {
		title := toyName + " " + strings.Join(Path(n), " ")
		sec, ok := secs[title]
		if !ok {
			t.Errorf("command %q has no section", title)
			continue
		}
		if !strings.Contains(sec, n.Help) || !strings.Contains(sec, n.Detail) {
			t.Errorf("section %q lacks the command's help %q or detail", title, n.Help)
		}
		for _, f := range n.Flags {
			if !strings.Contains(sec, "--"+f.Name) || !strings.Contains(sec, f.Help) {
				t.Errorf("section %q lacks flag --%s or its help", title, f.Name)
			}
		}
		for _, a := range n.Positional {
			if !strings.Contains(sec, ArgName(a)) || !strings.Contains(sec, a.Help) {
				t.Errorf("section %q lacks argument %s or its help", title, a.Name)
			}
		}
		if len(Subcommands(n)) == 0 && !synopsisCalls(secs["SYNOPSIS"], Path(n)) {
			t.Errorf("command %q is not in the SYNOPSIS", title)
		}
	}
}

// synopsisCalls reports whether a line of synopsis has the command words
// path in order, each a word of its own.
func synopsisCalls(synopsis string, path []string) bool {
	for _, line := range strings.Split(synopsis, "\n") {
		if inOrder(strings.Fields(line), path) {
			return true
		}
	}
	return false
}

// inOrder reports whether words holds each of want, in that order.
func inOrder(words, want []string) bool {
	for _, w := range want {
		i := slices.Index(words, w)
		if i < 0 {
			return false
		}
		words = words[i+1:]
	}
	return true
}

// TestManSynopsis checks the synopsis lines: each command word followed
// by its own flags, an xor group as one alternative, a required argument
// bare and an optional one in brackets, "..." for what repeats.
func TestManSynopsis(t *testing.T) {
	syn := clidoctest.Sections(toyPage(t))["SYNOPSIS"]
	for _, want := range []string{
		"\n(-h | --help | --version)\n",
		"\n[--config=FILE] [--verbose] build [--mode=MODE] [--jobs=JOBS] [--out=DIR] [FILE...]\n",
		"\n[--config=FILE] [--verbose] remote [--tag=TAG...] add [--url=URL | --file=FILE] NAME\n",
		"\n[--config=FILE] [--verbose] remote [--tag=TAG...] list\n",
		"\n[--config=FILE] [--verbose] dump\n",
		"\n-e EXPR\n",
	} {
		if !strings.Contains(syn, want) {
			t.Errorf("SYNOPSIS lacks %q:\n%s", want, syn)
		}
	}
	if strings.Contains(syn, "remote [--tag=TAG...]\n") {
		t.Errorf("SYNOPSIS has a line for remote, which only its subcommands run:\n%s", syn)
	}
}

// TestManFlagNotes checks that a flag's entry says what the model says
// about it besides its help.
func TestManFlagNotes(t *testing.T) {
	secs := clidoctest.Sections(toyPage(t))
	tests := []struct {
		section, want string
	}{
		{"OPTIONS", "-c, --config=FILE\nConfiguration file. Environment: TOY_CONFIG.\n"},
		{"OPTIONS", "-v, --verbose\n"},
		{"toy-cli build", "--mode=MODE\nHow to build. Default: debug. One of: debug, release.\n"},
		{"toy-cli remote", "--tag=TAG...\nTag to set. May be given more than once.\n"},
		{"toy-cli remote add", "--url=URL\nFetch from this URL. Not together with --file.\n"},
		{"toy-cli remote add", "--file=FILE\nRead from this file. Not together with --url.\n"},
		{"toy-cli remote list", "List the remotes.\n.PP\nOne remote per line, the default first.\n"},
		{"toy-cli dump", "Dump the internal state.\n(Not listed by --help.)\n"},
		{"EXIT STATUS", "It exits with:\n.TP\n0\nBuilt.\n"},
	}
	for _, tt := range tests {
		if !strings.Contains(secs[tt.section], tt.want) {
			t.Errorf("%s lacks %q:\n%s", tt.section, tt.want, secs[tt.section])
		}
	}
}

func TestManRenders(t *testing.T) {
	page := toyPage(t)
	rendered := clidoctest.Man(t, page)
	for _, text := range []string{"TOY-CLI(1)", "Toy Manual", "EXIT STATUS", "toy-cli 1.0", "2026-01-01"} {
		if !strings.Contains(rendered, text) {
			t.Errorf("rendered page lacks %q", text)
		}
	}
	if out := clidoctest.Whatis(t, page); !strings.Contains(out, `"toy-cli - build things from remotes"`) {
		t.Errorf("lexgrog: %s", out)
	}
	if !bytes.HasPrefix(page, []byte(`.\" toy-cli(1), generated from the command line model by 'make docs'; do not edit.`+"\n")) {
		t.Errorf("page does not start with its do-not-edit comment:\n%.200s", page)
	}
}

// TestManEscapes checks what each kind of input becomes in roff: text
// cannot start a request, hyphens are minus signs a shell accepts, and
// code keeps ASCII quotes.
func TestManEscapes(t *testing.T) {
	tests := []struct {
		name  string
		write func(p *Page)
		want  string
	}{
		{"text", func(p *Page) { p.Text(`a\b-c`) }, "a\\eb\\-c\n"},
		{"a period first", func(p *Page) { p.Text(".rm x\n'br") }, "\\&.rm x\n\\&'br\n"},
		{"request arguments", func(p *Page) { p.Req("SS", `say "hi"`, "", "x-y") }, ".SS \"say \\(dqhi\\(dq\" \"\" x\\-y\n"},
		{"code", func(p *Page) { p.Code("ls -l 'a' `b` ~ ^ \\") },
			".PP\n.RS 4\n.nf\nls \\-l \\(aqa\\(aq \\(gab\\(ga \\(ti \\(ha \\e\n.fi\n.RE\n"},
		{"item", func(p *Page) { p.Item(Bold("--x"), "y") }, ".TP\n\\fB\\-\\-x\\fR\ny\n"},
		{"syntax", func(p *Page) { p.Raw(Syntax("sign [--key NAME] [--armor]")) },
			"\\fBsign\\fR [\\fB\\-\\-key\\fR \\fINAME\\fR] [\\fB\\-\\-armor\\fR]\n"},
		{"empty syntax", func(p *Page) { p.Raw(Syntax("")) }, "\\fI(empty command)\\fR\n"},
	}
	app := toyModel(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPage(app, Header{Section: "1"})
			before := len(p.Bytes())
			tt.write(p)
			if got := string(p.Bytes()[before:]); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestDate(t *testing.T) {
	tests := []struct {
		name, epoch, want string
	}{
		{"epoch 0", "0", "1970-01-01"},
		{"a release", "1767225600", "2026-01-01"},
		{"unset", "", "v1.2.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Date(tt.epoch, "v1.2.3")
			if err != nil || got != tt.want {
				t.Fatalf("Date(%q) = %q, %v; want %q", tt.epoch, got, err, tt.want)
			}
		})
	}
	if _, err := Date("yesterday", "v1"); err == nil {
		t.Error("Date accepted SOURCE_DATE_EPOCH=yesterday")
	}
}

// TestValueKind checks what the completions offer for each kind of value.
func TestValueKind(t *testing.T) {
	app := toyModel(t)
	flag := func(path, name string) *kong.Value {
		t.Helper()
		for _, n := range Commands(app) {
			if strings.Join(Path(n), " ") != path {
				continue
			}
			for _, f := range n.Flags {
				if f.Name == name {
					return f.Value
				}
			}
		}
		t.Fatalf("no flag --%s after %q", name, path)
		return nil
	}
	tests := []struct {
		name  string
		value *kong.Value
		want  string
	}{
		{"path", flag("", "config"), fileKind},
		{"counter", flag("", "verbose"), none},
		{"enum", flag("build", "mode"), enumKind},
		{"int", flag("build", "jobs"), anyKind},
		{"existingdir", flag("build", "out"), dirKind},
		{"string", flag("remote add", "url"), anyKind},
		{"argument of type path", Commands(app)[1].Positional[0], fileKind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := valueKind(tt.value); got != tt.want {
				t.Errorf("valueKind = %q, want %q", got, tt.want)
			}
		})
	}
}
