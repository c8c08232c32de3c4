// Package clientconfig reads the client config: where a release
// engineer's machine signs (hosts in failover order) and with which keys,
// each pinned to its certificate. signstar's gpg front end reads it; a
// machine without one signs through the local signstar config instead
// (see cmd/signstar). It is apart from package client, which signs and
// must stay free of config parsing (STYLE.md, "Seams").
//
//	hosts = ["signer@sign.example.org", "signer@sign2.example.org"]
//	ssh-options = ["-oConnectTimeout=5"]
//
//	[keys.repo]
//	cert = "repo.asc"      # pinned certificate, relative to this file
//	remote = "repo-2026"   # the key's name on the host (default: "repo")
//	default = true
package clientconfig

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"signstar/pkg/client"
	"signstar/pkg/keyname"
	"signstar/pkg/pgp"
	"signstar/pkg/tomlconf"
)

// Env names the client config file, overriding the search.
const Env = "SIGNSTAR_CLIENT_CONFIG"

// System is the machine's client config, used when the user has
// none of their own.
const System = "/etc/signstar/client.toml"

// Config is the client config.
type Config struct {
	Hosts      []string              `toml:"hosts"`
	SSHOptions []string              `toml:"ssh-options,omitempty"`
	Timeout    string                `toml:"timeout,omitempty"`
	Keys       map[string]*ConfigKey `toml:"keys"`

	path    string
	timeout time.Duration
}

// ConfigKey is one key the client signs with.
type ConfigKey struct {
	Cert    string `toml:"cert"`
	Remote  string `toml:"remote,omitempty"`
	Default bool   `toml:"default,omitempty"`

	cert *pgp.Certificate
}

// Find returns the client config file in effect: $SIGNSTAR_CLIENT_CONFIG
// if set, else the user's ($XDG_CONFIG_HOME/signstar/client.toml, or
// ~/.config/signstar/client.toml), else [System]; "" when there is
// none. getenv is os.Getenv.
func Find(getenv func(string) string) string {
	if p := getenv(Env); p != "" {
		return p // named on purpose: a missing file is an error, not a fallback
	}
	xdg := getenv("XDG_CONFIG_HOME")
	if xdg == "" {
		if home := getenv("HOME"); home != "" {
			xdg = filepath.Join(home, ".config")
		}
	}
	var candidates []string
	if xdg != "" {
		candidates = append(candidates, filepath.Join(xdg, "signstar", "client.toml"))
	}
	for _, p := range append(candidates, System) {
		// A file that exists but cannot be read is returned, so that
		// loading it says why, rather than signing elsewhere.
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			return p
		}
	}
	return ""
}

// Load reads the client config at path and the certificates it pins.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("client config: %w", err)
	}
	defer f.Close()
	data, err := tomlconf.Read(f)
	if err != nil {
		return nil, fmt.Errorf("client config %s: %w", path, err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("client config %s: %w", path, err)
	}
	c.path = path
	if err := c.readCerts(); err != nil {
		return nil, fmt.Errorf("client config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes and checks a client config document; the
// certificates it names are not read.
func Parse(data []byte) (*Config, error) {
	var c Config
	if err := tomlconf.Decode(data, &c); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Config) validate() error {
	if len(c.Hosts) == 0 {
		return errors.New("hosts: no hosts given")
	}
	for _, h := range c.Hosts {
		if err := client.CheckHost(h); err != nil {
			return fmt.Errorf("hosts: %w", err)
		}
	}
	if c.Timeout != "" {
		d, err := time.ParseDuration(c.Timeout)
		if err != nil || d <= 0 {
			return fmt.Errorf("timeout %q: want a duration such as 2m", c.Timeout)
		}
		c.timeout = d
	}
	if len(c.Keys) == 0 {
		return errors.New("no [keys.NAME] table: name at least one key and its certificate")
	}
	defaults := 0
	for _, name := range c.KeyNames() {
		k := c.Keys[name]
		if !keyname.Valid(name) {
			return fmt.Errorf("keys.%q: invalid key name", name)
		}
		if k.Cert == "" {
			return fmt.Errorf("keys.%s: cert is required (the key's pinned certificate)", name)
		}
		if k.Remote != "" && !keyname.Valid(k.Remote) {
			return fmt.Errorf("keys.%s: remote %q is not a valid key name", name, k.Remote)
		}
		if k.Default {
			defaults++
		}
	}
	if defaults > 1 {
		return errors.New("more than one key has default = true")
	}
	return nil
}

func (c *Config) readCerts() error {
	for _, name := range c.KeyNames() {
		k := c.Keys[name]
		p := k.Cert
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(c.path), p)
		}
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("keys.%s: %w", name, err)
		}
		k.cert, err = pgp.ReadCertificate(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("keys.%s: read certificate %s: %w", name, p, err)
		}
	}
	return nil
}

// Path is the file the config was read from.
func (c *Config) Path() string { return c.path }

// KeyNames are the configured keys' names, sorted.
func (c *Config) KeyNames() []string {
	names := make([]string, 0, len(c.Keys))
	for name := range c.Keys {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Key is the server key a configured key names, with its pinned
// certificate.
func (c *Config) Key(name string) client.Key {
	k := c.Keys[name]
	remote := k.Remote
	if remote == "" {
		remote = name
	}
	return client.Key{Name: remote, Cert: k.cert}
}

// DefaultKey is the key marked default, or the only key; "" otherwise.
func (c *Config) DefaultKey() string {
	for _, name := range c.KeyNames() {
		if c.Keys[name].Default {
			return name
		}
	}
	if len(c.Keys) == 1 {
		return c.KeyNames()[0]
	}
	return ""
}

// Options are [client.Options] for this config's hosts; log as in
// client.Options.Log.
func (c *Config) Options(log io.Writer) client.Options {
	return client.Options{Hosts: c.Hosts, SSHOptions: c.SSHOptions, Timeout: c.timeout, Log: log}
}
