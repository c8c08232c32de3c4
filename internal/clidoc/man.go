package clidoc

// A man page in roff, written by hand with the man(7) macros and groff's
// .SY/.YS for synopses (man(7) "Synopsis macros"): the commands and flags
// come from the kong model, the rest from the caller.

import (
	"fmt"
	"strings"

	"github.com/alecthomas/kong"
)

// Term is one entry of a tagged list: a name and what it means.
type Term struct{ Name, Help string }

// Header is what the page's first lines say beyond the model.
type Header struct {
	Section string // the manual section: "1"
	Date    string // see [Date]
	Source  string // the program and its version: "signstar v1.2.3"
	Manual  string // the manual's title: "User Commands"
	By      string // what generates the page, for its "do not edit" comment: "'just generate manpages'"
}

// Page is a man page being written for the command of a kong model.
// Methods that take text escape it; methods that take roff (Raw, Item's
// name, Synopsis's lines) expect it escaped already, as [Bold], [Italic]
// and [Syntax] return it.
type Page struct {
	app *kong.Application
	b   strings.Builder
}

// NewPage starts the page of app's command: a comment that it is
// generated, the .TH line, and NAME from the application's help.
func NewPage(app *kong.Application, h Header) *Page {
	p := &Page{app: app}
	fmt.Fprintf(&p.b, `.\" %s(%s), generated from the command line model by %s; do not edit.`+"\n", app.Name, h.Section, h.By)
	p.Req("TH", strings.ToUpper(app.Name), h.Section, h.Date, h.Source, h.Manual)
	// Identifiers (SSH_ORIGINAL_COMMAND, --ssh-option) must not be
	// hyphenated, and ragged right reads better than stretched spaces.
	p.Req("nh")
	p.Req("nr", "HY", "0") // groff's .YS turns hyphenation back on to this
	p.Req("ad", "l")
	p.Req("SH", "NAME")
	p.Text(app.Name + " - " + strings.TrimSuffix(lowerFirst(app.Help), "."))
	return p
}

// Bytes is the page so far.
func (p *Page) Bytes() []byte { return []byte(p.b.String()) }

// Synopsis writes SYNOPSIS: the line with --help and --version, one line
// per leaf command (its words, each followed by its own flags, then its
// arguments), and then extra, each a line of roff after the command's name.
func (p *Page) Synopsis(extra ...string) {
	p.Req("SH", "SYNOPSIS")
	var root []string
	for _, f := range p.app.Flags {
		if f == p.app.HelpFlag || isVersionFlag(f) {
			for _, name := range FlagNames(f) {
				root = append(root, Bold(name))
			}
		}
	}
	lines := []string{"(" + strings.Join(root, " | ") + ")"}
	for _, n := range Commands(p.app)[1:] {
		if len(Subcommands(n)) == 0 {
			lines = append(lines, strings.Join(p.leafSynopsis(n), " "))
		}
	}
	for _, line := range append(lines, extra...) {
		p.Req("SY", p.app.Name)
		p.Raw(line)
		p.Req("YS")
	}
}

// leafSynopsis is the words after the command's name that call leaf
// command n.
func (p *Page) leafSynopsis(n *kong.Node) []string {
	var out []string
	for _, l := range lineage(n) {
		if l.Type == kong.CommandNode {
			out = append(out, Bold(l.Name))
		}
		out = append(out, p.nodeFlagsSynopsis(l)...)
	}
	for _, a := range n.Positional {
		s := argSynopsis(a)
		if !a.Required {
			s = "[" + s + "]"
		}
		out = append(out, s)
	}
	return out
}

// argSynopsis is \fIFILE\fR, with "..." if it repeats.
func argSynopsis(a *kong.Positional) string {
	if a.IsCumulative() {
		return Italic(ArgName(a)) + "..."
	}
	return Italic(ArgName(a))
}

// nodeFlagsSynopsis lists n's flags for a synopsis, flags that exclude
// each other (kong's xor) as one [a | b] alternative. --help and
// --version have a line of their own.
func (p *Page) nodeFlagsSynopsis(n *kong.Node) []string {
	var out []string
	done := map[*kong.Flag]bool{}
	for _, f := range n.Flags {
		if done[f] || f == p.app.HelpFlag || isVersionFlag(f) {
			continue
		}
		alts := []*kong.Flag{f}
		for _, g := range n.Flags {
			if g != f && !done[g] && sharesXor(f, g) {
				alts = append(alts, g)
			}
		}
		var words []string
		for _, a := range alts {
			done[a] = true
			words = append(words, flagSynopsis(a, false))
		}
		s := strings.Join(words, " | ")
		if len(alts) > 1 || !f.Required {
			s = "[" + s + "]"
		}
		out = append(out, s)
	}
	return out
}

// flagSynopsis is \fB--name\fR=\fIVALUE\fR, with "..." for a repeatable
// flag; withShort adds the short form.
func flagSynopsis(f *kong.Flag, withShort bool) string {
	s := Bold("--" + f.Name)
	if withShort && f.Short != 0 {
		s = Bold("-"+string(f.Short)) + ", " + s
	}
	if kind, _ := valueKind(f.Value); kind != none {
		s += "=" + Italic(placeholder(f))
	}
	if f.IsCumulative() {
		s += "..."
	}
	return s
}

// Options writes OPTIONS: intro, then the application's flags.
func (p *Page) Options(intro string) {
	p.Req("SH", "OPTIONS")
	p.Text(intro)
	p.flags(p.app.Node)
}

// Commands writes COMMANDS: intro, then a subsection per command with its
// help, detail, flags and arguments.
func (p *Page) Commands(intro string) {
	p.Req("SH", "COMMANDS")
	p.Text(intro)
	for _, n := range Commands(p.app)[1:] {
		p.Req("SS", p.app.Name+" "+strings.Join(Path(n), " "))
		p.Text(n.Help)
		if n.Detail != "" {
			p.Req("PP")
			p.Text(n.Detail)
		}
		if n.Hidden {
			p.Text("(Not listed by --help.)")
		}
		p.flags(n)
		for _, a := range n.Positional {
			p.Item(argSynopsis(a), a.Help)
		}
	}
}

// flags documents n's own flags as a tagged list.
func (p *Page) flags(n *kong.Node) {
	for _, f := range n.Flags {
		p.Item(flagSynopsis(f, true), strings.Join(flagNotes(n, f), " "))
	}
}

// flagNotes are f's help and what the model says besides: required,
// default, environment, values, repeatable, exclusions.
func flagNotes(n *kong.Node, f *kong.Flag) []string {
	notes := []string{f.Help}
	if f.Required {
		notes = append(notes, "Required.")
	}
	if f.HasDefault {
		notes = append(notes, "Default: "+f.Default+".")
	}
	for _, e := range f.Envs {
		notes = append(notes, "Environment: "+e+".")
	}
	if f.Enum != "" && !strings.Contains(f.Help, f.Enum) {
		notes = append(notes, "One of: "+strings.Join(f.EnumSlice(), ", ")+".")
	}
	if f.IsCumulative() {
		notes = append(notes, "May be given more than once.")
	}
	for _, g := range n.Flags {
		if g != f && sharesXor(f, g) {
			notes = append(notes, "Not together with --"+g.Name+".")
		}
	}
	if f.Hidden {
		notes = append(notes, "(Not listed by --help.)")
	}
	return notes
}

// Section writes a section of a tagged list with bold names, after an
// introduction ("" for none).
func (p *Page) Section(title, intro string, terms []Term) {
	p.Req("SH", title)
	if intro != "" {
		p.Text(intro)
	}
	for _, t := range terms {
		p.Item(Bold(t.Name), t.Help)
	}
}

// Item writes one entry of a tagged list: name in roff, help as text.
func (p *Page) Item(name, help string) {
	p.Req("TP")
	p.Raw(name)
	p.Text(help)
}

// Req writes a request or macro call: .NAME arg..., quoting arguments
// with spaces.
func (p *Page) Req(name string, args ...string) {
	p.b.WriteString("." + name)
	for _, a := range args {
		a = strings.ReplaceAll(esc(a), `"`, `\(dq`)
		if a == "" || strings.Contains(a, " ") {
			a = `"` + a + `"`
		}
		p.b.WriteString(" " + a)
	}
	p.b.WriteByte('\n')
}

// Text writes s as text to fill.
func (p *Page) Text(s string) { p.Raw(esc(s)) }

// Raw writes roff that is already escaped, guarding lines that would be
// read as requests.
func (p *Page) Raw(s string) {
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, ".") || strings.HasPrefix(line, "'") {
			line = `\&` + line
		}
		p.b.WriteString(line + "\n")
	}
}

// Code writes s as an indented block, unfilled, where quotes and
// backticks stay the ASCII characters a shell needs (groff_char(7)).
func (p *Page) Code(s string) {
	p.Req("PP")
	p.Req("RS", "4")
	p.Req("nf")
	p.Raw(strings.NewReplacer(`\`, `\e`, "-", `\-`, "'", `\(aq`, "`", `\(ga`, "~", `\(ti`, "^", `\(ha`).Replace(s))
	p.Req("fi")
	p.Req("RE")
}

// esc makes s roff text: a backslash is \e, and '-' is \-, the
// hyphen-minus a reader can paste into a shell.
func esc(s string) string {
	return strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
}

// Bold and Italic take text that may already hold font escapes: they do
// not escape backslashes.
func Bold(s string) string { return `\fB` + strings.ReplaceAll(s, "-", `\-`) + `\fR` }

// Italic is s in italics; see [Bold].
func Italic(s string) string { return `\fI` + strings.ReplaceAll(s, "-", `\-`) + `\fR` }

// Syntax renders a command's syntax, "sign [--key NAME]": words in bold,
// words in capitals (placeholders) in italics, brackets in roman; "" is
// "(empty command)".
func Syntax(s string) string {
	if s == "" {
		return Italic("(empty command)")
	}
	var out []string
	for _, w := range strings.Fields(s) {
		open, close := "", ""
		if strings.HasPrefix(w, "[") {
			open, w = "[", w[1:]
		}
		if strings.HasSuffix(w, "]") {
			close, w = "]", w[:len(w)-1]
		}
		if w == strings.ToUpper(w) {
			w = Italic(w)
		} else {
			w = Bold(w)
		}
		out = append(out, open+w+close)
	}
	return strings.Join(out, " ")
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
