//go:build linux && cgo

package main

// The admin CLI: the commands that run on the signing host and need its
// token and config. Only the full build has them (see main.go).

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"text/tabwriter"
	"time"

	"signstar/pkg/audit"
	"signstar/pkg/config"
	"signstar/pkg/keyring"
	"signstar/pkg/remote"
	"signstar/pkg/token"
)

// AdminCLI is the admin CLI's part of the command line, embedded in cli.
// Its fields are promoted, so a command's Run reads g.Config.
type AdminCLI struct {
	Config string `help:"Configuration file." env:"SIGNSTAR_CONFIG" default:"${defaultconfig}" type:"path" placeholder:"FILE"`

	Init  initCmd  `cmd:"" help:"Create a configuration file for a token."`
	Key   keyCmd   `cmd:"" help:"Generate, adopt, list and export keys."`
	Sign  signCmd  `cmd:"" help:"Sign standard input; write a detached OpenPGP signature to standard output."`
	Check checkCmd `cmd:"" help:"Check the config, file permissions, the token and every key against its certificate."`
	Host  hostCmd  `cmd:"" help:"Plan, apply and check a signing host described in one host file (accounts, client keys, allow lists, sshd)."`
	Log   logCmd   `cmd:"" help:"The transparency log: the verifier key, a copy's end-to-end check, the entries."`
}

type initCmd struct {
	URI      string `help:"Token as an RFC 7512 PKCS#11 URI (with module-path), instead of --module and --token." xor:"uri" placeholder:"URI"`
	Module   string `help:"PKCS#11 module (.so) of the token." xor:"uri" placeholder:"PATH"`
	Token    string `help:"Label of the token." placeholder:"LABEL"`
	PINFile  string `help:"File holding the user PIN (mode 0600 or stricter)." required:"" placeholder:"FILE"`
	LockFile string `help:"Serialize token sessions across processes through this lock file, created if missing. Default, for modules that need one (SoftHSM2): /run/signstar/NAME.lock for a config /etc/signstar/NAME.toml, NAME.lock beside the config elsewhere." placeholder:"FILE"`
	Audit    string `help:"Audit trail: journald (default), file:/absolute/path (JSON lines) or stderr (development only)." placeholder:"SINK"`
}

func (c *initCmd) Run(g *cli) error {
	t := config.Token{URI: c.URI, Module: c.Module, Label: c.Token, PINFile: c.PINFile, LockFile: c.LockFile}
	if err := audit.ParseSink(c.Audit); c.Audit != "" && err != nil {
		return err
	}
	sel, err := t.Selector()
	if err != nil {
		return err
	}
	if t.LockFile == "" && token.NeedsLock(sel.Module) {
		t.LockFile = config.DefaultLockFile(g.Config)
	}
	// The lock file first: a config that names one that cannot be
	// created would fail every request.
	lock, err := createLockFile(g.Config, t.LockFile)
	if err != nil {
		return err
	}
	if err := config.Create(g.Config, t, config.Audit{Sink: c.Audit}); err != nil {
		return err
	}
	infof("wrote %s", g.Config)
	if lock != "" {
		infof("lock file %s", lock)
	}
	return nil
}

type keyCmd struct {
	Generate keyGenerateCmd `cmd:"" help:"Generate a key pair on the token and its OpenPGP certificate."`
	Adopt    keyAdoptCmd    `cmd:"" help:"Take over a key pair made on the token by another tool, and make its OpenPGP certificate."`
	Import   keyImportCmd   `cmd:"" help:"Put an existing OpenPGP secret key on the token, keeping its fingerprint and certificate."`
	List     keyListCmd     `cmd:"" help:"List the configured keys."`
	Export   keyExportCmd   `cmd:"" help:"Print a key's armored OpenPGP certificate."`
	Show     keyShowCmd     `cmd:"" help:"Show a key: fingerprint, type, dates, user ID, allow list, notations, token id, X.509 certificate, and whether the token still holds it."`
	Delete   keyDeleteCmd   `cmd:"" help:"Delete a key: out of the config, its files moved aside, its key pair destroyed on the token (unless kept)."`
	X509     keyX509Cmd     `cmd:"" name:"x509" help:"Make, request and import a key's X.509 certificate (kernel modules, UEFI Secure Boot, CMS)."`
	Extend   keyExtendCmd   `cmd:"" help:"Give a key a new expiry: a new self-signature made by the token key."`
	Revoke   keyRevokeCmd   `cmd:"" help:"Revoke a key: a revocation signature made by the token key, added to its certificate; the key signs nothing more."`
	Rotate   keyRotateCmd   `cmd:"" help:"Make a new key the default, its user ID certified by the old key, which stays configured."`
}

type keyGenerateCmd struct {
	Name    string `help:"Name of the key in the config." required:"" placeholder:"NAME"`
	Type    string `help:"Key type: ${keytypes}." enum:"${keytypes}" default:"ed25519"`
	UID     string `help:"OpenPGP user ID, e.g. \"Example Repo Key <repo@example.org>\"." required:"" name:"uid" placeholder:"USERID"`
	Expires string `help:"Expiry: a date (2030-01-31) or a duration (2y, 180d)." placeholder:"WHEN"`
}

func (c *keyGenerateCmd) Run(g *cli) error {
	a, err := openKeyAudit(g)
	if err != nil {
		return err
	}
	ev := keyEvent{Event: audit.KeyGenerate, Keys: []keyRef{{Name: c.Name}}}
	k, cfg, err := c.generate(g)
	if err == nil {
		ev.Keys[0].Fingerprint = k.Cert.Fingerprint()
		ev.Detail = keyDetail(cfg.Keys[c.Name].Type, c.UID, c.Expires)
	}
	if err := a.record(ev, err); err != nil {
		return err
	}
	infof("generated %s key %q; certificate %s; config %s updated", cfg.Keys[c.Name].Type, c.Name, cfg.Resolve(cfg.Keys[c.Name].Cert), cfg.Path())
	fmt.Println(k.Cert.Fingerprint())
	return nil
}

func (c *keyGenerateCmd) generate(g *cli) (*keyring.Key, *config.Config, error) {
	now := time.Now().UTC().Truncate(time.Second)
	expires, err := parseExpiry(c.Expires, now)
	if err != nil {
		return nil, nil, err
	}
	typ, err := token.ParseKeyType(c.Type)
	if err != nil {
		return nil, nil, err
	}
	kr, cfg, err := openKeyring(g)
	if err != nil {
		return nil, nil, err
	}
	defer kr.Close()
	k, err := kr.Generate(keyring.NewKey{Name: c.Name, Type: typ, UserID: c.UID, Created: now, Expires: expires})
	return k, cfg, err
}

type keyAdoptCmd struct {
	Name    string `help:"Name of the key in the config." required:"" placeholder:"NAME"`
	ID      string `help:"CKA_ID of the key pair on the token, in hex (pkcs11-tool --list-objects shows it)." required:"" name:"id" placeholder:"HEX"`
	UID     string `help:"OpenPGP user ID, e.g. \"Example Repo Key <repo@example.org>\"." required:"" name:"uid" placeholder:"USERID"`
	Expires string `help:"Expiry: a date (2030-01-31) or a duration from now (2y, 180d)." placeholder:"WHEN"`
	Created string `help:"The key's OpenPGP creation time, RFC 3339 (2024-01-01T00:00:00Z); part of the fingerprint. Default: now." placeholder:"TIME"`
}

func (c *keyAdoptCmd) Run(g *cli) error {
	a, err := openKeyAudit(g)
	if err != nil {
		return err
	}
	ev := keyEvent{Event: audit.KeyAdopt, Keys: []keyRef{{Name: c.Name}}}
	k, cfg, err := c.adopt(g)
	if err == nil {
		ev.Keys[0].Fingerprint = k.Cert.Fingerprint()
		ev.Detail = keyDetail(cfg.Keys[c.Name].Type, c.UID, c.Expires) + ", id " + cfg.Keys[c.Name].ID
	}
	if err := a.record(ev, err); err != nil {
		return err
	}
	kc := cfg.Keys[c.Name]
	infof("adopted %s key %q (id %s); certificate %s; config %s updated", kc.Type, c.Name, kc.ID, cfg.Resolve(kc.Cert), cfg.Path())
	fmt.Println(k.Cert.Fingerprint())
	return nil
}

func (c *keyAdoptCmd) adopt(g *cli) (*keyring.Key, *config.Config, error) {
	now := time.Now().UTC().Truncate(time.Second)
	created, err := parseCreated(c.Created, now)
	if err != nil {
		return nil, nil, err
	}
	expires, err := parseExpiry(c.Expires, now)
	if err != nil {
		return nil, nil, err
	}
	id, err := hex.DecodeString(c.ID)
	if err != nil || len(id) == 0 {
		return nil, nil, fmt.Errorf("--id %q: want the key's CKA_ID in hex, as pkcs11-tool prints it (0a, 01)", c.ID)
	}
	kr, cfg, err := openKeyring(g)
	if err != nil {
		return nil, nil, err
	}
	defer kr.Close()
	k, err := kr.Adopt(keyring.ExistingKey{Name: c.Name, ID: id, UserID: c.UID, Created: created, Expires: expires,
		Warn: func(msg string) { warnf("%s", msg) }})
	return k, cfg, err
}

// parseCreated reads a key creation time: RFC 3339, not in the future, in
// whole seconds as OpenPGP stores it (RFC 4880 section 5.5.2).
func parseCreated(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return now, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--created %q: want an RFC 3339 time (2024-01-01T00:00:00Z)", s)
	}
	t = t.UTC().Truncate(time.Second)
	if t.After(now) {
		return time.Time{}, fmt.Errorf("--created %s is in the future", s)
	}
	return t, nil
}

// parseExpiry reads a date or a duration in days or years from now.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if !t.After(now) {
			return time.Time{}, fmt.Errorf("--expires %s is in the past", s)
		}
		return t, nil
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 || n > 100*366 {
		return time.Time{}, fmt.Errorf("--expires %q: want a date (2030-01-31) or a duration (2y, 180d)", s)
	}
	switch s[len(s)-1] {
	case 'd':
		return now.AddDate(0, 0, n), nil
	case 'y':
		return now.AddDate(n, 0, 0), nil
	}
	return time.Time{}, fmt.Errorf("--expires %q: want a date (2030-01-31) or a duration (2y, 180d)", s)
}

type keyListCmd struct{}

func (c *keyListCmd) Run(g *cli) error {
	cfg, err := loadConfig(g.Config, cliTrust())
	if err != nil {
		return err
	}
	def, _ := cfg.DefaultKey()
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tTYPE\tFINGERPRINT\tCREATED\tUSER ID\tNOTATIONS\tX.509")
	for _, name := range cfg.KeyNames() {
		k := cfg.Keys[name]
		cert, err := keyring.LoadCert(cfg, k)
		if err != nil {
			return fmt.Errorf("key %q: %w", name, err)
		}
		x, err := x509Summary(cfg, k)
		if err != nil {
			return fmt.Errorf("key %q: %w", name, err)
		}
		if name == def {
			name += " (default)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, cert.Algorithm(), cert.Fingerprint(),
			cert.Created().UTC().Format(time.DateOnly), cert.UserID(), notationList(k.Notations), x)
	}
	return w.Flush()
}

// x509Summary is key k's X.509 certificate as key list shows it: its
// subject and end of validity, with the chain's length if it has one;
// "-" for none.
func x509Summary(cfg *config.Config, k *config.Key) (string, error) {
	c, err := keyring.ReadX509(cfg, k)
	if errors.Is(err, keyring.ErrNoX509) {
		return "-", nil
	}
	if err != nil {
		return "", err
	}
	s := fmt.Sprintf("%s (until %s)", c.Cert.Subject, c.Cert.NotAfter.UTC().Format(time.DateOnly))
	if n := len(c.Chain); n > 0 {
		s += fmt.Sprintf(", chain of %d", n)
	}
	return s, nil
}

type keyExportCmd struct {
	Name string `help:"Name of the key (default: the default key)." placeholder:"NAME"`
}

func (c *keyExportCmd) Run(g *cli) error {
	cfg, err := loadConfig(g.Config, cliTrust())
	if err != nil {
		return err
	}
	_, kc, err := cfg.Key(c.Name)
	if err != nil {
		return err
	}
	cert, err := keyring.LoadCert(cfg, kc)
	if err != nil {
		return err
	}
	return cert.WriteArmored(os.Stdout)
}

type signCmd struct {
	Key       []string `help:"Name of the key (default: the default key); give it again to sign with several keys at once (one output, a signature by each)." placeholder:"NAME" sep:"none"`
	Armor     bool     `help:"Write an ASCII-armored signature instead of a binary one."`
	Text      bool     `help:"Sign standard input as UTF-8 text, with CRLF line ends (a type 0x01 signature, gpg -t)."`
	Clearsign bool     `help:"Write standard input, UTF-8 text, as a cleartext signed message (gpg --clearsign; always armored)."`
	Format    string   `help:"An X.509 signature instead, with the key's X.509 certificate: kmod (a kernel module's signature block, to append), authenticode (the signed UEFI image), cms (a detached CMS signature; PEM with --armor)." enum:",kmod,authenticode,cms" default:"" placeholder:"FORMAT"`
	Append    bool     `help:"With --format authenticode: add a signature to an image that has one."`
	KeyID     bool     `name:"keyid" help:"With --format kmod: name the signer by subject key identifier, as sign-file -k does."`
}

func (c *signCmd) Run(g *cli) error {
	rec := &audit.Record{RequestID: audit.NewRequestID(), Mode: audit.CLI, User: currentUser()}
	cfg, cfgErr := loadConfig(g.Config, cliTrust())
	j, err := openJob(cfg, cfgErr, rec)
	if err != nil {
		return err
	}
	if cfgErr != nil {
		return j.finish(nil, cfgErr)
	}
	cmd := remote.Command{Action: remote.Sign, Armor: c.Armor, Text: c.Text, Clearsign: c.Clearsign,
		Format: remote.Format(c.Format), Append: c.Append, KeyID: c.KeyID}
	if len(c.Key) > 0 {
		cmd.Key, cmd.Also = c.Key[0], c.Key[1:]
	}
	if err := cmd.CheckForm(); err != nil {
		return j.finish(nil, err)
	}
	if cmd.Format != "" {
		return j.finish(j.signX509(cmd.Key, cmd))
	}
	out, err := j.signArtifact(cmd.Keys(), formOf(cmd))
	return j.finish(out, err)
}

// currentUser names the local account for the audit record.
func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return strconv.Itoa(os.Getuid())
}

func openKeyring(g *cli) (*keyring.Keyring, *config.Config, error) {
	cfg, err := loadConfig(g.Config, cliTrust())
	if err != nil {
		return nil, nil, err
	}
	kr, err := keyring.Open(cfg)
	if err != nil {
		return nil, nil, err
	}
	return kr, cfg, nil
}
