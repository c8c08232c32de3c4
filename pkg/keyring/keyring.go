// Package keyring opens the keys a configuration names: the private half on
// the PKCS#11 token, the public half as an OpenPGP certificate on disk. It
// refuses a key whose two halves disagree.
//
// It also owns the token lock rule (see sign.go): a [Keyring] holds the
// token's lock file from [Open] to [Keyring.Close], except while
// [Key.Sign], [Key.ClearSign] or [Key.SignHash] reads its input, and no key can reach the
// token before the lock is back. A Keyring and its keys are for one
// goroutine at a time, as the lock is the process's.
package keyring

import (
	"crypto"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"signstar/pkg/config"
	"signstar/pkg/keyname"
	"signstar/pkg/pgp"
	"signstar/pkg/token"
)

// Keyring is an open token together with the config that names its keys.
type Keyring struct {
	cfg *config.Config
	tok *token.Token
}

// Key is one usable signing key. It signs through [Key.Sign],
// [Key.ClearSign] and [Key.SignHash], which apply the token lock rule.
type Key struct {
	Name string
	Cert *pgp.Certificate

	signer *pgp.Signer // signs through guard
	guard  *guard
}

// Open reads the PIN and logs in to the token the config names.
func Open(cfg *config.Config) (*Keyring, error) {
	sel, err := cfg.Token.Selector()
	if err != nil {
		return nil, err
	}
	pin, err := cfg.PIN()
	if err != nil {
		return nil, err
	}
	tok, err := token.Open(token.Options{
		Module:   sel.Module,
		Label:    sel.Label,
		Serial:   sel.Serial,
		PIN:      pin,
		LockFile: cfg.Resolve(cfg.Token.LockFile),
	})
	if err != nil {
		return nil, err
	}
	return &Keyring{cfg: cfg, tok: tok}, nil
}

// Close logs out and releases the token.
func (k *Keyring) Close() error { return k.tok.Close() }

// Key opens the named key, or the default key when name is empty, and checks
// that the token's public key is the certificate's.
func (k *Keyring) Key(name string) (*Key, error) {
	name, kc, err := k.cfg.Key(name)
	if errors.Is(err, config.ErrUnknownKey) {
		return nil, fmt.Errorf("%w (see 'signstar key list')", err)
	}
	if err != nil {
		return nil, err
	}
	cert, err := LoadCert(k.cfg, kc)
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", name, err)
	}
	if err := refuseRevoked(name, cert); err != nil {
		return nil, err
	}
	id, _ := kc.IDBytes() // validated by config.Parse
	priv, err := k.tok.Key(id)
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", name, err)
	}
	h, _ := kc.HashFunc() // validated by config.Parse
	key, err := newKey(name, cert, priv, h, k.tok)
	if err != nil {
		return nil, fmt.Errorf("key %q: certificate %s does not match the token: %w; restore the certificate 'signstar key generate' wrote for this key", name, k.cfg.Resolve(kc.Cert), err)
	}
	return key, nil
}

// newKey puts priv, a key on the token whose lock is lock, behind its
// guard.
func newKey(name string, cert *pgp.Certificate, priv crypto.Signer, h crypto.Hash, lock locker) (*Key, error) {
	g := &guard{key: priv, lock: lock}
	s, err := pgp.NewSigner(cert, g.signer(), h)
	if err != nil {
		return nil, err
	}
	return &Key{Name: name, Cert: cert, signer: s, guard: g}, nil
}

// LoadCert reads a key's certificate file, which may be revoked (see
// [pgp.ReadStoredCertificate]); [Keyring.Key] refuses a revoked one.
func LoadCert(cfg *config.Config, kc *config.Key) (*pgp.Certificate, error) {
	path := cfg.Resolve(kc.Cert)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read certificate: %w", err)
	}
	defer f.Close()
	cert, err := pgp.ReadStoredCertificate(f)
	if err != nil {
		return nil, fmt.Errorf("read certificate %s: %w", path, err)
	}
	return cert, nil
}

// NewKey says what key to generate.
type NewKey struct {
	Name    string
	Type    token.KeyType
	UserID  string
	Created time.Time
	Expires time.Time // zero: never
}

// Generate creates a key pair on the token, certifies it through the token,
// writes the certificate next to the config and records the key in the
// config. The first key becomes the default.
func (k *Keyring) Generate(n NewKey) (*Key, error) {
	kc, err := k.newEntry(n.Name)
	if err != nil {
		return nil, err
	}
	kc.Type = string(n.Type)
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("generate key id: %w", err)
	}
	kc.ID = hex.EncodeToString(id)
	priv, err := k.tok.Generate(id, n.Name, n.Type)
	if err != nil {
		return nil, fmt.Errorf("generate %s key %q: %w", n.Type, n.Name, err)
	}
	if err := k.record(n, kc, priv); err != nil {
		// Without its certificate the key pair is unusable: its creation
		// time, part of the fingerprint, is gone. Take it off the token.
		// Only here: an adopted key (see Adopt) is never ours to delete.
		if derr := k.tok.Delete(id); derr != nil {
			return nil, fmt.Errorf("%w (and %v)", err, derr)
		}
		return nil, err
	}
	return k.Key(n.Name)
}

// newEntry checks that key name is free, in the config and in certs/, and
// returns its config entry without type and id. It writes nothing.
func (k *Keyring) newEntry(name string) (*config.Key, error) {
	if !keyname.Valid(name) {
		return nil, fmt.Errorf("invalid key name %q: use letters, digits, '_' and '-' (at most 64)", name)
	}
	if _, ok := k.cfg.Keys[name]; ok {
		return nil, fmt.Errorf("key %q already exists in %s", name, k.cfg.Path())
	}
	// Certificates live in their own directory: "signstar key export >
	// NAME.asc" run next to the config must not truncate the stored copy.
	kc := &config.Key{Cert: filepath.Join("certs", name+".asc"), Default: len(k.cfg.Keys) == 0}
	certPath := k.cfg.Resolve(kc.Cert)
	if _, err := os.Lstat(certPath); err == nil {
		return nil, fmt.Errorf("certificate %s already exists; refusing to overwrite it", certPath)
	}
	return kc, nil
}

// record certifies a key through priv, writes its certificate and its
// revocation certificate (see [Keyring.WriteRevocation]) and adds kc to
// the config. On failure it leaves neither file behind; the key on the
// token is the caller's to keep or delete.
func (k *Keyring) record(n NewKey, kc *config.Key, priv crypto.Signer) error {
	cert, err := pgp.NewCertificate(priv, n.UserID, n.Created, n.Expires, crypto.SHA512)
	if err != nil {
		return fmt.Errorf("certify key %q: %w", n.Name, err)
	}
	return k.store(n.Name, kc, cert, priv)
}

// store writes a new key's certificate and the revocation certificate
// the token makes for it now (see [Keyring.WriteRevocation]), then adds
// kc to the config, leaving neither file behind if a step fails: every
// way a key enters the config (generate, adopt, import) ends here.
func (k *Keyring) store(name string, kc *config.Key, cert *pgp.Certificate, priv crypto.Signer) error {
	certPath := k.cfg.Resolve(kc.Cert)
	if err := os.MkdirAll(filepath.Dir(certPath), 0o755); err != nil {
		return fmt.Errorf("create certificate directory: %w", err)
	}
	if err := writeCert(certPath, cert); err != nil {
		return err
	}
	revPath := RevocationPath(k.cfg, kc)
	if err := writeRevocation(revPath, cert, priv, time.Now()); err != nil {
		os.Remove(certPath)
		return err
	}
	if err := k.cfg.AddKey(name, kc); err != nil {
		os.Remove(certPath)
		os.Remove(revPath)
		return err
	}
	return nil
}

// writeCert creates path, which must not exist, and writes cert to it. If
// writing fails, the file it created is removed.
func writeCert(path string, cert *pgp.Certificate) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("write certificate: %w", err)
	}
	err = cert.WriteArmored(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write certificate %s: %w", path, err)
	}
	return nil
}

// KeyTypes are the key types the token can generate and sign with.
func (k *Keyring) KeyTypes() ([]token.KeyType, error) { return k.tok.KeyTypes() }
