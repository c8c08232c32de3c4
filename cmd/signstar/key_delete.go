//go:build linux && cgo

package main

// signstar key delete: a key taken out of the config, its files moved
// aside (certs/deleted/), and its key pair destroyed on the token unless
// kept (package keyring, delete.go). It asks for --yes, and for --yes
// twice for the default key, since deleting it makes every request that
// names no key fail.

import (
	"fmt"
	"path/filepath"
	"strings"

	"signstar/pkg/audit"
	"signstar/pkg/config"
	"signstar/pkg/keyring"
	"signstar/pkg/refusal"
)

type keyDeleteCmd struct {
	Name        string `help:"Name of the key." required:"" placeholder:"NAME"`
	KeepOnToken bool   `help:"Keep the key pair on the token; only the config entry goes and the key's files are moved aside."`
	Yes         int    `help:"Confirm the deletion; give it twice to delete the default key (or the only one)." type:"counter"`
}

func (c *keyDeleteCmd) Run(g *cli) error {
	a, err := openKeyAudit(g)
	if err != nil {
		return err
	}
	ev := keyEvent{Event: audit.KeyDelete, Keys: []keyRef{{Name: c.Name}}}
	d, onToken, err := c.delete(g, &ev)
	if err := a.record(ev, err); err != nil {
		return err
	}
	infof("deleted key %q: %s", d.Name, deletionText(d, onToken))
	return nil
}

func (c *keyDeleteCmd) delete(g *cli, ev *keyEvent) (*keyring.Deletion, bool, error) {
	cfg, err := loadConfig(g.Config, cliTrust())
	if err != nil {
		return nil, false, err
	}
	if _, ok := cfg.Keys[c.Name]; !ok {
		_, _, err := cfg.Key(c.Name)
		return nil, false, fmt.Errorf("%w (see 'signstar key list')", err)
	}
	d, err := keyring.PlanDelete(cfg, c.Name, c.KeepOnToken)
	if err != nil {
		return nil, false, err
	}
	ev.Keys[0].Fingerprint = d.Fingerprint
	if d.Fingerprint == "" {
		ev.Keys[0].Fingerprint = "unknown" // the certificate cannot be read
	}
	ev.Detail = deletionText(d, d.Token)
	if err := c.confirm(cfg, d); err != nil {
		return nil, false, err
	}
	var kr *keyring.Keyring
	if d.Token {
		if kr, err = keyring.Open(cfg); err != nil {
			return nil, false, err
		}
		defer kr.Close()
	}
	onToken, err := keyring.DeleteKey(cfg, kr, d)
	if err == nil {
		ev.Detail = deletionText(d, onToken)
	}
	return d, onToken, err
}

// confirm refuses without --yes, saying what would be deleted, and the
// default key without --yes twice.
func (c *keyDeleteCmd) confirm(cfg *config.Config, d *keyring.Deletion) error {
	if c.Yes == 0 {
		return withHint{refusal.Errorf("key delete would take key %q out of the config: %s; nothing was deleted", d.Name, deletionText(d, d.Token)),
			"give --yes to delete it"}
	}
	if def, err := cfg.DefaultKey(); err == nil && def == d.Name && c.Yes < 2 {
		return withHint{refusal.Errorf("key %q is the default key: a request that names no key would fail once it is gone", d.Name),
			hint("make another key the default first ('signstar key rotate --from " + d.Name + " --to NEW'), or give --yes twice")}
	}
	return nil
}

// deletionText says what deleting d does (or did): the config entry, the
// files moved aside, and the key pair on the token, destroyed (if the
// token held it) or kept.
func deletionText(d *keyring.Deletion, destroyed bool) string {
	parts := []string{fmt.Sprintf("[keys.%s] removed from %s", d.Name, d.Config)}
	if d.Fingerprint != "" {
		parts[0] = fmt.Sprintf("fingerprint %s, ", d.Fingerprint) + parts[0]
	}
	for i, f := range d.Files {
		parts = append(parts, fmt.Sprintf("%s moved to %s", f, filepath.Join(keyring.DeletedDir, filepath.Base(d.Moved[i]))))
	}
	switch {
	case !d.Token:
		parts = append(parts, fmt.Sprintf("key pair (id %x) kept on the token", d.ID))
	case destroyed:
		parts = append(parts, fmt.Sprintf("key pair (id %x) destroyed on the token", d.ID))
	default:
		parts = append(parts, fmt.Sprintf("no key pair with id %x on the token", d.ID))
	}
	return strings.Join(parts, "; ")
}
