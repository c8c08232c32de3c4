//go:build linux && cgo

package main

// signstar key show: one key as the config, its files and the token see
// it. Read-only, so not recorded, as key list and key export are not.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"signstar/pkg/config"
	"signstar/pkg/keyring"
	"signstar/pkg/pgp"
	"signstar/pkg/token"
	"signstar/pkg/x509cert"
)

type keyShowCmd struct {
	Name string `help:"Name of the key (default: the default key)." placeholder:"NAME"`
}

func (c *keyShowCmd) Run(g *cli) error {
	kr, cfg, err := openKeyring(g)
	if err != nil {
		return err
	}
	defer kr.Close()
	name, kc, err := cfg.Key(c.Name)
	if err != nil {
		return err
	}
	cert, err := keyring.LoadCert(cfg, kc)
	if err != nil {
		return fmt.Errorf("key %q: %w", name, err)
	}
	state, err := kr.TokenState(kc, cert)
	if err != nil {
		return fmt.Errorf("key %q: %w", name, err)
	}
	x, err := keyring.ReadX509(cfg, kc)
	if err != nil && !errors.Is(err, keyring.ErrNoX509) {
		return fmt.Errorf("key %q: %w", name, err)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	showKeyFields(w, cfg, name, kc, cert)
	fmt.Fprintf(w, "token id:\t%s (CKA_ID)\n", strings.ToLower(kc.ID))
	fmt.Fprintf(w, "on token:\t%s\n", onToken(state, kc))
	fmt.Fprintf(w, "x509:\t%s\n", x509Line(x))
	return w.Flush()
}

// showKeyFields writes what the config and the certificate say of key name.
func showKeyFields(w io.Writer, cfg *config.Config, name string, kc *config.Key, cert *pgp.Certificate) {
	if def, _ := cfg.DefaultKey(); def == name {
		name += " (default)"
	}
	fmt.Fprintf(w, "name:\t%s\n", name)
	fmt.Fprintf(w, "fingerprint:\t%s\n", cert.Fingerprint())
	fmt.Fprintf(w, "type:\t%s\n", kc.Type)
	fmt.Fprintf(w, "created:\t%s\n", cert.Created().UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "expires:\t%s\n", orNever(cert.Expires()))
	fmt.Fprintf(w, "revoked:\t%s\n", revokedLine(cert))
	fmt.Fprintf(w, "user ID:\t%s\n", cert.UserID())
	if cs := cert.Certifiers(); len(cs) > 0 {
		fmt.Fprintf(w, "certified by:\t%s\n", strings.Join(cs, ", "))
	}
	allow := "every authorized SSH key"
	if len(kc.Allow) > 0 {
		allow = strings.Join(kc.Allow, ", ")
	}
	fmt.Fprintf(w, "allow:\t%s\n", allow)
	fmt.Fprintf(w, "notations:\t%s\n", notationList(kc.Notations))
	fmt.Fprintf(w, "certificate:\t%s\n", cfg.Resolve(kc.Cert))
	rev := keyring.RevocationPath(cfg, kc)
	if _, err := os.Stat(rev); err != nil {
		rev = "-"
	}
	fmt.Fprintf(w, "revocation:\t%s\n", rev)
}

func orNever(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func revokedLine(cert *pgp.Certificate) string {
	reason, msg, when, ok := cert.Revocation()
	if !ok {
		return "no"
	}
	s := fmt.Sprintf("yes, %s, %s", when.UTC().Format(time.RFC3339), reason)
	if msg != "" {
		s += fmt.Sprintf(": %q", msg)
	}
	return s
}

// onToken says whether the token holds the key pair, and what it says of
// it: a missing key pair is shown, not an error.
func onToken(s keyring.TokenState, kc *config.Key) string {
	if !s.Held {
		return fmt.Sprintf("no: the token has no private key with id %s", strings.ToLower(kc.ID))
	}
	if s.Mismatch != nil {
		return fmt.Sprintf("yes, but it is not the certificate's key: %v", s.Mismatch)
	}
	return "yes, " + keyInfoText(s.Info)
}

// keyInfoText is what the token says of a private key: its algorithm and
// the attributes that say whether its secret ever left the token.
func keyInfoText(i token.KeyInfo) string {
	attrs := []string{i.Algorithm}
	flag := func(on bool, yes, no string) {
		if on {
			attrs = append(attrs, yes)
		} else if no != "" {
			attrs = append(attrs, no)
		}
	}
	flag(i.Sensitive, "sensitive", "NOT sensitive")
	flag(i.Extractable, "EXTRACTABLE", "not extractable")
	flag(i.NeverExtractable, "never extractable", "")
	flag(i.Local, "generated on the token", "imported")
	return strings.Join(attrs, ", ")
}

// x509Line is the key's X.509 certificate in one line, "-" for none.
func x509Line(x *keyring.X509) string {
	if x == nil {
		return "-"
	}
	s := fmt.Sprintf("%s, until %s, %s, %s", x.Cert.Subject, x.Cert.NotAfter.UTC().Format(time.DateOnly),
		x509cert.Fingerprint(x.Cert), x.Path)
	if n := len(x.Chain); n > 0 {
		s += fmt.Sprintf(", chain of %d", n)
	}
	return s
}
