package keyring

// Key lifecycle: extend, revoke, rotate, and the pre-made revocation
// certificate. Every signature here is made by the token key through
// Key.SignWith, so the lock rule holds as for any other signature;
// package pgp makes and checks the packets.

import (
	"bytes"
	"crypto"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"signstar/internal/filesys"
	"signstar/pkg/config"
	"signstar/pkg/pgp"
)

// lifecycleHash is the hash of the lifecycle signatures, that of the
// self-signature [Keyring.Generate] makes.
const lifecycleHash = crypto.SHA512

// refuseRevoked keeps a revoked key from signing: [Keyring.Key] calls it,
// so no signing path opens one.
func refuseRevoked(name string, cert *pgp.Certificate) error {
	reason, msg, when, ok := cert.Revocation()
	if !ok {
		return nil
	}
	if msg != "" {
		msg = ": " + msg
	}
	return fmt.Errorf("key %q: %w on %s (%s%s); it signs nothing more", name, pgp.ErrRevoked,
		when.UTC().Format(time.DateOnly), reason, msg)
}

// Extend has k's token key make a new self-signature with expires as the
// key's expiry (zero: never) and stores the certificate.
func (kr *Keyring) Extend(k *Key, expires, now time.Time) error {
	return kr.update(k, func(c *pgp.Certificate, key crypto.Signer) error {
		return c.Extend(key, expires, now, lifecycleHash)
	})
}

// Revoke has k's token key revoke itself and stores the revoked
// certificate: from then on [Keyring.Key] refuses the key.
func (kr *Keyring) Revoke(k *Key, reason pgp.RevocationReason, message string, now time.Time) error {
	return kr.update(k, func(c *pgp.Certificate, key crypto.Signer) error {
		return c.Revoke(key, reason, message, now, lifecycleHash)
	})
}

// Certify has from's token key certify to's user ID and stores to's
// certificate with it.
func (kr *Keyring) Certify(from, to *Key, now time.Time) error {
	c := to.Cert.Clone()
	_, err := from.SignWith(bytes.NewReader(nil), func(_ io.Reader, key crypto.Signer) ([]byte, error) {
		return nil, c.CertifyBy(key, from.Cert, now, lifecycleHash)
	}, SignOptions{})
	if err != nil {
		return fmt.Errorf("key %q certifies key %q: %w", from.Name, to.Name, err)
	}
	return kr.storeCert(to, c)
}

// SetDefault makes key name the config's default key.
func (kr *Keyring) SetDefault(name string) error { return kr.cfg.SetDefault(name) }

// update has k's token key change a copy of its certificate through
// change and stores the copy.
func (kr *Keyring) update(k *Key, change func(*pgp.Certificate, crypto.Signer) error) error {
	c := k.Cert.Clone()
	_, err := k.SignWith(bytes.NewReader(nil), func(_ io.Reader, key crypto.Signer) ([]byte, error) {
		return nil, change(c, key)
	}, SignOptions{})
	if err != nil {
		return fmt.Errorf("key %q: %w", k.Name, err)
	}
	return kr.storeCert(k, c)
}

// storeCert replaces k's certificate file with c, atomically.
func (kr *Keyring) storeCert(k *Key, c *pgp.Certificate) error {
	kc, ok := kr.cfg.Keys[k.Name]
	if !ok {
		return fmt.Errorf("BUG: key %q is not in the config", k.Name)
	}
	var buf bytes.Buffer
	if err := c.WriteArmored(&buf); err != nil {
		return err
	}
	path := kr.cfg.Resolve(kc.Cert)
	if err := replaceAtomically(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write certificate %s: %w", path, err)
	}
	k.Cert = c
	return nil
}

// WriteRevocation has k's token key make a revocation certificate (see
// [pgp.Certificate.RevocationCertificate]) and writes it beside k's
// certificate as NAME.rev, mode 0600: the admin takes it offline, to
// revoke the key should the token be lost. It never overwrites a file.
func (kr *Keyring) WriteRevocation(k *Key) (string, error) {
	kc, ok := kr.cfg.Keys[k.Name]
	if !ok {
		return "", fmt.Errorf("BUG: key %q is not in the config", k.Name)
	}
	path := RevocationPath(kr.cfg, kc)
	_, err := k.SignWith(bytes.NewReader(nil), func(_ io.Reader, key crypto.Signer) ([]byte, error) {
		return nil, writeRevocation(path, k.Cert, key, time.Now())
	}, SignOptions{})
	if err != nil {
		return "", fmt.Errorf("key %q: %w", k.Name, err)
	}
	return path, nil
}

// RevocationPath is where key kc's revocation certificate goes: its
// certificate's path with .rev for .asc.
func RevocationPath(cfg *config.Config, kc *config.Key) string {
	return strings.TrimSuffix(cfg.Resolve(kc.Cert), ".asc") + ".rev"
}

// writeRevocation has key (the token key, under the lock) make cert's
// revocation certificate at now and creates path with it.
func writeRevocation(path string, cert *pgp.Certificate, key crypto.Signer, now time.Time) error {
	rev, err := cert.RevocationCertificate(key, now.UTC().Truncate(time.Second), lifecycleHash)
	if err != nil {
		return err
	}
	if err := createAtomically(path, rev, 0o600); err != nil {
		return fmt.Errorf("write revocation certificate %s: %w", path, err)
	}
	return nil
}

// createAtomically writes data to a new file at path with mode perm, all
// of it or nothing: a temporary file in the same directory, synced, then
// linked to path, which fails if path exists.
func createAtomically(path string, data []byte, perm os.FileMode) error {
	tmp, err := filesys.WriteTemp(path, data, perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	return os.Link(tmp, path)
}

// replaceAtomically writes data to path with mode perm, replacing what
// was there in one rename.
func replaceAtomically(path string, data []byte, perm os.FileMode) error {
	tmp, err := filesys.WriteTemp(path, data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
