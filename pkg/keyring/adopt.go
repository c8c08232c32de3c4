package keyring

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"signstar/pkg/token"
)

// ExistingKey says which key pair on the token to adopt and how to
// certify it.
type ExistingKey struct {
	Name    string
	ID      []byte // CKA_ID of the key pair
	UserID  string
	Created time.Time // the OpenPGP key creation time, part of the fingerprint
	Expires time.Time // zero: never

	// Warn, if set, is told what about the key is allowed but unwise,
	// once the key is adopted.
	Warn func(string)
}

// Adopt takes over a key pair someone else made on the token, such as a
// smartcard key made with the vendor's tool: it checks that the private
// key cannot leave the token and can sign without a PIN per signature
// (see [Adoptable]), then certifies it, writes the certificate and records
// it as Generate does. Adopt never deletes anything from the token, not
// even when it fails: the key is not signstar's.
func (k *Keyring) Adopt(e ExistingKey) (*Key, error) {
	kc, err := k.newEntry(e.Name)
	if err != nil {
		return nil, err
	}
	kc.ID = hex.EncodeToString(e.ID)
	if _, err := kc.IDBytes(); err != nil {
		return nil, fmt.Errorf("adopt key %q: %w", e.Name, err)
	}
	if err := k.checkUnused(e.ID); err != nil {
		return nil, err
	}
	info, warnings, err := k.inspect(e)
	if err != nil {
		return nil, err
	}
	priv, err := k.tok.Key(e.ID)
	if err != nil {
		return nil, fmt.Errorf("adopt key %q: %w", e.Name, err)
	}
	kc.Type = string(info.Type)
	n := NewKey{Name: e.Name, Type: info.Type, UserID: e.UserID, Created: e.Created, Expires: e.Expires}
	if err := k.record(n, kc, priv); err != nil {
		return nil, err
	}
	// Warnings only now: a failure says one thing, the reason.
	for _, w := range warnings {
		if e.Warn != nil {
			e.Warn(fmt.Sprintf("key %q (id %x): %s", e.Name, e.ID, w))
		}
	}
	return k.Key(e.Name)
}

// inspect reads what the token says of key e.ID and judges it with
// [Adoptable].
func (k *Keyring) inspect(e ExistingKey) (token.KeyInfo, []string, error) {
	info, err := k.tok.KeyInfo(e.ID)
	if errors.Is(err, token.ErrKeyNotFound) {
		return info, nil, fmt.Errorf("adopt key %q: %w; list the private keys with "+
			"'pkcs11-tool --module MODULE --login --list-objects --type privkey'", e.Name, err)
	}
	if err != nil {
		return info, nil, fmt.Errorf("adopt key %q: %w", e.Name, err)
	}
	warnings, err := Adoptable(info)
	if err != nil {
		return info, nil, fmt.Errorf("adopt key %q (id %x): %w", e.Name, e.ID, err)
	}
	return info, warnings, nil
}

// checkUnused refuses an id the config already names: two names for one
// key would be two certificates with different fingerprints.
func (k *Keyring) checkUnused(id []byte) error {
	for _, name := range k.cfg.KeyNames() {
		other, err := k.cfg.Keys[name].IDBytes()
		if err == nil && bytes.Equal(other, id) {
			return fmt.Errorf("key id %x is already configured as key %q in %s", id, name, k.cfg.Path())
		}
	}
	return nil
}

// Adoptable decides whether signstar may sign with a key it did not
// generate. It refuses a key whose secret may leave the token, one that
// may not sign, one that needs the PIN before every signature, and one of
// a type signstar does not support. What it allows but would not have
// generated comes back as warnings.
func Adoptable(info token.KeyInfo) (warnings []string, err error) {
	switch {
	case info.Extractable:
		return nil, errors.New("the token lets its private key be exported (CKA_EXTRACTABLE true); " +
			"adopt only keys whose secret cannot leave the token, or let 'signstar key generate' make one")
	case !info.Sensitive:
		return nil, errors.New("the token reveals its private key's value (CKA_SENSITIVE false); " +
			"adopt only keys whose secret cannot leave the token, or let 'signstar key generate' make one")
	case !info.Sign:
		return nil, errors.New("the token does not let the key sign (CKA_SIGN false)")
	case info.AlwaysAuthenticate:
		return nil, errors.New("the token wants the PIN again before every signature (CKA_ALWAYS_AUTHENTICATE), " +
			"which signstar does not do; on a YubiKey that is PIV slot 9c's default PIN policy: " +
			"use slot 9a, or make the key with 'ykman piv keys generate --pin-policy ONCE'")
	case info.Type == "":
		return nil, fmt.Errorf("the key is %s; signstar signs with %s", info.Algorithm, token.JoinKeyTypes(token.KeyTypes(), ", "))
	}
	if uses := otherUses(info); len(uses) > 0 {
		warnings = append(warnings, fmt.Sprintf("the token also lets it %s; signstar only signs with it, "+
			"but anyone with the PIN can do more", strings.Join(uses, ", ")))
	}
	if !info.Local || !info.AlwaysSensitive || !info.NeverExtractable {
		warnings = append(warnings, "the key was not generated on the token, or could once be exported "+
			"(CKA_LOCAL, CKA_ALWAYS_SENSITIVE or CKA_NEVER_EXTRACTABLE false): copies of it may exist elsewhere")
	}
	if !info.Private {
		warnings = append(warnings, "the token lets it be used without logging in (CKA_PRIVATE false)")
	}
	return warnings, nil
}

// otherUses lists what else than signing the token lets a key do.
func otherUses(info token.KeyInfo) []string {
	var uses []string
	for _, u := range []struct {
		ok   bool
		what string
	}{
		{info.Decrypt, "decrypt (CKA_DECRYPT)"},
		{info.Unwrap, "unwrap keys (CKA_UNWRAP)"},
		{info.Derive, "derive keys (CKA_DERIVE)"},
	} {
		if u.ok {
			uses = append(uses, u.what)
		}
	}
	return uses
}
