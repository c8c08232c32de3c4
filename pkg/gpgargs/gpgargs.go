// Package gpgargs reads a gpg command line as the release tools that call
// gpg write one, for signstar's gpg front end.
//
// It knows exactly the options those callers pass (measured from their
// sources and from logged invocations on Debian 12: makepkg and repo-add,
// rpm 4.18, apt-secure(8), aptly 1.5, reprepro through its SignWith hook,
// debsign, debsigs and git 2.39) and refuses everything else, naming the
// option: a front end that guessed at gpg's other commands could encrypt,
// export or sign inline where its caller expected a detached signature.
// Verification and key listing, which need a keyring, are recognized so
// that the caller can hand the whole command line to the real gpg.
//
// The syntax is gpg's (GnuPG 2.2, common/argparse.c): long options with
// "--name value" or "--name=value"; short options clustered ("-bsau KEY",
// "-sbo FILE"), where an option that takes a value ends the cluster and
// takes the rest of it or the next word; "--" ends the options; the
// first word that is not an option ends them too ("-" alone is stdin).
// Unlike gpg it takes no abbreviations: a caller that abbreviates is
// named in the table (makepkg's "--list-secret-key").
package gpgargs

import (
	"crypto"
	"fmt"
	"strconv"
	"strings"

	"signstar/pkg/refusal"
)

// Command is what the invocation asks for.
type Command int

const (
	// Detach: a detached signature (-b, --detach-sign, with or without -s).
	Detach Command = iota + 1
	// Clear: a cleartext signed message (--clearsign).
	Clear
	// Version: --version.
	Version
	// ListSecretKeys: --list-secret-keys [PATTERN...].
	ListSecretKeys
	// Delegate: verification or key listing, for the real gpg.
	Delegate
)

// Invocation is one parsed gpg command line.
type Invocation struct {
	Command Command
	// Armor: ASCII armor (-a); a cleartext message is armored anyway.
	Armor bool
	// Text: a canonical-text signature (-t); ignored by Clear.
	Text bool
	// Keys name the signing keys (-u, --local-user, --default-key), in
	// the order given; several make one signature by each.
	Keys []string
	// Output is -o's file: "" for the default (FILE.sig or FILE.asc, or
	// standard output for standard input), "-" for standard output.
	Output string
	// Digest is --digest-algo's hash, 0 when not given.
	Digest crypto.Hash
	// StatusFD is --status-fd's descriptor, -1 when not given.
	StatusFD int
	// Colons: --with-colons (key listings).
	Colons bool
	// Args are the words after the options: the input file (at most one
	// for a signature; "-" is standard input) or key patterns.
	Args []string
}

// Input is the signature's input file, "-" for standard input.
func (inv *Invocation) Input() string {
	if len(inv.Args) == 0 {
		return "-"
	}
	return inv.Args[0]
}

// Parse reads args (without argv[0]). Anything it does not know is a
// [refusal.Err] naming the word.
func Parse(args []string) (*Invocation, error) {
	if delegated(args) {
		return &Invocation{Command: Delegate, StatusFD: -1}, nil
	}
	p := &parser{inv: Invocation{StatusFD: -1}}
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if a == "-" || !strings.HasPrefix(a, "-") {
			break
		}
		n, err := p.word(a, args[i+1:])
		if err != nil {
			return nil, err
		}
		i += n
	}
	if i < len(args) {
		p.inv.Args = args[i:]
	}
	if err := p.finish(); err != nil {
		return nil, err
	}
	return &p.inv, nil
}

// delegateCommands are the real gpg's: verification and key listings,
// which need its keyring, and the public keyring's upkeep (a user with the
// front end first in PATH still imports and exports certificates with
// "gpg"). None of them touches a secret key.
var delegateCommands = map[string]bool{
	"--verify": true, "--list-keys": true, "--list-key": true, "--list-public-keys": true,
	"-k": true, "--list-sigs": true, "--check-sigs": true, "--fingerprint": true, "--show-keys": true,
	"--import": true, "--export": true, "--list-packets": true,
}

// delegated reports whether args ask the real gpg for one of
// delegateCommands. Their callers (dscverify, debsig-verify, git
// verify-tag) pass options this package does not know, some with values
// (--keyring FILE), so the command is looked for before any option is
// read: the whole command line goes to gpg as it is.
func delegated(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if delegateCommands[a] {
			return true
		}
	}
	return false
}

// parser holds the invocation and the commands seen, which only make sense
// together (-s and -b) once every option is read.
type parser struct {
	inv                 Invocation
	sign, detach, clear bool
	version, list       bool
	commands            []string // as written, for a conflict message
}

// word reads one option word and reports how many of the following words
// it took as its value.
func (p *parser) word(a string, rest []string) (int, error) {
	if name, ok := strings.CutPrefix(a, "--"); ok {
		return p.long(name, rest)
	}
	return p.cluster(a[1:], rest)
}

func (p *parser) long(name string, rest []string) (int, error) {
	name, value, inline := strings.Cut(name, "=")
	o, ok := longOptions[name]
	if !ok {
		return 0, refusal.Errorf("gpg option %s is not supported by signstar", show("--"+name))
	}
	if !o.value {
		if inline {
			return 0, refusal.Errorf("gpg option %s takes no value", show("--"+name))
		}
		return 0, o.apply(p, "--"+name, "")
	}
	if inline {
		return 0, o.apply(p, "--"+name, value)
	}
	if len(rest) == 0 {
		return 0, refusal.Errorf("gpg option --%s needs a value", name)
	}
	return 1, o.apply(p, "--"+name, rest[0])
}

// cluster reads "-bsau KEY": flags, then at most one option with a value,
// which takes the rest of the cluster or else the next word.
func (p *parser) cluster(flags string, rest []string) (int, error) {
	for j := 0; j < len(flags); j++ {
		name, ok := shortOptions[flags[j]]
		if !ok {
			return 0, refusal.Errorf("gpg option %s is not supported by signstar", show("-"+flags[j:j+1]))
		}
		o := longOptions[name]
		if !o.value {
			if err := o.apply(p, "-"+string(flags[j]), ""); err != nil {
				return 0, err
			}
			continue
		}
		if j+1 < len(flags) {
			return 0, o.apply(p, "-"+string(flags[j]), flags[j+1:])
		}
		if len(rest) == 0 {
			return 0, refusal.Errorf("gpg option -%c needs a value", flags[j])
		}
		return 1, o.apply(p, "-"+string(flags[j]), rest[0])
	}
	return 0, nil
}

// command notes a command option as written.
func (p *parser) command(as string, set *bool) error {
	*set = true
	p.commands = append(p.commands, as)
	return nil
}

// finish decides the command: exactly one of a detached signature (-b,
// with or without -s), a cleartext one, --version, a secret key listing,
// or something for the real gpg.
func (p *parser) finish() error {
	inv := &p.inv
	switch {
	case p.version:
		inv.Command = Version
	case p.list:
		inv.Command = ListSecretKeys
	case p.clear && !p.detach && !p.sign:
		inv.Command = Clear
	case p.detach && !p.clear:
		inv.Command = Detach
	case p.sign && !p.clear:
		return refusal.Errorf("gpg --sign without --detach-sign makes an inline signed message, which signstar does not make (use -b or --clearsign)")
	case len(p.commands) == 0:
		return refusal.Errorf("no gpg command given (signstar supports --detach-sign, --clearsign, --list-secret-keys and --version)")
	default:
		return refusal.Errorf("conflicting gpg commands %s", strings.Join(p.commands, " "))
	}
	if n := p.countCommands(); n > 1 {
		return refusal.Errorf("conflicting gpg commands %s", strings.Join(p.commands, " "))
	}
	if (inv.Command == Detach || inv.Command == Clear) && len(inv.Args) > 1 {
		return refusal.Errorf("gpg signs one file at a time, got %d", len(inv.Args))
	}
	return nil
}

// countCommands counts the distinct commands asked for, -s and -b being
// one.
func (p *parser) countCommands() int {
	n := 0
	for _, b := range []bool{p.sign || p.detach, p.clear, p.version, p.list} {
		if b {
			n++
		}
	}
	return n
}

// option is one gpg option: whether it takes a value, and what it does.
type option struct {
	value bool
	apply func(p *parser, as, value string) error
}

func flag(f func(*parser, string) error) option {
	return option{apply: func(p *parser, as, _ string) error { return f(p, as) }}
}

func valued(f func(*parser, string, string) error) option {
	return option{value: true, apply: f}
}

// ignored options change nothing signstar does: gpg-agent and pinentry
// (the key is on a token), verbosity, trust database upkeep, the home
// directory (the keys come from signstar's config), and listing format.
var (
	ignore       = flag(func(*parser, string) error { return nil })
	ignoreValued = valued(func(*parser, string, string) error { return nil })
)

// longOptions are the options callers pass, by long name.
var longOptions = map[string]option{
	"sign":                  flag(func(p *parser, as string) error { return p.command(as, &p.sign) }),
	"detach-sign":           flag(func(p *parser, as string) error { return p.command(as, &p.detach) }),
	"clearsign":             flag(func(p *parser, as string) error { return p.command(as, &p.clear) }),
	"clear-sign":            flag(func(p *parser, as string) error { return p.command(as, &p.clear) }),
	"version":               flag(func(p *parser, as string) error { return p.command(as, &p.version) }),
	"list-secret-keys":      flag(func(p *parser, as string) error { return p.command(as, &p.list) }),
	"list-secret-key":       flag(func(p *parser, as string) error { return p.command(as, &p.list) }),
	"armor":                 flag(func(p *parser, _ string) error { p.inv.Armor = true; return nil }),
	"no-armor":              flag(func(p *parser, _ string) error { p.inv.Armor = false; return nil }),
	"textmode":              flag(func(p *parser, _ string) error { p.inv.Text = true; return nil }),
	"no-textmode":           flag(func(p *parser, _ string) error { p.inv.Text = false; return nil }),
	"with-colons":           flag(func(p *parser, _ string) error { p.inv.Colons = true; return nil }),
	"local-user":            valued(addKey),
	"default-key":           valued(addKey),
	"output":                valued(func(p *parser, _, v string) error { p.inv.Output = v; return nil }),
	"digest-algo":           valued(digestAlgo),
	"status-fd":             valued(statusFD),
	"batch":                 ignore,
	"no-batch":              ignore,
	"yes":                   ignore,
	"no-tty":                ignore,
	"use-agent":             ignore,
	"no-use-agent":          ignore,
	"verbose":               ignore,
	"no-verbose":            ignore,
	"quiet":                 ignore,
	"no-secmem-warning":     ignore,
	"openpgp":               ignore,
	"no-auto-check-trustdb": ignore,
	"dry-run":               ignore,
	"homedir":               ignoreValued,
	"pinentry-mode":         ignoreValued,
	"list-options":          ignoreValued,
	"keyid-format":          ignoreValued,
}

// shortOptions map gpg's one-letter options to their long names.
var shortOptions = map[byte]string{
	's': "sign",
	'b': "detach-sign",
	'K': "list-secret-keys",
	'a': "armor",
	't': "textmode",
	'u': "local-user",
	'o': "output",
	'v': "verbose",
	'q': "quiet",
	'n': "dry-run",
}

func addKey(p *parser, as, v string) error {
	if v == "" {
		return refusal.Errorf("gpg option %s needs a key", as)
	}
	p.inv.Keys = append(p.inv.Keys, v)
	return nil
}

// digestAlgo reads --digest-algo as gpg names hashes (case does not
// matter). MD5, SHA-1 and RIPEMD-160 are refused: a caller that asks for
// them asks for a signature every current verifier rejects (apt since
// 2.1, rpm 4.18 and gpg 2.4 refuse SHA-1 data signatures).
func digestAlgo(p *parser, as, v string) error {
	switch strings.ToUpper(v) {
	case "SHA224":
		p.inv.Digest = crypto.SHA224
	case "SHA256":
		p.inv.Digest = crypto.SHA256
	case "SHA384":
		p.inv.Digest = crypto.SHA384
	case "SHA512":
		p.inv.Digest = crypto.SHA512
	case "MD5", "SHA1", "RIPEMD160":
		return refusal.Errorf("gpg %s %s: a weak hash, refused (use SHA256 or stronger)", as, show(v))
	default:
		return refusal.Errorf("gpg %s %q: unknown hash", as, v)
	}
	return nil
}

// statusFD reads --status-fd: a descriptor number. Whether it is open is
// the caller's to find out.
func statusFD(p *parser, as, v string) error {
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 0 {
		return refusal.Errorf("gpg %s %q: want a file descriptor number", as, v)
	}
	p.inv.StatusFD = fd
	return nil
}

// show is s as typed when it is plain printable ASCII, quoted otherwise,
// so that no control byte a caller passed reaches a terminal or a log.
func show(s string) string {
	for _, r := range s {
		if r <= ' ' || r > '~' {
			return strconv.Quote(s)
		}
	}
	return s
}

// String names the command as a user would write it, for messages.
func (c Command) String() string {
	switch c {
	case Detach:
		return "--detach-sign"
	case Clear:
		return "--clearsign"
	case Version:
		return "--version"
	case ListSecretKeys:
		return "--list-secret-keys"
	case Delegate:
		return "a command for the real gpg"
	}
	return fmt.Sprintf("Command(%d)", int(c))
}
