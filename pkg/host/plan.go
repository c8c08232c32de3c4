package host

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Options say which host a plan is for and how accounts are made there.
type Options struct {
	// Root is the directory the host's files are under: "" or "/" for
	// the host itself, a scratch directory to try a host file safely
	// (accounts included: useradd and systemd-sysusers take --root).
	Root string
	// AccountTool makes the accounts: "systemd-sysusers" or "useradd";
	// empty means systemd-sysusers where it is installed, as the shipped
	// sshd/signstar.sysusers does, else useradd.
	AccountTool string
}

// Change is one thing apply does to make the host match the file.
type Change struct {
	Desc string // one line, as plan, apply and check print it
	// SSHD marks a change to sshd's configuration, which a running sshd
	// reads when it is reloaded (authorized_keys files it reads at each
	// login).
	SSHD bool
	do   func() error
}

func (c Change) String() string { return c.Desc }

// Plan is the difference between a host file and a host.
type Plan struct {
	Changes []Change
	// Missing is what the host lacks that apply does not make: configs,
	// PIN files, token keys and their certificates, one line each.
	Missing []Lack

	runDirs map[string][]string // lock files' directories under /run: their accounts
}

// Lack is one thing the host lacks. What says what, in a line; Kind,
// Account, Path and Key are for the command layer's hint on how to make
// it.
type Lack struct {
	Kind    LackKind
	What    string
	Account string // the account that needs it
	Path    string // the config's or the file's path
	Key     string // the token key's name
}

func (l Lack) String() string { return l.What }

// LackKind says what a [Lack] is.
type LackKind int

// The things apply checks for but does not make.
const (
	LackShell      LackKind = iota // the signstar binary, the accounts' shell
	LackConfig                     // a config ('signstar init')
	LackPIN                        // a config's PIN file
	LackKey                        // a token key ('signstar key generate')
	LackCert                       // a token key's certificate file
	LackSSHD                       // sshd itself, to check the drop-in
	LackSSHDConfig                 // sshd's config does not apply the drop-in
	LackSSHDTest                   // sshd -T fails on sshd's config
	LackRuntimeDir                 // a runtime directory of one account's own
)

// Clean reports whether the host matches the file: nothing to change,
// nothing missing.
func (p *Plan) Clean() bool { return len(p.Changes) == 0 && len(p.Missing) == 0 }

// Apply makes the changes in order, calling done after each; it stops at
// the first that fails. Each change re-reads what it depends on (an
// account's ID made by an earlier change), so a plan is applied once.
func (p *Plan) Apply(done func(Change)) error {
	for _, c := range p.Changes {
		if err := c.do(); err != nil {
			return fmt.Errorf("%s: %w", c.Desc, err)
		}
		done(c)
	}
	return nil
}

// Compare holds f against the host o names and returns the plan.
func Compare(f *File, o Options) (*Plan, error) {
	if err := o.init(); err != nil {
		return nil, err
	}
	accounts, err := o.readAccounts()
	if err != nil {
		return nil, err
	}
	p := &Plan{}
	if fi, err := os.Stat(o.path(f.SSHD.Shell)); err != nil || fi.Mode()&0o111 == 0 {
		// sshd refuses an account whose shell is not executable (auth.c).
		p.Missing = append(p.Missing, Lack{Kind: LackShell, Path: f.SSHD.Shell, What: fmt.Sprintf("signstar binary %s, the accounts' shell", f.SSHD.Shell)})
	}
	for _, name := range f.AccountNames() {
		p.Changes = append(p.Changes, o.compareAccount(name, f.Accounts[name], f.SSHD.Shell, accounts)...)
	}
	for _, name := range f.AccountNames() {
		w := want{path: f.Accounts[name].Home, dir: true, mode: 0o700, owner: name}
		p.Changes = append(p.Changes, o.compareFile(w, accounts)...)
	}
	for _, name := range f.ConfigNames() {
		if err := o.compareConfig(p, f, name); err != nil {
			return nil, err
		}
	}
	p.Changes = append(p.Changes, o.compareRuntime(p, accounts)...)
	for _, w := range authorizedKeys(f) {
		p.Changes = append(p.Changes, o.compareFile(w, accounts)...)
	}
	p.Changes = append(p.Changes, o.strayKeys(f)...)
	drop := o.compareDropIn(p, f, accounts)
	p.Changes = append(p.Changes, drop...)
	if len(drop) == 0 {
		o.compareEffective(p, f)
	}
	return p, nil
}

func (o *Options) init() error {
	if o.Root == "" {
		o.Root = "/"
	}
	if !filepath.IsAbs(o.Root) {
		abs, err := filepath.Abs(o.Root)
		if err != nil {
			return fmt.Errorf("root %s: %w", o.Root, err)
		}
		o.Root = abs
	}
	switch o.AccountTool {
	case "":
		o.AccountTool = defaultAccountTool()
	case "systemd-sysusers", "useradd":
	default:
		return errors.New("BUG: account tool " + o.AccountTool)
	}
	return nil
}

// path is p, a path on the host, under Root.
func (o Options) path(p string) string { return filepath.Join(o.Root, p) }

// onHost reports whether the plan is for the host itself.
func (o Options) onHost() bool { return o.Root == "/" }
