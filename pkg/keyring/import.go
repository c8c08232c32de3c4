package keyring

import (
	"crypto"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	"signstar/pkg/config"
	"signstar/pkg/pgp"
	"signstar/pkg/refusal"
	"signstar/pkg/token"
)

// Import puts sk, a key read with [pgp.ReadSecretKey], on the token under
// a new random CKA_ID and records it as [Keyring.Generate] does: its
// certificate in certs/NAME.asc, its entry in the config. The certificate
// is the original's public part, so the fingerprint, creation time and
// self-signatures users already trust stay; for a subkey, which signstar
// holds as a primary key, the token certifies the subkey's own
// certificate (same fingerprint, new self-signature).
//
// It refuses, before the token is touched, a name in use, and a
// fingerprint the config holds; the token refuses a key it holds (see
// [token.Token.Import]). Refusals wrap [refusal.Err]. If recording fails,
// the key is taken off the token again. Import does not wipe sk: the
// caller does, whatever happens.
func (k *Keyring) Import(name string, sk *pgp.SecretKey) (*Key, error) {
	kc, err := k.newEntry(name)
	if err != nil {
		return nil, refusal.Errorf("%v", err)
	}
	if err := k.checkFingerprint(sk.Fingerprint); err != nil {
		return nil, err
	}
	// A revocation certificate left by an earlier key of this name would
	// make the import fail after the token holds the key.
	if rev := RevocationPath(k.cfg, kc); fileExists(rev) {
		return nil, refusal.Errorf("revocation certificate %s already exists; refusing to overwrite it", rev)
	}
	kc.Type = sk.Algorithm
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("generate key id: %w", err)
	}
	kc.ID = hex.EncodeToString(id)
	priv, err := k.tok.Import(id, name, sk.Public, token.Secret(sk.Secret))
	if errors.Is(err, token.ErrDuplicate) {
		return nil, refusal.Errorf("%v", err)
	}
	if err != nil {
		return nil, fmt.Errorf("import key %q: %w", name, err)
	}
	if err := k.recordImport(name, kc, sk, priv); err != nil {
		if derr := k.tok.Delete(id); derr != nil {
			return nil, fmt.Errorf("%w (and %v)", err, derr)
		}
		return nil, err
	}
	return k.Key(name)
}

// checkFingerprint refuses fpr if a configured key has it: two names for
// one key, or the token holding it twice.
func (k *Keyring) checkFingerprint(fpr string) error {
	for _, name := range k.cfg.KeyNames() {
		cert, err := LoadCert(k.cfg, k.cfg.Keys[name])
		if err != nil {
			return fmt.Errorf("compare with key %q: %w", name, err)
		}
		if cert.Fingerprint() == fpr {
			return refusal.Errorf("key %s is already configured as key %q in %s", fpr, name, k.cfg.Path())
		}
	}
	return nil
}

// recordImport writes sk's certificate (or, for a subkey, one the token
// makes through priv) and its revocation certificate (see
// [Keyring.WriteRevocation]), and adds kc to the config, leaving neither
// file behind if that fails.
func (k *Keyring) recordImport(name string, kc *config.Key, sk *pgp.SecretKey, priv crypto.Signer) error {
	cert := sk.Cert
	if sk.Subkey {
		var err error
		cert, err = pgp.NewCertificate(priv, sk.UserID, sk.Created, sk.Expires, crypto.SHA512)
		if err != nil {
			return fmt.Errorf("certify subkey %s as key %q: %w", sk.Fingerprint, name, err)
		}
	}
	if cert.Fingerprint() != sk.Fingerprint {
		return fmt.Errorf("BUG: certificate %s for imported key %s", cert.Fingerprint(), sk.Fingerprint)
	}
	return k.store(name, kc, cert, priv)
}

func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
