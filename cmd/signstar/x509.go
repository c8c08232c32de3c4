//go:build linux && cgo

package main

// signstar key x509: a key's X.509 certificate, for kernel module, UEFI
// Secure Boot and CMS signatures. The token key signs the certificate or
// the request through keyring's lock rule (Key.SignWith); package
// x509cert makes and checks them, and keyring stores them beside the
// OpenPGP certificate.

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"signstar/pkg/audit"
	"signstar/pkg/keyring"
	"signstar/pkg/refusal"
	"signstar/pkg/x509cert"
)

type keyX509Cmd struct {
	SelfSign x509SelfSignCmd `cmd:"" name:"self-sign" help:"Make a self-signed X.509 certificate for a key, signed by the key on the token."`
	CSR      x509CSRCmd      `cmd:"" name:"csr" help:"Write a PEM certificate signing request for a key, signed by the key on the token, to standard output."`
	Import   x509ImportCmd   `cmd:"" help:"Attach a CA-issued X.509 certificate and its chain to a key, once checked against the key on the token."`
}

type x509SelfSignCmd struct {
	Name    string `help:"Name of the key." required:"" placeholder:"NAME"`
	Subject string `help:"Subject as RFC 4514 writes it, the last RDN first: \"CN=Example Secure Boot 2026,O=Example\"; types CN, O, OU, L, ST, C, STREET, POSTALCODE, SERIALNUMBER." required:"" placeholder:"DN"`
	Days    int    `help:"Validity in days from now." default:"3650" placeholder:"N"`
	Usage   string `help:"codesign: UEFI Secure Boot and CMS (extended key usage codeSigning); kmod: Linux kernel modules only (1.3.6.1.4.1.2312.16.1.2, which shim refuses for boot images)." enum:"codesign,kmod" default:"codesign"`
	Replace bool   `help:"Replace the key's X.509 certificate if it has one."`
}

func (c *x509SelfSignCmd) Run(g *cli) error {
	a, err := openKeyAudit(g)
	if err != nil {
		return err
	}
	ev := x509Event(c.Name)
	s, err := c.selfSign(g, &ev)
	if err := a.record(ev, err); err != nil {
		return err
	}
	s.print()
	return nil
}

func (c *x509SelfSignCmd) selfSign(g *cli, ev *keyEvent) (*x509Stored, error) {
	subject, err := parseSubject(c.Subject)
	if err != nil {
		return nil, err
	}
	usage, err := x509cert.ParseUsage(c.Usage)
	if err != nil {
		return nil, refusal.Errorf("--usage: %v", err)
	}
	if c.Days < 1 || c.Days > x509cert.MaxDays {
		return nil, refusal.Errorf("--days %d: want 1 to %d", c.Days, x509cert.MaxDays)
	}
	kr, k, err := openX509Key(g, c.Name, c.Replace, ev)
	if err != nil {
		return nil, err
	}
	defer kr.Close()
	der, err := signX509(k, func(key crypto.Signer) ([]byte, error) {
		cert, err := x509cert.SelfSign(key, subject, c.Days, usage)
		if err != nil {
			return nil, err
		}
		return cert.Raw, nil
	})
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("BUG: parse the certificate just made: %v", err)
	}
	return storeX509(kr, k, cert, nil, c.Replace, "self-signed", ev)
}

type x509CSRCmd struct {
	Name    string `help:"Name of the key." required:"" placeholder:"NAME"`
	Subject string `help:"Subject as RFC 4514 writes it, the last RDN first: \"CN=Example Secure Boot 2026,O=Example\"; types CN, O, OU, L, ST, C, STREET, POSTALCODE, SERIALNUMBER." required:"" placeholder:"DN"`
}

func (c *x509CSRCmd) Run(g *cli) error {
	a, err := openKeyAudit(g)
	if err != nil {
		return err
	}
	ev := x509Event(c.Name)
	csr, err := c.csr(g, &ev)
	if err := a.record(ev, err); err != nil {
		return err
	}
	_, err = os.Stdout.Write(csr)
	return err
}

func (c *x509CSRCmd) csr(g *cli, ev *keyEvent) ([]byte, error) {
	subject, err := parseSubject(c.Subject)
	if err != nil {
		return nil, err
	}
	kr, k, err := openX509Key(g, c.Name, true, ev)
	if err != nil {
		return nil, err
	}
	defer kr.Close()
	csr, err := signX509(k, func(key crypto.Signer) ([]byte, error) { return x509cert.CSR(key, subject) })
	if err == nil {
		ev.Detail = fmt.Sprintf("csr %q", subject.String())
	}
	return csr, err
}

type x509ImportCmd struct {
	Name    string   `help:"Name of the key." required:"" placeholder:"NAME"`
	Replace bool     `help:"Replace the key's X.509 certificate if it has one."`
	Cert    string   `arg:"" help:"The certificate, PEM (perhaps followed by its chain) or DER." type:"existingfile" placeholder:"CERT.pem"`
	Chain   []string `arg:"" optional:"" help:"The chain above it, issuer first, the root last; PEM." type:"existingfile" placeholder:"CHAIN.pem"`
}

// maxCertFile bounds what import reads from one file; a chain of a few
// certificates is a few kilobytes.
const maxCertFile = 1 << 20

func (c *x509ImportCmd) Run(g *cli) error {
	a, err := openKeyAudit(g)
	if err != nil {
		return err
	}
	ev := x509Event(c.Name)
	s, err := c.importCert(g, &ev)
	if err := a.record(ev, err); err != nil {
		return err
	}
	s.print()
	return nil
}

func (c *x509ImportCmd) importCert(g *cli, ev *keyEvent) (*x509Stored, error) {
	certPEM, err := readX509File(c.Cert)
	if err != nil {
		return nil, err
	}
	var chainPEM []byte
	for _, p := range c.Chain {
		data, err := readX509File(p)
		if err != nil {
			return nil, err
		}
		chainPEM = append(append(chainPEM, data...), '\n')
	}
	kr, k, err := openX509Key(g, c.Name, c.Replace, ev)
	if err != nil {
		return nil, err
	}
	defer kr.Close()
	cert, chain, err := x509cert.CheckImport(certPEM, chainPEM, k.Public())
	if err != nil {
		return nil, refusal.Errorf("import %s: %v", c.Cert, err)
	}
	return storeX509(kr, k, cert, chain, c.Replace, "imported", ev)
}

// readX509File reads one X.509 certificate file the admin named.
func readX509File(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read certificate: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCertFile+1))
	if err != nil {
		return nil, fmt.Errorf("read certificate %s: %w", path, err)
	}
	if len(data) > maxCertFile {
		return nil, refusal.Errorf("certificate file %s is larger than %d bytes", path, maxCertFile)
	}
	return data, nil
}

func parseSubject(s string) (pkix.Name, error) {
	n, err := x509cert.ParseSubject(s)
	if err != nil {
		return pkix.Name{}, refusal.Errorf("--subject: %s", strings.TrimPrefix(err.Error(), "subject: "))
	}
	return n, nil
}

// openX509Key opens the keyring and key name, refusing a key type no X.509
// format takes, and, unless replace, a key that has an X.509 certificate
// already: before the token signs anything. The key's fingerprint goes
// into ev.
func openX509Key(g *cli, name string, replace bool, ev *keyEvent) (*keyring.Keyring, *keyring.Key, error) {
	kr, _, err := openKeyring(g)
	if err != nil {
		return nil, nil, err
	}
	k, err := kr.Key(name)
	if err == nil {
		ev.Keys[0].Fingerprint = k.Cert.Fingerprint()
		err = checkX509Key(kr, k, replace)
	}
	if err != nil {
		kr.Close()
		return nil, nil, err
	}
	return kr, k, nil
}

func checkX509Key(kr *keyring.Keyring, k *keyring.Key, replace bool) error {
	if _, err := x509cert.SignatureAlgorithm(k.Public()); err != nil {
		return refusal.Errorf("key %q: %v", k.Name, err)
	}
	if replace {
		return nil
	}
	if err := kr.X509Free(k.Name); err != nil {
		return withHint{refusal.Errorf("%v", err), "give --replace to replace it (a certificate enrolled elsewhere stops matching what signs)"}
	}
	return nil
}

// signX509 has the token key sign through build under the token lock rule
// ([keyring.Key.SignWith]); there is no input to read.
func signX509(k *keyring.Key, build func(crypto.Signer) ([]byte, error)) ([]byte, error) {
	out, err := k.SignWith(bytes.NewReader(nil), func(_ io.Reader, key crypto.Signer) ([]byte, error) { return build(key) }, keyring.SignOptions{})
	if errors.Is(err, x509cert.ErrKeyType) {
		return nil, refusal.Errorf("key %q: %v", k.Name, err)
	}
	return out, err
}

// x509Event is the audit event of a key x509 command for key name.
func x509Event(name string) keyEvent {
	return keyEvent{Event: audit.KeyX509, Keys: []keyRef{{Name: name}}}
}

// x509Stored is a certificate key x509 stored, to say so once recorded.
type x509Stored struct {
	how, key, path string
	cert           *x509.Certificate
}

// storeX509 stores cert and chain as k's certificate and puts what it
// stored into ev's detail.
func storeX509(kr *keyring.Keyring, k *keyring.Key, cert *x509.Certificate, chain []*x509.Certificate, replace bool, how string, ev *keyEvent) (*x509Stored, error) {
	path, err := kr.StoreX509(k, cert, chain, replace)
	if err != nil {
		return nil, err
	}
	ev.Detail = fmt.Sprintf("%s %q, until %s, %s", how, cert.Subject.String(),
		cert.NotAfter.UTC().Format(time.DateOnly), x509cert.Fingerprint(cert))
	return &x509Stored{how: how, key: k.Name, path: path, cert: cert}, nil
}

// print says what was stored: on stderr, the file written; on stdout,
// the certificate's SHA-256 fingerprint.
func (s *x509Stored) print() {
	infof("%s X.509 certificate %q for key %q: %s", s.how, s.cert.Subject.String(), s.key, s.path)
	fmt.Println(x509cert.Fingerprint(s.cert))
}

// withHint is err, with the advice the command line prints after it on a
// line of its own (see hints.go); the hint is not part of the message.
type withHint struct {
	error
	h hint
}

func (e withHint) Unwrap() []error { return []error{e.error, e.h} }
