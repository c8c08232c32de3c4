package token

import (
	"crypto"
	"crypto/elliptic"
	"errors"
	"fmt"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"
)

// Generate creates a key pair of type typ on the token, with CKA_ID id and
// CKA_LABEL label on both halves. The private key is a private, sensitive,
// never extractable token object that may sign and do nothing else; the
// public key may only verify. An id already used by a private key on the
// token is refused, so [Token.Key] always finds one key.
func (t *Token) Generate(id []byte, label string, typ KeyType) (crypto.Signer, error) {
	if len(id) == 0 {
		return nil, fmt.Errorf("generate %s key on %s: empty id", typ, t.name)
	}
	what := fmt.Sprintf("generate %s key %x on %s", typ, id, t.name)
	if t.closed.Load() {
		return nil, fmt.Errorf("%s: %v", what, errClosed)
	}
	if err := t.checkKeyType(typ); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	switch _, _, err := t.findPrivate(id); {
	case err == nil:
		return nil, fmt.Errorf("%s: a private key with that id exists", what)
	case !errors.Is(err, ErrKeyNotFound):
		return nil, err
	}
	s, err := t.generate(id, label, typ)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", what, ckr(err))
	}
	return s, nil
}

func (t *Token) generate(id []byte, label string, typ KeyType) (crypto.Signer, error) {
	pub, priv := keyTemplates(id, label)
	if t.tpm2 {
		pub = tpm2PublicTemplate(pub)
	}
	switch typ {
	case Ed25519:
		return t.generateEd25519(id, pub, priv)
	case RSA3072:
		return t.generateRSA(id, pub, priv, 3072)
	case RSA4096:
		return t.generateRSA(id, pub, priv, 4096)
	case P256:
		return t.generateECDSA(id, pub, priv, elliptic.P256())
	case P384:
		return t.generateECDSA(id, pub, priv, elliptic.P384())
	}
	return nil, fmt.Errorf("unknown key type %q", typ)
}

// keyTemplates returns the attributes of both halves of a signing key
// pair. Every usage flag is given, true or false, rather than left to
// defaults that differ between tokens (PKCS#11 v3.0 base specification
// sections 4.7 to 4.9: key, public key and private key objects). Section
// 4.9 lets CKA_SENSITIVE only become true and CKA_EXTRACTABLE only become
// false, so the private key cannot be made exportable later.
func keyTemplates(id []byte, label string) (pub, priv []*pkcs11.Attribute) {
	common := func(class uint) []*pkcs11.Attribute {
		return []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, class),
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
			pkcs11.NewAttribute(pkcs11.CKA_ID, id),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
			pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
		}
	}
	pub = append(common(pkcs11.CKO_PUBLIC_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY_RECOVER, false),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, false),
	)
	priv = append(common(pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN_RECOVER, false),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
	)
	return pub, priv
}

func (t *Token) generateRSA(id []byte, pub, priv []*pkcs11.Attribute, bits int) (crypto.Signer, error) {
	pub = append(pub, pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}))
	k, err := t.c11.GenerateRSAKeyPairWithAttributes(attributeSet(pub), attributeSet(priv), bits)
	if err != nil {
		return nil, err
	}
	if !t.tpm2 {
		return &c11Signer{t: t, id: id, s: k}, nil
	}
	h, _, err := t.findPrivate(id)
	if err != nil {
		return nil, err
	}
	return t.signer(id, h, k)
}

func (t *Token) generateECDSA(id []byte, pub, priv []*pkcs11.Attribute, c elliptic.Curve) (crypto.Signer, error) {
	k, err := t.c11.GenerateECDSAKeyPairWithAttributes(attributeSet(pub), attributeSet(priv), c)
	if err != nil {
		return nil, err
	}
	return &c11Signer{t: t, id: id, s: k}, nil
}

// attributeSet converts a template for crypto11, which adds its defaults
// only where we set nothing.
func attributeSet(template []*pkcs11.Attribute) crypto11.AttributeSet {
	s := crypto11.NewAttributeSet()
	for _, a := range template {
		s[a.Type] = a
	}
	return s
}

// tpm2PublicTemplate adapts the public half's usage flags to tpm2-pkcs11
// 1.9, which maps them onto the one TPM object both halves share:
// CKA_VERIFY onto TPMA_OBJECT_DECRYPT ("verify is same as decrypt") and
// CKA_ENCRYPT onto TPMA_OBJECT_SIGN_ENCRYPT, and then refuses the pair
// (CKR_GENERAL_ERROR, "User specified and TPM specified attr mismatch:
// 0x10a") unless the template agrees with the object it made. A sign-only
// TPM key (SIGN_ENCRYPT without DECRYPT) therefore needs CKA_VERIFY false
// and CKA_ENCRYPT true on the public half. Neither loosens anything:
// signatures are verified in Go, and encrypting to a public key is no
// secret operation. The private half keeps CKA_DECRYPT false, so the TPM
// refuses to decrypt with it.
func tpm2PublicTemplate(pub []*pkcs11.Attribute) []*pkcs11.Attribute {
	out := make([]*pkcs11.Attribute, 0, len(pub))
	for _, a := range pub {
		switch a.Type {
		case pkcs11.CKA_VERIFY:
			a = pkcs11.NewAttribute(pkcs11.CKA_VERIFY, false)
		case pkcs11.CKA_ENCRYPT:
			a = pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, true)
		}
		out = append(out, a)
	}
	return out
}
