package keyring

// A key's X.509 certificate: the file the config's x509 field names, PEM,
// the key's certificate first and the chain above it after it, as
// 'signstar key x509 self-sign' and 'import' write it. It lives beside
// the OpenPGP certificate (certs/NAME.pem next to certs/NAME.asc).

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"signstar/internal/filesys"
	"signstar/pkg/config"
	"signstar/pkg/x509cert"
)

// X509 is a key's X.509 certificate and the chain above it.
type X509 struct {
	Path  string              // the file, resolved against the config's directory
	Cert  *x509.Certificate   // the key's own
	Chain []*x509.Certificate // issuer first, root last; empty for a self-signed one
}

// PEM is the file's content: the certificate, then the chain.
func (c *X509) PEM() []byte {
	return x509cert.EncodePEM(append([]*x509.Certificate{c.Cert}, c.Chain...)...)
}

// ErrNoX509 marks a key whose config entry names no X.509 certificate.
var ErrNoX509 = errors.New("no X.509 certificate")

// ErrX509Exists marks a key that has an X.509 certificate already, which
// [Keyring.StoreX509] replaces only when asked to.
var ErrX509Exists = errors.New("has an X.509 certificate already")

// ReadX509 reads the X.509 certificate of key kc without the token, for
// listing and handing out: it does not check it against the token key
// (see [LoadX509]). A key without one is [ErrNoX509].
func ReadX509(cfg *config.Config, kc *config.Key) (*X509, error) {
	if kc.X509 == "" {
		return nil, ErrNoX509
	}
	path := cfg.Resolve(kc.X509)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read X.509 certificate: %w", err)
	}
	certs, err := x509cert.ParseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("read X.509 certificate %s: %w", path, err)
	}
	return &X509{Path: path, Cert: certs[0], Chain: certs[1:]}, nil
}

// LoadX509 reads the X.509 certificate of k, an open key, and checks
// that it is k's: its public key must be the token key's. It does not
// check the validity period: the kernel and UEFI firmware do not, and an
// expired code signing certificate still signs for them; the caller
// decides.
func LoadX509(cfg *config.Config, k *Key) (*X509, error) {
	kc, ok := cfg.Keys[k.Name]
	if !ok {
		return nil, fmt.Errorf("BUG: key %q is open but not configured", k.Name)
	}
	c, err := ReadX509(cfg, kc)
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", k.Name, err)
	}
	if err := c.Check(k); err != nil {
		return nil, err
	}
	return c, nil
}

// Check checks that c is k's certificate: its public key must be the
// token key's. A caller that read c before the token was open (the login
// shell reads files only before its lockdown) checks it here.
func (c *X509) Check(k *Key) error {
	if err := x509cert.SameKey(c.Cert, k.Public()); err != nil {
		return fmt.Errorf("key %q: X.509 certificate %s does not match the token: %w", k.Name, c.Path, err)
	}
	return nil
}

// X509Free checks that key name has no X.509 certificate yet: none in
// the config, and no file where [Keyring.StoreX509] would write one.
// Otherwise it returns [ErrX509Exists].
func (kr *Keyring) X509Free(name string) error {
	kc, ok := kr.cfg.Keys[name]
	if !ok {
		return fmt.Errorf("BUG: key %q is not configured", name)
	}
	if kc.X509 != "" {
		return fmt.Errorf("key %q %w: %s", name, ErrX509Exists, kr.cfg.Resolve(kc.X509))
	}
	path := kr.cfg.Resolve(x509Path(name))
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("key %q %w: %s exists, though the config does not name it", name, ErrX509Exists, path)
	}
	return nil
}

// x509Path is where a key's X.509 certificate goes, relative to the
// config: certs/, beside its OpenPGP certificate.
func x509Path(name string) string { return filepath.Join("certs", name+".pem") }

// StoreX509 makes cert, with chain above it, k's X.509 certificate: it
// checks that cert is k's, writes the file (certs/NAME.pem, or the one the
// config names already) atomically with mode 0644, and records it in the
// config. A key that has one keeps it unless replace is set
// ([ErrX509Exists]). It returns the file written.
func (kr *Keyring) StoreX509(k *Key, cert *x509.Certificate, chain []*x509.Certificate, replace bool) (string, error) {
	if err := x509cert.SameKey(cert, k.Public()); err != nil {
		return "", fmt.Errorf("key %q: %w", k.Name, err)
	}
	if !replace {
		if err := kr.X509Free(k.Name); err != nil {
			return "", err
		}
	}
	kc := kr.cfg.Keys[k.Name]
	rel := kc.X509
	if rel == "" {
		rel = x509Path(k.Name)
	}
	path := kr.cfg.Resolve(rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("create certificate directory: %w", err)
	}
	_, statErr := os.Lstat(path)
	c := &X509{Path: path, Cert: cert, Chain: chain}
	if err := filesys.WriteAtomic(path, c.PEM(), 0o644); err != nil { // a certificate is public
		return "", err
	}
	if kc.X509 == rel {
		return path, nil
	}
	if err := kr.cfg.SetX509(k.Name, rel); err != nil {
		if statErr != nil { // ours: no file was there before
			os.Remove(path)
		}
		return "", err
	}
	return path, nil
}
