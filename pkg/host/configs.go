package host

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"signstar/pkg/config"
)

// compareConfig holds one config against the file: its default action
// and its keys' allow lists are the file's (package config edits them);
// the config, its PIN file, the keys the file names and their
// certificates must exist.
func (o Options) compareConfig(p *Plan, f *File, name string) error {
	hc := f.Configs[name]
	cfg, err := config.Load(o.path(hc.Path))
	if errors.Is(err, config.ErrNoConfig) {
		p.Missing = append(p.Missing, Lack{Kind: LackConfig, Path: hc.Path, What: fmt.Sprintf("config %s (config %s)", hc.Path, name)})
		return nil
	}
	if err != nil {
		return err
	}
	users := f.users(name)
	if lock := cfg.Token.LockFile; filepath.IsAbs(lock) && strings.HasPrefix(lock, "/run/") {
		p.runDir(filepath.Dir(lock), users)
	}
	if pin := o.resolve(cfg, cfg.Token.PINFile); !exists(pin) {
		p.Missing = append(p.Missing, Lack{Kind: LackPIN, Path: o.unroot(pin), Account: users[0], What: fmt.Sprintf("pin file %s of config %s", o.unroot(pin), hc.Path)})
	}
	action := f.Accounts[users[0]].DefaultAction
	if current := cfg.Remote.DefaultAction; current != action && !(current == "" && action == "sign") {
		p.Changes = append(p.Changes, Change{
			Desc: fmt.Sprintf("set remote.default-action = %q in %s (is %q)", action, hc.Path, current),
			do: func() error {
				return o.editConfig(hc.Path, func(c *config.Config) error { return c.SetDefaultAction(action) })
			},
		})
	}
	for _, key := range sortedKeys(hc.Allow) {
		k, ok := cfg.Keys[key]
		if !ok {
			p.Missing = append(p.Missing, Lack{Kind: LackKey, Path: hc.Path, Key: key, What: fmt.Sprintf("token key %s in config %s", key, hc.Path)})
			continue
		}
		if cert := o.resolve(cfg, k.Cert); !exists(cert) {
			p.Missing = append(p.Missing, Lack{Kind: LackCert, Path: hc.Path, Key: key, What: fmt.Sprintf("certificate %s of token key %s in config %s", o.unroot(cert), key, hc.Path)})
		}
	}
	for _, key := range cfg.KeyNames() {
		if c, ok := o.compareAllow(f, name, key, cfg.Keys[key].Allow); ok {
			p.Changes = append(p.Changes, c)
		}
	}
	return nil
}

// compareAllow returns the change to key's allow list, if it needs one.
func (o Options) compareAllow(f *File, cname, key string, current []string) (Change, bool) {
	hc := f.Configs[cname]
	var fprs []string
	for _, client := range hc.Allow[key] {
		_, c := f.client(client)
		fprs = append(fprs, c.Fingerprint())
	}
	if sameSet(fprs, current) {
		return Change{}, false
	}
	desc := fmt.Sprintf("set keys.%s.allow in %s to %d client key(s): %s", key, hc.Path, len(fprs), strings.Join(hc.Allow[key], ", "))
	if len(fprs) == 0 {
		desc = fmt.Sprintf("remove keys.%s.allow in %s: every client key of %s may use it", key, hc.Path, strings.Join(f.users(cname), ", "))
	}
	return Change{Desc: desc, do: func() error {
		return o.editConfig(hc.Path, func(c *config.Config) error { return c.SetAllow(key, fprs) })
	}}, true
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// editConfig loads the config again when the change runs and edits it.
func (o Options) editConfig(path string, edit func(*config.Config) error) error {
	cfg, err := config.Load(o.path(path))
	if err != nil {
		return err
	}
	return edit(cfg)
}

// users returns the accounts that use config name, sorted.
func (f *File) users(name string) []string {
	var u []string
	for _, a := range f.AccountNames() {
		if f.Accounts[a].Config == name {
			u = append(u, a)
		}
	}
	return u
}

// resolve is a path of the config under Root: a relative one is already
// (config.Resolve puts it beside the config, which is under Root).
func (o Options) resolve(cfg *config.Config, p string) string {
	if filepath.IsAbs(p) {
		return o.path(p)
	}
	return cfg.Resolve(p)
}

// unroot is p as the host will see it.
func (o Options) unroot(p string) string {
	rel, err := filepath.Rel(o.Root, p)
	if err != nil || strings.HasPrefix(rel, "..") {
		return p
	}
	return filepath.Join("/", rel)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return !errors.Is(err, fs.ErrNotExist)
}
