// Package config reads and writes signstar's TOML configuration: which
// token to open, where its PIN lives, and which keys may sign.
//
// Parsing is strict: an unknown key is an error naming the key and its line,
// because a misspelt security setting that is silently ignored is worse than
// a refusal to start.
package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/stefanberger/go-pkcs11uri"

	"signstar/pkg/audit"
	"signstar/pkg/keyname"
	"signstar/pkg/tomlconf"
)

// maxSize bounds the config file; a real one is a few hundred bytes.
const maxSize = 1 << 20

// Config is the whole configuration file.
type Config struct {
	Token    Token           `toml:"token"`
	Audit    Audit           `toml:"audit,omitempty"`
	Remote   Remote          `toml:"remote,omitempty"`
	Lockdown Lockdown        `toml:"lockdown,omitempty"`
	Log      Log             `toml:"log,omitempty"`
	Keys     map[string]*Key `toml:"keys"`

	// path is where the file was read from; relative paths in it are
	// resolved against its directory.
	path string
}

// Token says how to reach the PKCS#11 token.
type Token struct {
	// URI names the token as an RFC 7512 PKCS#11 URI, for example
	// "pkcs11:token=signstar?module-path=/usr/lib/softhsm/libsofthsm2.so".
	URI string `toml:"uri,omitempty"`
	// Module and Label are the alternative to URI.
	Module string `toml:"module,omitempty"`
	Label  string `toml:"label,omitempty"`
	// PINFile holds the user PIN; it must not be accessible by group or others.
	PINFile string `toml:"pin-file"`
	// LockFile, if set, serializes token sessions across processes (SoftHSM2's
	// file store does not survive many concurrent logins).
	LockFile string `toml:"lock-file,omitempty"`
}

// Audit says where the audit trail goes.
type Audit struct {
	// Sink is "journald" (the default), "file:/absolute/path" (JSON lines,
	// for hosts without systemd) or "stderr" (local development only; the
	// login shell refuses it). Package audit holds the grammar (ParseSink).
	Sink string `toml:"sink,omitempty"`
}

// Lockdown says what the PKCS#11 module still needs once signstar has
// locked itself down (package sandbox), beyond what signstar derives
// itself (SoftHSM2's token directory, the lock file, the audit sink).
type Lockdown struct {
	ReadWrite  []string `toml:"read-write,omitempty"`
	ReadOnly   []string `toml:"read-only,omitempty"`
	ConnectTCP []uint16 `toml:"connect-tcp,omitempty"` // a network HSM's ports
	// Landlock is "required" (the default) or "best-effort", for kernels
	// without Landlock; the downgrade is printed and audited.
	Landlock string `toml:"landlock,omitempty"`
}

// Remote tunes the login shell.
type Remote struct {
	// DefaultAction is what a client that sends no command gets: "sign"
	// (stdin is the artifact; the default) or "request" (stdin is a
	// digest-only signing request, as Arch Linux Signstar's client sends).
	DefaultAction string `toml:"default-action,omitempty"`
	// IdleTimeout ends a request whose client sent no byte for that long;
	// MaxDuration ends one that took longer than that in all (the login
	// shell reads stdin through package input under both).
	IdleTimeout string `toml:"idle-timeout,omitempty"`
	MaxDuration string `toml:"max-duration,omitempty"`
	// Batch, false, refuses 'sign --batch'; BatchMaxRequests and
	// BatchIdleTimeout bound one batch session (see batch.go).
	Batch            *bool  `toml:"batch,omitempty"`
	BatchMaxRequests *int   `toml:"batch-max-requests,omitempty"`
	BatchIdleTimeout string `toml:"batch-idle-timeout,omitempty"`

	limits limits // parsed by validate
	batch  batch  // parsed by validate
}

// RequestByDefault reports whether an empty remote command means a
// signing request.
func (r Remote) RequestByDefault() bool { return r.DefaultAction == "request" }

// Key is one signing key on the token.
type Key struct {
	Type    string `toml:"type"`
	ID      string `toml:"id"`   // CKA_ID, hex
	Cert    string `toml:"cert"` // OpenPGP certificate file
	Hash    string `toml:"hash,omitempty"`
	Default bool   `toml:"default,omitempty"`
	// Allow lists the SSH key fingerprints ("SHA256:...") that may use this
	// key through the login shell; empty allows every authorized SSH key.
	Allow []string `toml:"allow,omitempty"`
	// Notations are added to every OpenPGP signature the key makes
	// (notation.go).
	Notations []Notation `toml:"notations,omitempty"`
	// X509 is the key's X.509 certificate file, PEM, the certificate
	// first and its chain after it, for kernel module, Secure Boot and
	// CMS signatures (x509.go); empty: none.
	X509 string `toml:"x509,omitempty"`
}

// Selector is what the token package needs to find the token.
type Selector struct {
	Module, Label, Serial string
}

// Load reads and validates the configuration at path.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read config: %w", missing{err})
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	data, err := tomlconf.Read(f)
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c.path = path
	return c, nil
}

// ErrNoConfig marks a config file that does not exist.
var ErrNoConfig = errors.New("no config file")

// missing is a config file that does not exist: it reads as the error
// from open(2) and is [ErrNoConfig].
type missing struct{ error }

func (m missing) Is(target error) bool { return target == ErrNoConfig }
func (m missing) Unwrap() error        { return m.error }

func readAll(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSize {
		return nil, fmt.Errorf("larger than %d bytes", maxSize)
	}
	return data, nil
}

// Parse decodes and validates a configuration document.
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
	if _, err := c.Token.Selector(); err != nil {
		return err
	}
	if c.Token.PINFile == "" {
		return errors.New("token: pin-file is required")
	}
	if err := audit.ParseSink(c.Audit.Sink); err != nil {
		return fmt.Errorf("audit: %v", err)
	}
	switch c.Lockdown.Landlock {
	case "", "required", "best-effort":
	default:
		return fmt.Errorf("lockdown: landlock %q: want required or best-effort", c.Lockdown.Landlock)
	}
	for _, p := range append(c.Lockdown.ReadWrite, c.Lockdown.ReadOnly...) {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("lockdown: %q is not an absolute path", p)
		}
	}
	for _, port := range c.Lockdown.ConnectTCP {
		if port == 0 {
			return errors.New("lockdown: connect-tcp: port 0")
		}
	}
	switch c.Remote.DefaultAction {
	case "", "sign", "request":
	default:
		return fmt.Errorf("remote: default-action %q: want sign or request", c.Remote.DefaultAction)
	}
	if err := c.Remote.parseLimits(); err != nil {
		return err
	}
	if err := c.Remote.parseBatch(); err != nil {
		return err
	}
	defaults := 0
	for name, k := range c.Keys {
		if err := k.validate(name); err != nil {
			return err
		}
		if k.Default {
			defaults++
		}
	}
	if defaults > 1 {
		return errors.New("keys: more than one key has default = true")
	}
	return c.Log.validate(c.Keys)
}

// Selector returns the module and token the config names, from the URI or
// from module and label.
func (t Token) Selector() (Selector, error) {
	switch {
	case t.URI != "" && (t.Module != "" || t.Label != ""):
		return Selector{}, errors.New("token: set either uri, or module and label, not both")
	case t.URI != "":
		return parseURI(t.URI)
	case t.Module == "" || t.Label == "":
		return Selector{}, errors.New("token: set uri, or both module and label")
	}
	return Selector{Module: t.Module, Label: t.Label}, nil
}

// parseURI reads the token and module out of an RFC 7512 URI. A PIN inside
// the URI is refused: it would end up in a world-readable config file.
func parseURI(s string) (Selector, error) {
	u := pkcs11uri.New()
	if err := u.Parse(s); err != nil {
		return Selector{}, fmt.Errorf("token: uri: %s", strings.TrimPrefix(err.Error(), "Malformed pkcs11 URI: "))
	}
	if u.HasPIN() {
		return Selector{}, errors.New("token: uri: must not carry a PIN (pin-value, pin-source): use pin-file")
	}
	var sel Selector
	sel.Module, _ = u.GetQueryAttribute("module-path", false)
	sel.Label, _ = u.GetPathAttribute("token", false)
	sel.Serial, _ = u.GetPathAttribute("serial", false)
	if sel.Module == "" {
		return Selector{}, errors.New("token: uri: module-path is required (RFC 7512 section 2.4)")
	}
	if sel.Label == "" && sel.Serial == "" {
		return Selector{}, errors.New("token: uri: name the token with token= or serial=")
	}
	return sel, nil
}

func (k *Key) validate(name string) error {
	if !keyname.Valid(name) {
		return fmt.Errorf("keys: invalid key name %q (letters, digits, '_', '-'; at most 64)", name)
	}
	if k.Type == "" || k.ID == "" || k.Cert == "" {
		return fmt.Errorf("keys.%s: type, id and cert are required", name)
	}
	if _, err := k.HashFunc(); err != nil {
		return fmt.Errorf("keys.%s: %w", name, err)
	}
	if _, err := k.IDBytes(); err != nil {
		return fmt.Errorf("keys.%s: %w", name, err)
	}
	for _, a := range k.Allow {
		if !sshFingerprint.MatchString(a) {
			return fmt.Errorf("keys.%s: allow: %q is not an SSH key fingerprint (SHA256:..., as ssh-keygen -l prints it)", name, a)
		}
	}
	if err := k.validateX509(name); err != nil {
		return err
	}
	return k.validateNotations(name)
}

// sshFingerprint is OpenSSH's SHA256 fingerprint: unpadded base64 of 32 bytes.
var sshFingerprint = regexp.MustCompile(`^SHA256:[A-Za-z0-9+/]{43}$`)

// Path returns the file the config was read from.
func (c *Config) Path() string { return c.path }

// Resolve makes p absolute against the config file's directory.
func (c *Config) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(c.path), p)
}

// DefaultKey returns the name of the key used when a request names none:
// the one marked default, or the only key.
func (c *Config) DefaultKey() (string, error) {
	for name, k := range c.Keys {
		if k.Default {
			return name, nil
		}
	}
	if len(c.Keys) == 1 {
		for name := range c.Keys {
			return name, nil
		}
	}
	if len(c.Keys) == 0 {
		return "", ErrNoKeys
	}
	return "", errors.New("no default key: name one with --key")
}

// ErrNoKeys means the config has no key yet.
var ErrNoKeys = errors.New("no keys configured")

// ErrUnknownKey marks a request for a key the config does not have.
var ErrUnknownKey = errors.New("key is not configured")

// Key returns the named key, or the default key when name is empty, and
// the name it goes by.
func (c *Config) Key(name string) (string, *Key, error) {
	if name == "" {
		var err error
		if name, err = c.DefaultKey(); err != nil {
			return "", nil, err
		}
	}
	k, ok := c.Keys[name]
	if !ok {
		return "", nil, unknownKey(name)
	}
	return name, k, nil
}

// unknownKey reads `key "NAME" is not configured` and is [ErrUnknownKey].
type unknownKey string

func (u unknownKey) Error() string        { return fmt.Sprintf("key %q is not configured", string(u)) }
func (u unknownKey) Is(target error) bool { return target == ErrUnknownKey }

// KeyNames returns the configured key names in sorted order.
func (c *Config) KeyNames() []string {
	names := make([]string, 0, len(c.Keys))
	for name := range c.Keys {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
