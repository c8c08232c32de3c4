package token

import (
	"crypto"
	"crypto/rsa"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"
)

var errClosed = errors.New("token closed")

// Key finds the private key with CKA_ID id. The signer's Public is read
// from the token's public key object with the same CKA_ID. It returns an
// error wrapping [ErrKeyNotFound] if no private key has that id.
func (t *Token) Key(id []byte) (crypto.Signer, error) {
	if t.closed.Load() {
		return nil, fmt.Errorf("find key %x: %v", id, errClosed)
	}
	h, kt, err := t.findPrivate(id)
	if err != nil {
		return nil, err
	}
	// CKA_KEY_TYPE decides who signs: crypto11 knows RSA and EC keys but
	// not CKK_EC_EDWARDS, which PKCS#11 v3.0 added.
	switch kt {
	case ckkECEdwards:
		return t.ed25519Key(id, h)
	case pkcs11.CKK_RSA, pkcs11.CKK_EC:
		k, err := t.c11.FindKeyPair(id, nil)
		if err != nil {
			return nil, fmt.Errorf("find key %x on %s: %s", id, t.name, ckr(err))
		}
		return t.signer(id, h, k)
	}
	return nil, fmt.Errorf("find key %x on %s: unsupported key type 0x%X", id, t.name, kt)
}

// signer returns the signer of a crypto11 key pair: a msgKey for RSA on
// tpm2-pkcs11, else crypto11's signer behind our checks.
func (t *Token) signer(id []byte, h pkcs11.ObjectHandle, k crypto11.Signer) (crypto.Signer, error) {
	pub, ok := k.Public().(*rsa.PublicKey)
	if !t.tpm2 || !ok {
		return &c11Signer{t: t, id: id, s: k}, nil
	}
	return &msgKey{t: t, id: id, h: h, pub: pub}, nil
}

// findPrivate returns the handle and CKA_KEY_TYPE of the only private key
// with CKA_ID id.
func (t *Token) findPrivate(id []byte) (pkcs11.ObjectHandle, uint, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	hs, err := t.findObjects(
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id))
	switch {
	case err != nil:
		return 0, 0, fmt.Errorf("find key %x on %s: %s", id, t.name, ckr(err))
	case len(hs) == 0:
		return 0, 0, errorf(ErrKeyNotFound, "find key %x: not on %s", id, t.name)
	case len(hs) > 1:
		return 0, 0, fmt.Errorf("find key %x on %s: several private keys have that id", id, t.name)
	}
	kt, err := t.ulong(hs[0], pkcs11.CKA_KEY_TYPE)
	if err != nil {
		return 0, 0, fmt.Errorf("find key %x on %s: read key type: %s", id, t.name, ckr(err))
	}
	return hs[0], kt, nil
}

// findObjects returns up to two objects matching template: enough to tell
// one from several. Callers hold t.mu.
func (t *Token) findObjects(template ...*pkcs11.Attribute) ([]pkcs11.ObjectHandle, error) {
	if !t.hasSession {
		return nil, errClosed
	}
	if err := t.mod.FindObjectsInit(t.session, template); err != nil {
		return nil, err
	}
	hs, _, err := t.mod.FindObjects(t.session, 2)
	if ferr := t.mod.FindObjectsFinal(t.session); err == nil {
		err = ferr
	}
	return hs, err
}

// ulong reads a CK_ULONG attribute, which the token returns in host byte
// order and size. Callers hold t.mu.
func (t *Token) ulong(h pkcs11.ObjectHandle, typ uint) (uint, error) {
	a, err := t.mod.GetAttributeValue(t.session, h, []*pkcs11.Attribute{pkcs11.NewAttribute(typ, nil)})
	if err != nil {
		return 0, err
	}
	switch v := a[0].Value; len(v) {
	case 8:
		return uint(binary.NativeEndian.Uint64(v)), nil
	case 4:
		return uint(binary.NativeEndian.Uint32(v)), nil
	}
	return 0, fmt.Errorf("attribute 0x%X is %d bytes, not a CK_ULONG", typ, len(a[0].Value))
}
