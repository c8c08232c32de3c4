//go:build linux && cgo

package main

// signstar key extend, revoke and rotate: signatures that change what a
// key's certificate says, made by the token key through keyring's lock
// rule (Key.SignWith); package pgp makes and checks them, keyring stores
// them in certs/NAME.asc, where 'key export' finds them. What the admin
// typed is checked before the token is opened, so a refusal changes
// nothing.

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"signstar/pkg/audit"
	"signstar/pkg/config"
	"signstar/pkg/keyring"
	"signstar/pkg/pgp"
	"signstar/pkg/refusal"
)

type keyExtendCmd struct {
	Name    string `help:"Name of the key." required:"" placeholder:"NAME"`
	Expires string `help:"New expiry: a date (2030-01-31), a duration from now (2y, 1y6m, 90d, 4w) or never." required:"" placeholder:"WHEN"`
}

func (c *keyExtendCmd) Run(g *cli) error {
	ev := keyEvent{Event: audit.KeyExtend, Keys: []keyRef{{Name: c.Name}}, Detail: "expires " + c.Expires}
	return recorded(g, ev, func(ev *keyEvent) error { return c.run(g, ev) })
}

func (c *keyExtendCmd) run(g *cli, ev *keyEvent) error {
	now := time.Now().UTC().Truncate(time.Second)
	expires, err := parseLifetime(c.Expires, now)
	if err != nil {
		return err
	}
	kr, keys, err := openLifecycleKeys(g, ev, c.Name)
	if err != nil {
		return err
	}
	defer kr.Close()
	k := keys[0]
	if err := k.Cert.CheckExtend(expires, now); err != nil {
		return refusal.Errorf("key %q: %v", k.Name, err)
	}
	if err := kr.Extend(k, expires, now); err != nil {
		return err
	}
	infof("key %q now %s; publish the certificate ('signstar key export --name %s')", k.Name, expiryText(k.Cert), k.Name)
	return nil
}

type keyRevokeCmd struct {
	Name    string `help:"Name of the key." required:"" placeholder:"NAME"`
	Reason  string `help:"Why: retired (no longer used), compromised (the key may be in other hands), superseded (replaced by another key)." required:"" enum:"retired,compromised,superseded" placeholder:"REASON"`
	Message string `help:"A few words for who reads the revocation (at most 1024 bytes, one line)." placeholder:"TEXT"`
}

var revocationReasons = map[string]pgp.RevocationReason{
	"retired":     pgp.ReasonRetired,
	"compromised": pgp.ReasonCompromised,
	"superseded":  pgp.ReasonSuperseded,
}

func (c *keyRevokeCmd) Run(g *cli) error {
	ev := keyEvent{Event: audit.KeyRevoke, Keys: []keyRef{{Name: c.Name}}, Detail: "reason " + c.Reason}
	return recorded(g, ev, func(ev *keyEvent) error { return c.run(g, ev) })
}

func (c *keyRevokeCmd) run(g *cli, ev *keyEvent) error {
	now := time.Now().UTC().Truncate(time.Second)
	reason, ok := revocationReasons[c.Reason]
	if !ok {
		return refusal.Errorf("--reason %q: want retired, compromised or superseded", c.Reason)
	}
	if err := checkRevocationMessage(c.Message); err != nil {
		return err
	}
	kr, keys, err := openLifecycleKeys(g, ev, c.Name)
	if err != nil {
		return err
	}
	defer kr.Close()
	k := keys[0]
	if err := kr.Revoke(k, reason, c.Message, now); err != nil {
		return err
	}
	infof("revoked key %q (%s); it signs nothing more; publish the certificate ('signstar key export --name %s')", k.Name, reason, k.Name)
	return nil
}

// checkRevocationMessage refuses a message that would not read as one
// line of text in gpg's and sq's output.
func checkRevocationMessage(m string) error {
	if len(m) > 1024 || !utf8.ValidString(m) {
		return refusal.Errorf("--message: want at most 1024 bytes of UTF-8")
	}
	for _, r := range m {
		if unicode.IsControl(r) {
			return refusal.Errorf("--message: want one line of text without control characters")
		}
	}
	return nil
}

type keyRotateCmd struct {
	From    string `help:"The old key, which certifies the new key's user ID." required:"" placeholder:"OLD"`
	To      string `help:"The new key (generated already), which becomes the default." required:"" placeholder:"NEW"`
	Overlap string `help:"Let the old key expire this long from now (90d, 6m, 1y), through a new self-signature as 'key extend' makes; without it the old key's expiry stays as it is." placeholder:"DURATION"`
}

func (c *keyRotateCmd) Run(g *cli) error {
	ev := keyEvent{Event: audit.KeyRotate, Keys: []keyRef{{Name: c.From}, {Name: c.To}}, Detail: "from " + c.From + " to " + c.To}
	if c.Overlap != "" {
		ev.Detail += ", overlap " + c.Overlap
	}
	return recorded(g, ev, func(ev *keyEvent) error { return c.run(g, ev) })
}

func (c *keyRotateCmd) run(g *cli, ev *keyEvent) error {
	now := time.Now().UTC().Truncate(time.Second)
	if c.From == c.To {
		return refusal.Errorf("--from and --to name the same key %q", c.From)
	}
	var until time.Time
	if c.Overlap != "" {
		t, err := parseDuration(c.Overlap, now)
		if err != nil {
			return refusal.Errorf("--overlap %q: want a duration (90d, 4w, 6m, 1y)", c.Overlap)
		}
		until = t
	}
	kr, keys, err := openLifecycleKeys(g, ev, c.From, c.To)
	if err != nil {
		return err
	}
	defer kr.Close()
	from, to := keys[0], keys[1]
	if !until.IsZero() {
		if err := from.Cert.CheckExtend(until, now); err != nil {
			return refusal.Errorf("--overlap: key %q: %v", from.Name, err)
		}
	}
	return rotate(kr, from, to, until, now)
}

// rotate certifies to's user ID by from, lets from expire at until (zero:
// as it was) and makes to the default, saying what it did as it goes: a
// failure halfway leaves what was done before it.
func rotate(kr *keyring.Keyring, from, to *keyring.Key, until, now time.Time) error {
	if err := kr.Certify(from, to, now); err != nil {
		return err
	}
	infof("key %q certified the user ID of key %q", from.Name, to.Name)
	if !until.IsZero() {
		if err := kr.Extend(from, until, now); err != nil {
			return err
		}
		infof("key %q now %s", from.Name, expiryText(from.Cert))
	}
	if err := kr.SetDefault(to.Name); err != nil {
		return err
	}
	infof("key %q is the default; key %q stays configured (sign --key %s --key %s signs with both); publish both certificates", to.Name, from.Name, from.Name, to.Name)
	return nil
}

// openLifecycleKeys opens the keyring and the named keys, refusing an
// unknown or revoked key before the token is opened, and fills in their
// fingerprints in ev.
func openLifecycleKeys(g *cli, ev *keyEvent, names ...string) (*keyring.Keyring, []*keyring.Key, error) {
	cfg, err := loadConfig(g.Config, cliTrust())
	if err != nil {
		return nil, nil, err
	}
	for i, name := range names {
		fpr, err := lifecycleCert(cfg, name)
		ev.Keys[i].Fingerprint = fpr
		if err != nil {
			return nil, nil, err
		}
	}
	kr, err := keyring.Open(cfg)
	if err != nil {
		return nil, nil, err
	}
	keys := make([]*keyring.Key, len(names))
	for i, name := range names {
		if keys[i], err = kr.Key(name); err != nil {
			kr.Close()
			return nil, nil, err
		}
	}
	return kr, keys, nil
}

// lifecycleCert returns the fingerprint of key name's certificate,
// refusing a key the config does not name and one that is revoked.
func lifecycleCert(cfg *config.Config, name string) (string, error) {
	kc, ok := cfg.Keys[name]
	if !ok {
		return "", withHint{refusal.Errorf("no key %q in %s", name, cfg.Path()), "see 'signstar key list'"}
	}
	cert, err := keyring.LoadCert(cfg, kc)
	if err != nil {
		return "", fmt.Errorf("key %q: %w", name, err)
	}
	if reason, _, when, revoked := cert.Revocation(); revoked {
		return cert.Fingerprint(), refusal.Errorf("key %q is revoked (%s, %s)", name, reason, when.UTC().Format(time.DateOnly))
	}
	return cert.Fingerprint(), nil
}

// expiryText is "expires DATE" or "never expires".
func expiryText(c *pgp.Certificate) string {
	if t := c.Expires(); !t.IsZero() {
		return "expires " + t.UTC().Format(time.RFC3339)
	}
	return "never expires"
}

// parseLifetime reads --expires: never (zero), a date (midnight UTC, in
// the future) or a duration from now.
func parseLifetime(s string, now time.Time) (time.Time, error) {
	if s == "never" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if !t.After(now) {
			return time.Time{}, refusal.Errorf("--expires %s is in the past", s)
		}
		return t, nil
	}
	t, err := parseDuration(s, now)
	if err != nil {
		return time.Time{}, refusal.Errorf("--expires %q: want a date (2030-01-31), a duration (2y, 1y6m, 90d, 4w) or never", s)
	}
	return t, nil
}

var durationPart = regexp.MustCompile(`([0-9]{1,5})([ymwd])`)

// parseDuration reads a duration such as 2y, 1y6m, 90d or 4w and returns
// now plus it (years and months by the calendar); at most 100 years.
func parseDuration(s string, now time.Time) (time.Time, error) {
	parts := durationPart.FindAllStringSubmatchIndex(s, -1)
	end, t := 0, now
	for _, p := range parts {
		if p[0] != end {
			break
		}
		n, _ := strconv.Atoi(s[p[2]:p[3]])
		switch s[p[4]] {
		case 'y':
			t = t.AddDate(n, 0, 0)
		case 'm':
			t = t.AddDate(0, n, 0)
		case 'w':
			t = t.AddDate(0, 0, 7*n)
		case 'd':
			t = t.AddDate(0, 0, n)
		}
		end = p[1]
	}
	if len(parts) == 0 || end != len(s) || !t.After(now) || t.After(now.AddDate(100, 0, 0)) {
		return time.Time{}, errors.New("bad duration")
	}
	return t, nil
}
