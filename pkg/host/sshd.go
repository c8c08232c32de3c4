package host

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// generated heads every file apply writes.
const generated = "# Written by 'signstar host apply' from the host file: change that file, not\n" +
	"# this one; 'signstar host check' reports any difference.\n"

// authorizedKeys returns one file per account, root-owned and mode 0644
// in a root-owned directory, so the account cannot change who may log in
// (sshd/authorized_keys.example). Each key is "restrict" (no forwarding,
// pty, X11 or ~/.ssh/rc) and, with from patterns, pinned to those hosts.
// No command=: the drop-in's ForceCommand overrides it (OpenSSH 9.2
// session.c), as the example explains.
func authorizedKeys(f *File) []want {
	ws := []want{{path: f.SSHD.AuthorizedKeys, dir: true, mode: 0o755, owner: "root"}}
	for _, name := range f.AccountNames() {
		a := f.Accounts[name]
		var b bytes.Buffer
		b.WriteString(generated)
		for _, cn := range sortedKeys(a.Clients) {
			c := a.Clients[cn]
			opts := "restrict"
			if len(c.From) > 0 {
				opts += fmt.Sprintf(",from=%q", strings.Join(c.From, ","))
			}
			line := strings.TrimSpace(fmt.Sprintf("%s %s %s %s", opts, c.pub.typ, c.pub.base64, c.Comment))
			fmt.Fprintf(&b, "# client key %s, %s\n%s\n", cn, c.Fingerprint(), line)
		}
		ws = append(ws, want{path: filepath.Join(f.SSHD.AuthorizedKeys, name), data: b.Bytes(), mode: 0o644, owner: "root"})
	}
	return ws
}

// dropIn is the sshd drop-in: the shipped sshd/50-signstar.conf's global
// settings once, then its Match block for each account (a test holds the
// two files' settings equal).
func dropIn(f *File) []byte {
	var b bytes.Buffer
	b.WriteString(generated)
	b.WriteString(`#
# Global settings come before any Match block (see sshd/50-signstar.conf).
MaxStartups 64:30:256
PermitUserEnvironment no
`)
	for _, name := range f.AccountNames() {
		a := f.Accounts[name]
		env := append([]string{"SIGNSTAR_CONFIG=" + f.Configs[a.Config].Path}, a.SetEnv...)
		fmt.Fprintf(&b, `
Match User %s
	AuthorizedKeysFile %s/%%u
	AuthenticationMethods publickey
	PubkeyAuthentication yes
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	ForceCommand signstar
	AcceptEnv SIGNSTAR_NO_CLIENT_ENV
	ExposeAuthInfo yes
	SetEnv %s
	PermitTTY no
	DisableForwarding yes
	AllowAgentForwarding no
	AllowTcpForwarding no
	AllowStreamLocalForwarding no
	X11Forwarding no
	PermitTunnel no
	PermitUserRC no
	MaxSessions 32
	ClientAliveInterval 30
	ClientAliveCountMax 4
`, name, f.SSHD.AuthorizedKeys, strings.Join(env, " "))
	}
	return b.Bytes()
}

// compareDropIn returns the changes to the drop-in. A new drop-in is
// checked with sshd -t before it replaces the old one, so sshd never
// reads one it rejects.
func (o Options) compareDropIn(p *Plan, f *File, accounts map[string]account) []Change {
	w := want{path: f.SSHD.DropIn, data: dropIn(f), mode: 0o644, owner: "root"}
	sshd := findSSHD()
	if sshd == "" {
		p.Missing = append(p.Missing, Lack{Kind: LackSSHD, What: "sshd, to check the drop-in with sshd -t"})
	} else {
		w.check = func(tmp string) error { return sshdTest(sshd, tmp) }
	}
	d := want{path: filepath.Dir(f.SSHD.DropIn), dir: true, mode: 0o755, owner: "root"}
	var ch []Change
	if !exists(o.path(d.path)) { // else the distribution's directory: its mode is not ours
		ch = o.compareFile(d, accounts)
	}
	ch = append(ch, o.compareFile(w, accounts)...)
	for i := range ch {
		ch[i].SSHD = true
	}
	return ch
}

// strayKeys returns the removal of each file in the authorized_keys
// directory that is no account's of the host file: the directory is the
// host file's, and a key file left from a removed account would let its
// keys in again were the account's name reused.
func (o Options) strayKeys(f *File) []Change {
	entries, err := os.ReadDir(o.path(f.SSHD.AuthorizedKeys))
	if err != nil {
		return nil // none yet: compareFile makes the directory
	}
	var ch []Change
	for _, e := range entries {
		if _, ok := f.Accounts[e.Name()]; ok && e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(f.SSHD.AuthorizedKeys, e.Name())
		ch = append(ch, Change{
			Desc: fmt.Sprintf("remove %s: no account %q in the host file", p, e.Name()),
			do:   func() error { return os.RemoveAll(o.path(p)) },
		})
	}
	return ch
}

func findSSHD() string {
	if p, err := exec.LookPath("sshd"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/sshd", "/usr/bin/sshd"} {
		if exists(p) {
			return p
		}
	}
	return ""
}

// sshdTest runs sshd -t (sshd(8): check the configuration and keys) on a
// config holding only a throwaway host key and an Include of the drop-in,
// so it checks the drop-in alone, wherever it is going (under a scratch
// root the host's sshd_config does not include it).
func sshdTest(sshd, dropIn string) error {
	dir, err := os.MkdirTemp("", "signstar-sshd-t-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	key := filepath.Join(dir, "hostkey")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		return fmt.Errorf("ssh-keygen: %v: %s", err, bytes.TrimSpace(out))
	}
	conf := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(conf, []byte("HostKey "+key+"\nInclude "+dropIn+"\n"), 0o600); err != nil {
		return err
	}
	if out, err := exec.Command(sshd, "-t", "-f", conf).CombinedOutput(); err != nil {
		return fmt.Errorf("sshd -t rejects the drop-in: %s", bytes.TrimSpace(out))
	}
	return nil
}

// compareEffective asks sshd what it applies to each account (sshd -T,
// the configuration after Match blocks) and names each of the drop-in's
// settings it does not apply: the drop-in is not included, or a setting
// read before it wins (sshd keeps the first value it reads of a global
// setting, and of a setting in Match blocks). Only on the host itself,
// with the drop-in current: under a scratch root the sshd_config's
// Includes name the host's files, not the root's.
func (o Options) compareEffective(p *Plan, f *File) {
	sshd := findSSHD()
	if !o.onHost() || sshd == "" || !exists(f.SSHD.Config) {
		return
	}
	for _, name := range f.AccountNames() {
		out, err := exec.Command(sshd, "-T", "-f", f.SSHD.Config, "-C", "user="+name+",host=localhost,addr=127.0.0.1").CombinedOutput()
		if err != nil {
			first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
			p.Missing = append(p.Missing, Lack{Kind: LackSSHDTest, Account: name, Path: f.SSHD.Config, What: fmt.Sprintf("sshd -T -f %s (account %s): %s", f.SSHD.Config, name, first)})
			continue
		}
		got := map[string]bool{}
		for _, l := range strings.Split(string(out), "\n") {
			got[l] = true
		}
		var lost []string
		for _, s := range settings(dropIn(f), name) {
			if !got[s] {
				lost = append(lost, s)
			}
		}
		if len(lost) > 0 {
			p.Missing = append(p.Missing, Lack{Kind: LackSSHDConfig, Account: name, Path: f.SSHD.DropIn, What: fmt.Sprintf("sshd (%s) does not apply the drop-in's %q to account %s", f.SSHD.Config, strings.Join(lost, ", "), name)})
		}
	}
}

// settings returns what the drop-in sets for account name, as sshd -T
// prints it: "keyword value", the keyword in lower case, SetEnv one
// variable a line.
func settings(drop []byte, name string) []string {
	var out []string
	in := true // the global part, before any Match block
	for _, l := range strings.Split(string(drop), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 0 || strings.HasPrefix(f[0], "#"):
		case f[0] == "Match":
			in = len(f) == 3 && f[1] == "User" && f[2] == name
		case !in:
		case f[0] == "SetEnv":
			for _, v := range f[1:] {
				out = append(out, "setenv "+v)
			}
		default:
			out = append(out, strings.ToLower(f[0])+" "+strings.Join(f[1:], " "))
		}
	}
	return out
}
