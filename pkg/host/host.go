// Package host describes a signing host in one reviewed file, host.toml:
// its signing accounts, the SSH client keys each account accepts and from
// where, and which client key may use which token key.
//
// [Parse] reads the file strictly: an unknown key, a client key that is
// referenced but not declared or a public key that does not decode is an
// error naming its line. [Compare] holds the file against a host (or a
// scratch root) and returns the [Plan]: the changes that make the host
// match, one line each, and what the host lacks that only an admin can
// provide. Applying a plan and comparing again yields no changes.
//
// The package never reads or writes a PIN file's contents and never talks
// to a token: PIN files, configs and token keys are made by 'signstar
// init' and 'signstar key generate'; the plan says when one is missing.
package host

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"signstar/pkg/keyname"
	"signstar/pkg/tomlconf"
)

// Defaults for the [sshd] table: where the shipped drop-in, the
// authorized_keys files (README "Deploying") and the binary live.
const (
	DefaultDropIn         = "/etc/ssh/sshd_config.d/50-signstar.conf"
	DefaultAuthorizedKeys = "/etc/signstar/authorized_keys"
	DefaultShell          = "/usr/bin/signstar"
	DefaultSSHDConfig     = "/etc/ssh/sshd_config"
)

// File is a parsed host file.
type File struct {
	SSHD     SSHD                `toml:"sshd,omitempty"`
	Configs  map[string]*Config  `toml:"configs"`
	Accounts map[string]*Account `toml:"accounts"`
}

// SSHD says where apply puts sshd's side of the host.
type SSHD struct {
	DropIn         string `toml:"drop-in,omitempty"`         // the one drop-in, a Match User block per account
	AuthorizedKeys string `toml:"authorized-keys,omitempty"` // directory of one root-owned file per account
	Shell          string `toml:"shell,omitempty"`           // the signstar binary, every account's login shell
	// Config is the sshd_config of the sshd that serves the accounts:
	// sshd -T on it must show the drop-in's settings for each of them.
	Config string `toml:"config,omitempty"`
}

// Config is one signstar config (made by 'signstar init') that accounts
// use, and who may use its token keys.
type Config struct {
	Path string `toml:"path"`
	// Allow maps a token key's name to the client keys that may use it;
	// it becomes the key's allow list of SSH fingerprints. A key named
	// nowhere gets no allow list: any client key of the accounts using
	// the config may use it (signstar(1), keys.NAME.allow).
	Allow map[string][]string `toml:"allow,omitempty"`
}

// Account is one signing account.
type Account struct {
	Home   string `toml:"home"`
	Config string `toml:"config"` // a [configs.NAME] table; accounts may share one
	// DefaultAction is what a client that sends no command gets: "sign"
	// (the default) or "request" (the config's remote.default-action).
	DefaultAction string `toml:"default-action,omitempty"`
	// SetEnv is more NAME=value pairs for sshd's SetEnv, say the PKCS#11
	// module's SOFTHSM2_CONF; SIGNSTAR_CONFIG comes from Config.
	SetEnv  []string           `toml:"set-env,omitempty"`
	Clients map[string]*Client `toml:"clients"`
}

// Client is one SSH client key an account accepts.
type Client struct {
	Key     string   `toml:"key"`            // "ssh-ed25519 AAAA...", as in a .pub file
	From    []string `toml:"from,omitempty"` // authorized_keys from= patterns (sshd(8))
	Comment string   `toml:"comment,omitempty"`

	pub publicKey
}

// Fingerprint is the key's SHA256 fingerprint, as ssh-keygen -l prints it
// and the config's allow lists hold it.
func (c *Client) Fingerprint() string { return c.pub.fingerprint }

// Parse reads and checks a host file.
func Parse(data []byte) (*File, error) {
	var f File
	if err := tomlconf.Decode(data, &f); err != nil {
		return nil, err
	}
	lines, err := keyLines(data)
	if err != nil {
		return nil, err
	}
	f.defaults()
	if err := f.validate(lines); err != nil {
		return nil, err
	}
	return &f, nil
}

func (f *File) defaults() {
	set := func(s *string, def string) {
		if *s == "" {
			*s = def
		}
	}
	set(&f.SSHD.DropIn, DefaultDropIn)
	set(&f.SSHD.AuthorizedKeys, DefaultAuthorizedKeys)
	set(&f.SSHD.Shell, DefaultShell)
	set(&f.SSHD.Config, DefaultSSHDConfig)
	for _, a := range f.Accounts {
		set(&a.DefaultAction, "sign")
	}
}

// AccountNames returns the account names in sorted order.
func (f *File) AccountNames() []string { return sortedKeys(f.Accounts) }

// ConfigNames returns the config names in sorted order.
func (f *File) ConfigNames() []string { return sortedKeys(f.Configs) }

func sortedKeys[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// client finds a client key by name, in whichever account declares it.
func (f *File) client(name string) (string, *Client) {
	for _, an := range f.AccountNames() {
		if c, ok := f.Accounts[an].Clients[name]; ok {
			return an, c
		}
	}
	return "", nil
}

// errAt is an error about the value at path, prefixed with its line.
func errAt(l lines, path []string, format string, v ...any) error {
	msg := fmt.Sprintf(format, v...)
	if n := l.of(path); n > 0 {
		return fmt.Errorf("line %d: %s: %s", n, strings.Join(path, "."), msg)
	}
	return fmt.Errorf("%s: %s", strings.Join(path, "."), msg)
}

func (f *File) validate(l lines) error {
	if len(f.Accounts) == 0 {
		return errors.New("no [accounts.NAME] table: a host file declares at least one account")
	}
	if err := f.SSHD.validate(l); err != nil {
		return err
	}
	for _, name := range f.ConfigNames() {
		if err := f.Configs[name].validate(l, name); err != nil {
			return err
		}
	}
	owner := map[string]string{} // client key name -> account
	homes := map[string]string{}
	for _, name := range f.AccountNames() {
		a := f.Accounts[name]
		if err := a.validate(l, name, f.Configs, owner); err != nil {
			return err
		}
		if prev, dup := homes[a.Home]; dup {
			return errAt(l, []string{"accounts", name, "home"}, "%s is account %q's home too; each account owns its home", a.Home, prev)
		}
		homes[a.Home] = name
	}
	if err := f.validateShared(l); err != nil {
		return err
	}
	return f.validateAllow(l)
}

func (s SSHD) validate(l lines) error {
	for _, p := range []struct{ key, path string }{
		{"drop-in", s.DropIn}, {"authorized-keys", s.AuthorizedKeys}, {"shell", s.Shell}, {"config", s.Config},
	} {
		if err := checkPath(p.path); err != nil {
			return errAt(l, []string{"sshd", p.key}, "%v", err)
		}
	}
	return nil
}

// checkPath accepts an absolute, clean path that sshd_config, passwd and
// sysusers.d take without quoting: no white space, quotes, '%' (sshd's
// tokens) or ':' (passwd's separator).
func checkPath(p string) error {
	switch {
	case p == "":
		return errors.New("is required")
	case !filepath.IsAbs(p) || filepath.Clean(p) != p:
		return fmt.Errorf("%q: want an absolute, clean path", p)
	case strings.ContainsAny(p, " \t\r\n\"'%:\\#\x00"):
		return fmt.Errorf("%q: white space, quotes, '%%', ':', '\\' and '#' are not allowed", p)
	}
	return nil
}

func (c *Config) validate(l lines, name string) error {
	at := []string{"configs", name}
	if !keyname.Valid(name) {
		return errAt(l, at, "invalid config name (letters, digits, '_', '-')")
	}
	if err := checkPath(c.Path); err != nil {
		return errAt(l, append(at, "path"), "%v", err)
	}
	for key := range c.Allow {
		if !keyname.Valid(key) {
			return errAt(l, append(at, "allow", key), "invalid token key name")
		}
	}
	return nil
}

// accountName is what useradd and systemd-sysusers both accept (sysusers.d(5):
// at most 31 characters; a leading letter or '_').
var accountName = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,30}$`)

// envPair is one SetEnv word: sshd_config(5) takes NAME=value, and a value
// without spaces or quotes needs no quoting.
var envPair = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=[^\s"'\\]*$`)

func (a *Account) validate(l lines, name string, configs map[string]*Config, owner map[string]string) error {
	at := []string{"accounts", name}
	if !accountName.MatchString(name) {
		return errAt(l, at, "invalid account name (lower-case letters, digits, '_', '-'; at most 31)")
	}
	if err := checkPath(a.Home); err != nil {
		return errAt(l, append(at, "home"), "%v", err)
	}
	if _, ok := configs[a.Config]; !ok {
		return errAt(l, append(at, "config"), "%q is not a [configs.NAME] table", a.Config)
	}
	if a.DefaultAction != "sign" && a.DefaultAction != "request" {
		return errAt(l, append(at, "default-action"), "%q: want sign or request", a.DefaultAction)
	}
	for i, e := range a.SetEnv {
		p := append(at, "set-env", fmt.Sprint(i))
		if !envPair.MatchString(e) {
			return errAt(l, p, "%q: want NAME=value, the value without spaces or quotes", e)
		}
		if strings.HasPrefix(e, "SIGNSTAR_CONFIG=") {
			return errAt(l, p, "SIGNSTAR_CONFIG comes from config")
		}
	}
	if len(a.Clients) == 0 {
		return errAt(l, at, "no client keys: add an [accounts.%s.clients.NAME] table", name)
	}
	for _, cn := range sortedKeys(a.Clients) {
		if prev, dup := owner[cn]; dup {
			return errAt(l, append(at, "clients", cn), "client key %q is declared by account %q too; client key names are unique in a host file", cn, prev)
		}
		owner[cn] = name
		if err := a.Clients[cn].validate(l, append(at, "clients", cn)); err != nil {
			return err
		}
	}
	return nil
}

// fromPattern is one sshd(8) from= pattern: a host name, an address or a
// CIDR range, with '*' and '?' wildcards and '!' to negate.
var fromPattern = regexp.MustCompile(`^!?[A-Za-z0-9.:*?/_-]+$`)

func (c *Client) validate(l lines, at []string) error {
	if !keyname.Valid(at[len(at)-1]) {
		return errAt(l, at, "invalid client key name (letters, digits, '_', '-')")
	}
	pub, err := parsePublicKey(c.Key)
	if err != nil {
		return errAt(l, append(at, "key"), "%v", err)
	}
	c.pub = pub
	if c.Comment == "" {
		c.Comment = pub.comment
	}
	for i, p := range c.From {
		if !fromPattern.MatchString(p) {
			return errAt(l, append(at, "from", fmt.Sprint(i)), "%q: want a host name, address or CIDR range, '*' and '?' as wildcards, '!' to negate", p)
		}
	}
	for _, r := range c.Comment {
		if r < ' ' || r == 0x7f {
			return errAt(l, append(at, "comment"), "control characters are not allowed")
		}
	}
	return nil
}

// validateShared checks that accounts sharing a config agree on what the
// config holds for them: its default action.
func (f *File) validateShared(l lines) error {
	first := map[string]string{} // config -> first account using it
	for _, name := range f.AccountNames() {
		a := f.Accounts[name]
		prev, ok := first[a.Config]
		if !ok {
			first[a.Config] = name
			continue
		}
		if f.Accounts[prev].DefaultAction != a.DefaultAction {
			return errAt(l, []string{"accounts", name, "default-action"},
				"%q, but account %q, which shares config %q, has %q: the default action is the config's",
				a.DefaultAction, prev, a.Config, f.Accounts[prev].DefaultAction)
		}
	}
	for _, name := range f.ConfigNames() {
		if _, ok := first[name]; !ok {
			return errAt(l, []string{"configs", name}, "no account uses this config")
		}
	}
	return nil
}

// validateAllow checks every client key an allow list names: declared,
// and a key of an account that uses the config.
func (f *File) validateAllow(l lines) error {
	for _, cn := range f.ConfigNames() {
		c := f.Configs[cn]
		for _, key := range sortedKeys(c.Allow) {
			for i, client := range c.Allow[key] {
				at := []string{"configs", cn, "allow", key, fmt.Sprint(i)}
				account, cl := f.client(client)
				switch {
				case cl == nil:
					return errAt(l, at, "client key %q is not declared (no [accounts.NAME.clients.%s] table)", client, client)
				case f.Accounts[account].Config != cn:
					return errAt(l, at, "client key %q belongs to account %q, which does not use config %q", client, account, cn)
				case slices.Index(c.Allow[key], client) != i:
					return errAt(l, at, "client key %q is listed twice", client)
				}
			}
		}
	}
	return nil
}
