package main

// signstar(1), written as roff by hand: the commands and flags come from
// the kong model, the rest from the tables below, which the tests hold
// against pkg/config, pkg/audit and pkg/remote.

import (
	"fmt"
	"strings"

	"github.com/alecthomas/kong"

	"signstar/pkg/remote"
	"signstar/pkg/sandbox"
)

// term is one entry of a tagged list: a name and what it means.
type term struct{ name, help string }

// remoteCommands is the login shell's grammar (package remote);
// TestGenRemoteGrammar has remote.Parse accept each with every flag given.
var remoteCommands = []term{
	{"", "The account's default action, remote.default-action: sign standard input with the default key, " +
		"as 'sign' does (sign, the default), or answer a signing request on standard input, as 'sign --request' does (request). " +
		"This is what 'ssh ACCOUNT@HOST < FILE > FILE.sig' sends."},
	{"sign [--key NAME] [--armor]",
		"Sign standard input with key NAME (default: the default key) and write a binary detached OpenPGP signature, " +
			"or an ASCII-armored one with --armor."},
	{"sign --request [--key NAME]",
		"Read a digest-only signing request (JSON, version 1, as 'signstar request' and Arch Linux Signstar's client send it) " +
			"from standard input and write the response, which carries an armored signature."},
	{"cert [--key NAME]", "Print the key's armored OpenPGP certificate."},
	{"version", "Print the version line, as --version does."},
	{"help", "Print a summary of these commands."},
}

// configKeys documents every key of the configuration file
// (TestGenConfigKeys walks config.Config's toml tags against it). It and
// exitStatus are functions, not variables: their values need code at
// init, which the shipped binary would otherwise run and carry.
func configKeys() []term {
	return []term{
		{"token.uri", "The token as an RFC 7512 PKCS#11 URI: token= or serial=, and module-path=. A PIN in the URI is refused."},
		{"token.module", "The PKCS#11 module (.so), the alternative to uri, with label."},
		{"token.label", "The token's label, with module."},
		{"token.pin-file", "File holding the user PIN (required); refused unless its mode is 0600 or stricter."},
		{"token.lock-file", "Lock file held for the whole token session, so that signstar processes take turns on the token. " +
			"init sets one where the module needs it (SoftHSM2): /run/signstar/NAME.lock for /etc/signstar/NAME.toml, NAME.lock beside the config elsewhere. " +
			"Created if missing (mode 0600, owned by its directory's owner); whoever can open it can hold up signing."},
		{"audit.sink", "Where the audit trail goes: journald (default), file:/absolute/path (JSON lines) or stderr (development only; refused in the login shell). See AUDIT."},
		{"lockdown.read-write", "Extra absolute paths the PKCS#11 module reads and writes after lockdown."},
		{"lockdown.read-only", "Extra absolute paths the PKCS#11 module reads after lockdown."},
		{"lockdown.connect-tcp", "TCP ports a network HSM is reached on after lockdown (Landlock ABI 4 or newer)."},
		{"lockdown.landlock", "required (default), or best-effort to sign on kernels without Landlock; the downgrade is printed and recorded in SIGNSTAR_WARNING."},
		{"remote.default-action", "sign (default) or request: what an empty remote command does (see LOGIN SHELL)."},
		{"remote.idle-timeout", "How long the login shell waits for the next byte of input, as a duration (\"90s\", \"5m\"; 1s to 24h; default 5m). " +
			"A client that sends nothing for that long gets 'no input for 5m0s: closing', exit status 1, and a failed record."},
		{"remote.max-duration", "How long one login shell request may take in all, counted from its start, token login included (1s to 24h; default 1h). " +
			"Past it: 'request took longer than 1h0m0s: closing', exit status 1, and a failed record. The admin CLI has neither limit."},
		{"keys.NAME.type", "The key type: " + strings.ReplaceAll(keyTypeEnum(), ",", ", ") + "."},
		{"keys.NAME.id", "The key's CKA_ID on the token, in hex."},
		{"keys.NAME.cert", "The key's OpenPGP certificate file; it holds the key's creation time."},
		{"keys.NAME.hash", "sha512 (default) or sha256."},
		{"keys.NAME.default", "true for the key that sign uses without --key; at most one key. With a single key, that key is the default."},
		{"keys.NAME.allow", "SSH key fingerprints (SHA256:...) that may use this key over SSH; empty: every authorized key. " +
			"A key with an allow list is refused to sessions whose key sshd did not expose (ExposeAuthInfo)."},
		{"keys.NAME.notations", "OpenPGP notations (RFC 4880 section 5.2.3.16) the key adds to every signature it makes, in its hashed area, " +
			"after signstar's own: [{name = \"build-host@example.org\", value = \"sign1\"}], human-readable = false to clear that flag (default true). " +
			"A name is tag@domain (a DNS domain), not data-digest@archlinux.org nor a salt notation; a value is 1 to 1024 bytes without control characters; " +
			"at most 16, each name once; never critical. key list shows them."},
	}
}

const configExample = `[token]
module = "/usr/lib/softhsm/libsofthsm2.so"
label = "signstar"
pin-file = "/etc/signstar/pin"
lock-file = "/run/signstar/config.lock"

[keys.repo]                    # written by 'signstar key generate'
type = "ed25519"
id = "5d41402abc4b2a765d41402abc4b2a76"
cert = "certs/repo.asc"
default = true
allow = ["SHA256:EaGDxUxRfAkBX/ilGde0OsryzmcJfP8KCLcNqVIj5go"]`

var environment = []term{
	{"SIGNSTAR_CONFIG", "The configuration file when --config is not given, in the admin CLI and the login shell alike. " +
		"The shipped sshd drop-in sets it per account with SetEnv, which wins over anything a client sends."},
	{"SSH_ORIGINAL_COMMAND", "The client's command, set by sshd(8) when a forced command is in force and the client sent one: the login shell's request, " +
		"unless the forced command pins another (see LOGIN SHELL)."},
	{"SSH_USER_AUTH", "A file naming the keys that authenticated the session, set by sshd with ExposeAuthInfo yes. " +
		"Checked against keys.NAME.allow and recorded as SIGNSTAR_SSH_KEY; without it, keys with an allow list are refused."},
	{"SSH_CONNECTION", "The client's address and port, recorded as SIGNSTAR_CLIENT."},
	{"USER", "The account, recorded as SIGNSTAR_USER in the login shell."},
	{"(everything else)", "The login shell keeps SSH_*, USER, LOGNAME, HOME, PATH, SIGNSTAR_CONFIG and the variables the PKCS#11 modules " +
		"signstar knows read (SoftHSM2, tpm2-pkcs11 and the TSS, pcsc-lite, OpenSC, ykcs11, nethsm-pkcs11), and clears the rest before it reads " +
		"the config or loads a module: a client's LANG or LC_* never reach them. Set module variables with sshd's SetEnv."},
	{"SOFTHSM2_CONF", "SoftHSM2's configuration (default " + sandbox.SoftHSMConf + "): signstar reads its token directory there " +
		"and keeps it reachable after lockdown."},
}

func exitStatus() []term {
	return []term{
		{fmt.Sprint(exitOK), "Signed, or the command succeeded."},
		{fmt.Sprint(exitFailed), "Failed: a missing module or token, a wrong PIN, a missing key, a certificate that does not match, " +
			"empty input, a read error, an audit record that could not be written, a config, certificate or module that someone other than root " +
			"could change, an idle or overlong upload, a client that hung up. In the login shell the client sees one line and the request ID; " +
			"the detail is in the audit record."},
		{fmt.Sprint(exitRefused), "Usage error, or a refused request: a bad remote command, a key the session may not use, an interactive login."},
	}
}

var files = []term{
	{defaultConfig, "The configuration file (see CONFIGURATION). It, certs/, the PKCS#11 module and every directory on their paths must be " +
		"changeable by root alone (owned by root, not writable by group or others; a sticky directory counts as safe): " +
		"signstar refuses to start otherwise, and signstar check says so."},
	{"certs/NAME.asc", "The OpenPGP certificate of key NAME, written by key generate or key adopt beside the configuration file."},
	{"/etc/signstar/pin", "The token's user PIN (token.pin-file), owned by the signing account, mode 0600 or stricter."},
	{"/etc/ssh/sshd_config.d/50-signstar.conf", "The sshd drop-in: ForceCommand signstar for the signing account, " +
		"ExposeAuthInfo yes, SetEnv SIGNSTAR_CONFIG=..., and no pty, forwarding, tunnels or user environment."},
	{"/etc/signstar/authorized_keys/USER", "The SSH keys that may log in to account USER (the drop-in's AuthorizedKeysFile), " +
		"root-owned, each with restrict and from=."},
	{sandbox.SoftHSMConf, "SoftHSM2's configuration, when the token is SoftHSM2 and SOFTHSM2_CONF is not set."},
}

var auditFields = []term{
	{"MESSAGE", "One line for a person reading journalctl."},
	{"PRIORITY", "6 (info) signed or answered, 4 (warning) refused or undelivered, 3 (err) failed."},
	{"SYSLOG_IDENTIFIER", "Always signstar."},
	{"SIGNSTAR_REQUEST_ID", "A 128-bit id; errors shown to the client end with (request ID)."},
	{"SIGNSTAR_MODE", "cli or ssh."},
	{"SIGNSTAR_RESULT", "signed; answered (cert, version, help); refused; failed; or undelivered: a second record for a " +
		"signed request whose signature could not be written to the client."},
	{"SIGNSTAR_ERROR", "Why, when refused, failed or undelivered."},
	{"SIGNSTAR_WARNING", "A lockdown downgrade (best-effort Landlock)."},
	{"SIGNSTAR_MODULE_OUTPUT", "Login shell only: what the PKCS#11 module and its libraries wrote to standard error, kept from the SSH client."},
	{"SIGNSTAR_USER", "The local account."},
	{"SIGNSTAR_SSH_KEY", "The SHA256: fingerprint of the SSH key that authenticated the session."},
	{"SIGNSTAR_CLIENT", "The client's address and port, from SSH_CONNECTION."},
	{"SIGNSTAR_REQUEST", "The client's command, sanitized; empty for the default action. Login shell only."},
	{"SIGNSTAR_KEY", "The key's name."},
	{"SIGNSTAR_KEY_FINGERPRINT", "The key's OpenPGP fingerprint."},
	{"SIGNSTAR_INPUT_SIZE", "The size of the signed bytes (of the file, for a signing request)."},
	{"SIGNSTAR_INPUT_SHA256", "The SHA-256 of the signed bytes; absent for a signing request, where signstar sees only a SHA-512 state."},
	{"SIGNSTAR_INPUT_SHA512", "The SHA-512 of the signed bytes."},
	{"SIGNSTAR_SIGNATURE_CREATED", "The signature's creation time (RFC 3339)."},
}

const auditRecipes = `journalctl -t signstar SIGNSTAR_KEY=repo SIGNSTAR_RESULT=signed
journalctl -t signstar --since -1d \
    SIGNSTAR_RESULT=failed SIGNSTAR_RESULT=refused
sum=$(sha256sum < core.db | cut -d' ' -f1)
journalctl -t signstar -o json SIGNSTAR_INPUT_SHA256=$sum`

var examples = []term{
	{"Create a configuration for a SoftHSM2 token and generate a key on it:",
		"signstar init --config ./signstar.toml --pin-file ./pin \\\n" +
			"    --module /usr/lib/softhsm/libsofthsm2.so --token signstar\n" +
			"signstar key generate --config ./signstar.toml --name repo \\\n" +
			"    --uid 'Example Repo Key <repo@example.org>' --expires 2y"},
	{"List the keys, export a certificate, and check everything a signature will need:",
		"signstar key list\nsignstar key export --name repo > repo.asc\nsignstar check"},
	{"Sign locally, and verify:",
		"signstar sign --key repo < core.db > core.db.sig\n" +
			"gpgv --keyring <(gpg --dearmor < repo.asc) core.db.sig core.db"},
	{"Sign through the login shell of account signer on sign.example.org:",
		"ssh signer@sign.example.org cert > repo.asc\nssh signer@sign.example.org < core.db > core.db.sig\n" +
			"ssh signer@sign.example.org sign --key repo --armor \\\n" +
			"    < core.db > core.db.asc"},
	{"Sign local files through two servers, sending only their SHA-512 state:",
		"signstar request --host signer@sign1 --host signer@sign2 \\\n" +
			"    --cert repo.asc *.pkg.tar.zst"},
}

const seeAlso = `gpgv(1), sqv(1), pacman-key(8), ssh(1), sshd(8), sshd_config(5), journalctl(1), softhsm2.conf(5)`

// manPage writes signstar(1) for the model of app.
func manPage(app *kong.Application, date, version string) []byte {
	var r roff
	r.WriteString(`.\" signstar(1), generated from the command line model by 'just generate manpages'; do not edit.` + "\n")
	r.req("TH", "SIGNSTAR", "1", date, "signstar "+version, "User Commands")
	// Identifiers (SSH_ORIGINAL_COMMAND, --ssh-option) must not be
	// hyphenated, and ragged right reads better than stretched spaces.
	r.req("nh")
	r.req("nr", "HY", "0") // groff's .YS turns hyphenation back on to this
	r.req("ad", "l")
	r.req("SH", "NAME")
	r.text("signstar - " + strings.TrimSuffix(lowerFirst(app.Help), "."))
	manSynopsis(&r, app)
	manDescription(&r, app)
	r.req("SH", "OPTIONS")
	r.text("These options apply to every command.")
	manFlags(&r, app.Node, app.Flags)
	manCommands(&r, app)
	manLoginShell(&r)
	manConfig(&r)
	r.section("ENVIRONMENT", "", environment)
	r.section("EXIT STATUS", "The admin CLI and the login shell alike exit with:", exitStatus())
	r.section("FILES", "", files)
	manAudit(&r)
	manExamples(&r)
	r.req("SH", "SEE ALSO")
	r.text(seeAlso)
	return []byte(r.String())
}

func manSynopsis(r *roff, app *kong.Application) {
	r.req("SH", "SYNOPSIS")
	var root []string
	for _, f := range app.Flags {
		if f == app.HelpFlag || isVersionFlag(f) {
			for _, name := range flagNames(f) {
				root = append(root, bold(name))
			}
		}
	}
	r.req("SY", "signstar")
	r.raw("(" + strings.Join(root, " | ") + ")")
	r.req("YS")
	for _, n := range commands(app)[1:] {
		if len(subcommands(n)) > 0 {
			continue
		}
		r.req("SY", "signstar")
		r.raw(strings.Join(leafSynopsis(app, n), " "))
		r.req("YS")
	}
	r.req("SY", "signstar")
	r.raw(`\fB\-c\fR \fIREMOTE\-COMMAND\fR`)
	r.req("YS")
}

// leafSynopsis is the words after "signstar" that call leaf command n:
// each command word followed by its own flags, then the arguments.
func leafSynopsis(app *kong.Application, n *kong.Node) []string {
	var out []string
	for _, p := range lineage(n) {
		if p.Type == kong.CommandNode {
			out = append(out, bold(p.Name))
		}
		out = append(out, nodeFlagsSynopsis(app, p)...)
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
		return italic(argName(a)) + "..."
	}
	return italic(argName(a))
}

// nodeFlagsSynopsis lists n's flags for a synopsis, flags that exclude
// each other (kong's xor) as one [a | b] alternative. --help and
// --version have a line of their own.
func nodeFlagsSynopsis(app *kong.Application, n *kong.Node) []string {
	var out []string
	done := map[*kong.Flag]bool{}
	for _, f := range n.Flags {
		if done[f] || f == app.HelpFlag || isVersionFlag(f) {
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

func isVersionFlag(f *kong.Flag) bool {
	_, ok := f.Target.Interface().(kong.VersionFlag)
	return ok
}

func sharesXor(f, g *kong.Flag) bool {
	for _, x := range f.Xor {
		for _, y := range g.Xor {
			if x == y {
				return true
			}
		}
	}
	return false
}

// flagSynopsis is \fB--name\fR=\fIVALUE\fR, with "..." for a repeatable
// flag; withShort adds the short form.
func flagSynopsis(f *kong.Flag, withShort bool) string {
	s := bold("--" + f.Name)
	if withShort && f.Short != 0 {
		s = bold("-"+string(f.Short)) + ", " + s
	}
	if kind, _ := valueKind(f.Value); kind != "" {
		s += "=" + italic(placeholder(f))
	}
	if f.IsCumulative() {
		s += "..."
	}
	return s
}

func placeholder(f *kong.Flag) string {
	if f.PlaceHolder != "" {
		return f.PlaceHolder
	}
	return strings.ToUpper(f.Name)
}

func manDescription(r *roff, app *kong.Application) {
	r.req("SH", "DESCRIPTION")
	r.text(app.Help + " signstar reads what it signs on standard input and writes a detached v4 OpenPGP signature, " +
		"which gpgv, sqv, pacman, apt and rpm accept, to standard output. Errors are one line on standard error " +
		"(signstar: error: ...), and nothing is written to standard output.")
	r.req("PP")
	r.text("Before signing, signstar checks that the token's public key is the certificate's; before writing, it verifies " +
		"the signature against the certificate, and records the request in the audit trail (see AUDIT). " +
		"A signature that does not verify, or that could not be recorded, is never written.")
	r.req("PP")
	r.text("The commands below are the admin command line. Run as the login shell of an SSH account, signstar takes " +
		"only the few commands under LOGIN SHELL, and locks itself down (no_new_privs, Landlock, seccomp) " +
		"before it reads the first byte of input.")
}

// manFlags documents flags of node n as a tagged list.
func manFlags(r *roff, n *kong.Node, flags []*kong.Flag) {
	for _, f := range flags {
		r.req("TP")
		r.raw(flagSynopsis(f, true))
		r.text(strings.Join(flagNotes(n, f), " "))
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

func manCommands(r *roff, app *kong.Application) {
	r.req("SH", "COMMANDS")
	r.text("Every command also takes the OPTIONS above.")
	for _, n := range commands(app)[1:] {
		r.req("SS", "signstar "+strings.Join(cmdPath(n), " "))
		r.text(n.Help)
		if n.Detail != "" {
			r.req("PP")
			r.text(n.Detail)
		}
		if n.Hidden {
			r.text("(Not listed by --help.)")
		}
		manFlags(r, n, n.Flags)
		for _, a := range n.Positional {
			r.req("TP")
			r.raw(argSynopsis(a))
			r.text(a.Help)
		}
	}
}

func manLoginShell(r *roff) {
	r.req("SH", "LOGIN SHELL")
	r.text("sshd(8) starts signstar as the login shell of the signing account (ForceCommand signstar in the shipped drop-in). " +
		"signstar then takes none of the options above: it reads the client's command from SSH_ORIGINAL_COMMAND and " +
		"accepts only these, as words separated by spaces. Started with no arguments inside an SSH session (SSH_CONNECTION set), as " +
		"ForceCommand signstar under an ordinary shell starts it, it is the login shell too. A forced command that is more than " +
		"the word signstar, such as command=\"signstar sign --key pkg\" in authorized_keys with signstar as the shell, is what runs: " +
		"the client may send nothing or that same request, and anything else is refused:")
	for _, c := range remoteCommands {
		r.req("TP")
		r.raw(remoteSyntax(c.name))
		r.text(c.help)
	}
	r.req("PP")
	r.text(fmt.Sprintf("A flag may also be written --key=NAME. The command is printable ASCII, at most %d bytes, "+
		"without quoting or escapes. Anything else (unknown words, duplicate flags, shell syntax, scp(1), sftp(1), "+
		"another program, the admin commands) is refused with exit status %d and recorded, as is an interactive login.",
		remote.MaxLen, exitRefused))
}

// remoteSyntax renders "sign [--key NAME]": words in bold, placeholders
// in italics.
func remoteSyntax(s string) string {
	if s == "" {
		return italic("(empty command)")
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
			w = italic(w)
		} else {
			w = bold(w)
		}
		out = append(out, open+w+close)
	}
	return strings.Join(out, " ")
}

func manConfig(r *roff) {
	r.req("SH", "CONFIGURATION")
	r.text("The configuration file is TOML. An unknown key is an error naming the key and its line. " +
		"Relative paths are resolved against the file's directory. For example:")
	r.code(configExample)
	r.req("PP")
	r.text("The keys:")
	for _, k := range configKeys() {
		r.req("TP")
		r.raw(bold(strings.ReplaceAll(k.name, "NAME", `\fINAME\fB`)))
		r.text(k.help)
	}
}

func manAudit(r *roff) {
	r.section("AUDIT", "Every request, signed, answered, refused or failed, becomes one structured entry, written before "+
		"anything is released; if it cannot be written, nothing is released and signstar exits 1. "+
		"The sink (audit.sink) is journald, through its native protocol; or a file of JSON lines with the same field names, "+
		"fsync'd before release; or stderr, for development. Nothing secret is logged: no PIN, no input content. "+
		"The fields, besides __REALTIME_TIMESTAMP in a file:", auditFields)
	r.req("PP")
	r.text("To find all signatures by a key, failed and refused requests of the last day, and who signed a file:")
	r.code(auditRecipes)
}

func manExamples(r *roff) {
	r.req("SH", "EXAMPLES")
	for i, e := range examples {
		if i > 0 {
			r.req("PP")
		}
		r.text(e.name)
		r.code(e.help)
	}
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// roff builds a page. Text goes through esc; requests' arguments are
// quoted.
type roff struct{ strings.Builder }

// req writes a request or macro call: .NAME arg..., quoting arguments
// with spaces.
func (r *roff) req(name string, args ...string) {
	r.WriteString("." + name)
	for _, a := range args {
		a = strings.ReplaceAll(esc(a), `"`, `\(dq`)
		if a == "" || strings.Contains(a, " ") {
			a = `"` + a + `"`
		}
		r.WriteString(" " + a)
	}
	r.WriteByte('\n')
}

// text writes s as text to fill.
func (r *roff) text(s string) { r.raw(esc(s)) }

// raw writes roff that is already escaped, guarding lines that would be
// read as requests.
func (r *roff) raw(s string) {
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, ".") || strings.HasPrefix(line, "'") {
			line = `\&` + line
		}
		r.WriteString(line + "\n")
	}
}

// code writes s as an indented block, unfilled, where quotes and
// backticks stay the ASCII characters a shell needs.
func (r *roff) code(s string) {
	r.req("PP")
	r.req("RS", "4")
	r.req("nf")
	r.raw(strings.NewReplacer(`\`, `\e`, "-", `\-`, "'", `\(aq`, "`", `\(ga`, "~", `\(ti`, "^", `\(ha`).Replace(s))
	r.req("fi")
	r.req("RE")
}

// section writes a section of a tagged list, after an introduction.
func (r *roff) section(title, intro string, terms []term) {
	r.req("SH", title)
	if intro != "" {
		r.text(intro)
	}
	for _, t := range terms {
		r.req("TP")
		r.raw(bold(t.name))
		r.text(t.help)
	}
}

// esc makes s roff text: a backslash is \e, and '-' is \-, the
// hyphen-minus a reader can paste into a shell.
func esc(s string) string {
	return strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
}

// bold and italic take text that may already hold font escapes: they do
// not escape backslashes.
func bold(s string) string   { return `\fB` + strings.ReplaceAll(s, "-", `\-`) + `\fR` }
func italic(s string) string { return `\fI` + strings.ReplaceAll(s, "-", `\-`) + `\fR` }
