//go:build linux && cgo

package main

// signstar host plan|apply|check: a signing host as code (package host).

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"signstar/pkg/host"
	"signstar/pkg/tomlconf"
)

type hostCmd struct {
	Plan  hostPlanCmd  `cmd:"" help:"Print what apply would change on the host, one change a line, and what the host lacks."`
	Apply hostApplyCmd `cmd:"" help:"Make the host match the host file: accounts, allow lists, authorized_keys, the sshd drop-in (checked with sshd -t); a second apply changes nothing."`
	Check hostCheckCmd `cmd:"" help:"Name every difference between the host file and the host; exit 1 if there is one."`
}

// hostFlags are the three commands' flags.
type hostFlags struct {
	File string `help:"The host file (see sshd/host.example.toml)." required:"" type:"existingfile" placeholder:"FILE"`
	Root string `help:"Apply everything, accounts included, under this directory instead of /." type:"path" placeholder:"DIR"`
}

// errDrift is check's failure: the host differs from the file.
var errDrift = errors.New("the host differs from the host file")

func (h hostFlags) plan() (*host.Plan, error) {
	fh, err := os.Open(h.File)
	if err != nil {
		return nil, fmt.Errorf("read host file: %w", err)
	}
	defer fh.Close()
	data, err := tomlconf.Read(fh)
	if err != nil {
		return nil, fmt.Errorf("read host file %s: %w", h.File, err)
	}
	f, err := host.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("host file %s: %w", h.File, err)
	}
	return host.Compare(f, host.Options{Root: h.Root})
}

// printMissing prints what the host lacks, each with how to make it.
func printMissing(p *host.Plan) {
	for _, m := range p.Missing {
		fmt.Println("missing: " + m.What)
		if h := lackHint(m); h != "" {
			fmt.Println("   hint: " + h)
		}
	}
}

func lackHint(m host.Lack) string {
	switch m.Kind {
	case host.LackShell:
		return "install signstar there, or set sshd.shell in the host file"
	case host.LackConfig:
		return fmt.Sprintf("signstar --config %s init --pin-file FILE (--uri URI | --module SO --token LABEL)", m.Path)
	case host.LackPIN:
		return fmt.Sprintf("install -o %s -m 0600 /dev/stdin %s, then type the token's user PIN", m.Account, m.Path)
	case host.LackKey:
		return fmt.Sprintf("signstar --config %s key generate --name %s --uid USERID (or key import, key adopt)", m.Path, m.Key)
	case host.LackCert:
		return fmt.Sprintf("signstar --config %s check names what the key needs", m.Path)
	case host.LackSSHD:
		return "install openssh-server"
	case host.LackRuntimeDir:
		return "point each of these configs' token.lock-file into a directory of its account's own, say /run/signstar-ACCOUNT/NAME.lock"
	case host.LackSSHDConfig:
		return fmt.Sprintf("include %s at the top of sshd_config, before any other setting (sshd keeps the first value it reads)", m.Path)
	}
	return ""
}

type hostPlanCmd struct{ hostFlags }

func (c *hostPlanCmd) Run() error {
	p, err := c.plan()
	if err != nil {
		return err
	}
	for _, ch := range p.Changes {
		fmt.Println(ch)
	}
	printMissing(p)
	if len(p.Changes) == 0 {
		infof("nothing to change")
	}
	return nil
}

type hostApplyCmd struct{ hostFlags }

func (c *hostApplyCmd) Run() error {
	p, err := c.plan()
	if err != nil {
		return err
	}
	if len(p.Changes) == 0 {
		infof("nothing changed")
	}
	if err := p.Apply(func(ch host.Change) { fmt.Println(ch) }); err != nil {
		return err
	}
	if n := len(p.Changes); n > 0 {
		infof("applied %d change(s)", n)
	}
	if c.Root == "" && slices.ContainsFunc(p.Changes, func(ch host.Change) bool { return ch.SSHD }) {
		fmt.Fprintln(os.Stderr, "signstar: hint: reload sshd (systemctl reload ssh on Debian, sshd on Arch) so that it reads the new drop-in")
	}
	printMissing(p)
	if len(p.Missing) > 0 {
		return fmt.Errorf("the host still lacks %d thing(s) apply does not make", len(p.Missing))
	}
	return nil
}

type hostCheckCmd struct{ hostFlags }

func (c *hostCheckCmd) Run() error {
	p, err := c.plan()
	if err != nil {
		return err
	}
	for _, ch := range p.Changes {
		fmt.Println("drift: " + ch.Desc)
	}
	printMissing(p)
	if !p.Clean() {
		return fmt.Errorf("%w: %d change(s) to apply, %d thing(s) missing", errDrift, len(p.Changes), len(p.Missing))
	}
	infof("the host matches %s", c.File)
	return nil
}
