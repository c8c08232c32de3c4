//go:build gendoc

package main

// The layout and prose of signstar(1): the commands and flags come from
// the kong model through internal/clidoc, the tables from gendoc.go.

import (
	"fmt"
	"strings"

	"github.com/alecthomas/kong"

	"signstar/internal/clidoc"
	"signstar/pkg/remote"
)

// manPage writes signstar(1) for the model of app.
func manPage(app *kong.Application, date, version string) []byte {
	p := clidoc.NewPage(app, clidoc.Header{Section: "1", Date: date, Source: "signstar " + version,
		Manual: "User Commands", By: "'just generate manpages'"})
	p.Synopsis(clidoc.Bold("-c") + " " + clidoc.Italic("REMOTE-COMMAND"))
	manDescription(p, app)
	p.Options("These options apply to every command.")
	p.Commands("Every command also takes the OPTIONS above.")
	manLoginShell(p)
	manConfig(p)
	p.Section("ENVIRONMENT", "", terms(environment))
	p.Section("EXIT STATUS", "The admin CLI and the login shell alike exit with:", terms(exitStatus()))
	p.Section("FILES", "", terms(files))
	manAudit(p)
	manExamples(p)
	p.Req("SH", "SEE ALSO")
	p.Text(seeAlso)
	return p.Bytes()
}

func terms(ts []term) []clidoc.Term {
	out := make([]clidoc.Term, len(ts))
	for i, t := range ts {
		out[i] = clidoc.Term{Name: t.name, Help: t.help}
	}
	return out
}

func manDescription(p *clidoc.Page, app *kong.Application) {
	p.Req("SH", "DESCRIPTION")
	p.Text(app.Help + " signstar reads what it signs on standard input and writes a detached v4 OpenPGP signature, " +
		"which gpgv, sqv, pacman, apt and rpm accept, to standard output. Errors are one line on standard error " +
		"(signstar: error: ...), and nothing is written to standard output.")
	p.Req("PP")
	p.Text("Before signing, signstar checks that the token's public key is the certificate's; before writing, it verifies " +
		"the signature against the certificate, and records the request in the audit trail (see AUDIT). " +
		"A signature that does not verify, or that could not be recorded, is never written.")
	p.Req("PP")
	p.Text("The commands below are the admin command line. Run as the login shell of an SSH account, signstar takes " +
		"only the few commands under LOGIN SHELL, and locks itself down (no_new_privs, Landlock, seccomp) " +
		"before it reads the first byte of input.")
}

func manLoginShell(p *clidoc.Page) {
	p.Req("SH", "LOGIN SHELL")
	p.Text("sshd(8) starts signstar as the login shell of the signing account (ForceCommand signstar in the shipped drop-in). " +
		"signstar then takes none of the options above: it reads the client's command from SSH_ORIGINAL_COMMAND and " +
		"accepts only these, as words separated by spaces. Started with no arguments inside an SSH session (SSH_CONNECTION set), as " +
		"ForceCommand signstar under an ordinary shell starts it, it is the login shell too. A forced command that is more than " +
		"the word signstar, such as command=\"signstar sign --key pkg\" in authorized_keys with signstar as the shell, is what runs: " +
		"the client may send nothing or that same request, and anything else is refused:")
	for _, c := range remoteCommands {
		p.Item(clidoc.Syntax(c.name), c.help)
	}
	p.Req("PP")
	p.Text(fmt.Sprintf("A flag may also be written --key=NAME. The command is printable ASCII, at most %d bytes, "+
		"without quoting or escapes. Anything else (unknown words, duplicate flags, shell syntax, scp(1), sftp(1), "+
		"another program, the admin commands) is refused with exit status %d and recorded, as is an interactive login.",
		remote.MaxLen, exitRefused))
}

func manConfig(p *clidoc.Page) {
	p.Req("SH", "CONFIGURATION")
	p.Text("The configuration file is TOML. An unknown key is an error naming the key and its line. " +
		"Relative paths are resolved against the file's directory. For example:")
	p.Code(configExample)
	p.Req("PP")
	p.Text("The keys:")
	for _, k := range configKeys() {
		p.Item(clidoc.Bold(strings.ReplaceAll(k.name, "NAME", `\fINAME\fB`)), k.help)
	}
}

func manAudit(p *clidoc.Page) {
	p.Section("AUDIT", "Every request, signed, answered, refused or failed, becomes one structured entry, written before "+
		"anything is released; if it cannot be written, nothing is released and signstar exits 1. "+
		"The sink (audit.sink) is journald, through its native protocol; or a file of JSON lines with the same field names, "+
		"fsync'd before release; or stderr, for development. Nothing secret is logged: no PIN, no input content. "+
		"The fields, besides __REALTIME_TIMESTAMP in a file:", terms(auditFields))
	p.Req("PP")
	p.Text("To find all signatures by a key, failed and refused requests of the last day, and who signed a file:")
	p.Code(auditRecipes)
}

func manExamples(p *clidoc.Page) {
	p.Req("SH", "EXAMPLES")
	for i, e := range examples {
		if i > 0 {
			p.Req("PP")
		}
		p.Text(e.name)
		p.Code(e.help)
	}
}
