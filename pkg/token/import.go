package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"

	"github.com/miekg/pkcs11"
)

// Secret is private key material to put on the token, big-endian:
// Seed for Ed25519; D for ECDSA (the scalar, the curve order's length);
// D, P, Q, DP, DQ and QInv (q^-1 mod p) for RSA, as PKCS#1 names them.
// The caller owns and wipes it; Import makes no lasting copy, though
// miekg/pkcs11 copies each attribute into C memory it frees (unzeroed)
// when C_CreateObject returns.
type Secret struct {
	Seed                  []byte
	D, P, Q, DP, DQ, QInv []byte
}

// ErrDuplicate is wrapped by [Token.Import]'s refusal of a key that is on
// the token already, under the same CKA_ID or with the same public key.
var ErrDuplicate = errors.New("already on the token")

// Import creates a signing key pair from pub and its secret with
// C_CreateObject (PKCS#11 v3.0 base specification section 5.7), with the
// attributes [Token.Generate] gives: the private key a private, sensitive,
// non-extractable token object that may only sign. The token marks it
// CKA_LOCAL, CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE false, which
// is true: the secret was outside it. Import refuses, wrapping
// [ErrDuplicate], an id a private key has or a public key the token
// holds; it signs once with the new key, and removes both objects if
// anything fails.
func (t *Token) Import(id []byte, label string, pub crypto.PublicKey, s Secret) (crypto.Signer, error) {
	what := fmt.Sprintf("import key %x on %s", id, t.name)
	if len(id) == 0 {
		return nil, fmt.Errorf("%s: empty id", what)
	}
	if t.closed.Load() {
		return nil, fmt.Errorf("%s: %v", what, errClosed)
	}
	pubT, privT, err := importTemplates(id, label, pub, s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := t.checkNew(id, pubT); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if t.tpm2 {
		pubT = tpm2PublicTemplate(pubT)
	}
	if err := t.createPair(pubT, privT); err != nil {
		return nil, fmt.Errorf("%s: %s", what, ckr(err))
	}
	k, err := t.probe(id, pub)
	if err != nil {
		if derr := t.Delete(id); derr != nil {
			return nil, fmt.Errorf("%s: %v (and %v)", what, err, derr)
		}
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	return k, nil
}

// importTemplates are [keyTemplates] with the key type and material.
func importTemplates(id []byte, label string, pub crypto.PublicKey, s Secret) (pubT, privT []*pkcs11.Attribute, err error) {
	pubT, privT = keyTemplates(id, label)
	var pubA, privA []*pkcs11.Attribute
	switch k := pub.(type) {
	case ed25519.PublicKey:
		pubA, privA, err = ed25519Attributes(k, s)
	case *ecdsa.PublicKey:
		pubA, privA, err = ecdsaAttributes(k, s)
	case *rsa.PublicKey:
		pubA, privA, err = rsaAttributes(k, s)
	default:
		err = fmt.Errorf("unsupported public key type %T", pub)
	}
	return append(pubT, pubA...), append(privT, privA...), err
}

// ed25519Attributes: CKA_EC_PARAMS as Generate writes it, CKA_EC_POINT a
// DER OCTET STRING as SoftHSM2 writes it for keys it generates, and the
// private CKA_VALUE the raw 32-byte seed (PKCS#11 v3.0 Current Mechanisms
// section 2.3.6; SoftHSM2 2.6.1 takes an OCTET STRING there too, but
// then fails C_Sign).
func ed25519Attributes(pub ed25519.PublicKey, s Secret) (pubA, privA []*pkcs11.Attribute, err error) {
	if len(pub) != ed25519.PublicKeySize || len(s.Seed) != ed25519.SeedSize {
		return nil, nil, fmt.Errorf("ed25519 key of %d and seed of %d bytes, want %d and %d", len(pub), len(s.Seed), ed25519.PublicKeySize, ed25519.SeedSize)
	}
	common := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, ckkECEdwards),
		pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, ed25519OID),
	}
	pubA = append(common, pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, octetString(pub)))
	privA = append(common[:2:2], pkcs11.NewAttribute(pkcs11.CKA_VALUE, s.Seed))
	return pubA, privA, nil
}

// ecdsaAttributes: CKA_EC_PARAMS the curve's OID, CKA_EC_POINT the
// uncompressed point in a DER OCTET STRING (X9.62, PKCS#11 v3.0 Current
// Mechanisms section 2.3.3), the private CKA_VALUE the scalar d.
func ecdsaAttributes(pub *ecdsa.PublicKey, s Secret) (pubA, privA []*pkcs11.Attribute, err error) {
	var params []byte
	switch pub.Curve {
	case elliptic.P256():
		params = p256OID
	case elliptic.P384():
		params = p384OID
	default:
		return nil, nil, fmt.Errorf("unsupported curve %s", pub.Curve.Params().Name)
	}
	if len(s.D) != (pub.Curve.Params().BitSize+7)/8 {
		return nil, nil, fmt.Errorf("ecdsa scalar of %d bytes for %s", len(s.D), pub.Curve.Params().Name)
	}
	point, err := pub.Bytes()
	if err != nil {
		return nil, nil, fmt.Errorf("encode ecdsa point: %w", err)
	}
	common := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_EC),
		pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, params),
	}
	pubA = append(common, pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, octetString(point)))
	privA = append(common[:2:2], pkcs11.NewAttribute(pkcs11.CKA_VALUE, s.D))
	return pubA, privA, nil
}

// rsaAttributes: the public key's modulus and exponent on both halves,
// the private key's CRT values too (PKCS#11 v3.0 Current Mechanisms
// section 2.1.3), which tokens use to sign.
func rsaAttributes(pub *rsa.PublicKey, s Secret) (pubA, privA []*pkcs11.Attribute, err error) {
	for _, v := range [][]byte{s.D, s.P, s.Q, s.DP, s.DQ, s.QInv} {
		if len(v) == 0 {
			return nil, nil, errors.New("rsa key without its private exponent, primes and CRT values")
		}
	}
	common := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA),
		pkcs11.NewAttribute(pkcs11.CKA_MODULUS, pub.N.Bytes()),
		pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, big.NewInt(int64(pub.E)).Bytes()),
	}
	privA = append(common[:3:3],
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE_EXPONENT, s.D),
		pkcs11.NewAttribute(pkcs11.CKA_PRIME_1, s.P),
		pkcs11.NewAttribute(pkcs11.CKA_PRIME_2, s.Q),
		pkcs11.NewAttribute(pkcs11.CKA_EXPONENT_1, s.DP),
		pkcs11.NewAttribute(pkcs11.CKA_EXPONENT_2, s.DQ),
		pkcs11.NewAttribute(pkcs11.CKA_COEFFICIENT, s.QInv),
	)
	return common, privA, nil
}

// octetString DER-encodes b, shorter than 128 bytes, as an OCTET STRING.
func octetString(b []byte) []byte { return append([]byte{0x04, byte(len(b))}, b...) }

// checkNew refuses an id a private key has, and a public key the token
// holds under any id: the key's public attributes (modulus or point)
// searched for among public key objects, the point also unwrapped as some
// tokens store it (see parseEdPoint), and an RSA modulus among private
// keys, which carry it.
func (t *Token) checkNew(id []byte, pubT []*pkcs11.Attribute) error {
	switch _, _, err := t.findPrivate(id); {
	case err == nil:
		return fmt.Errorf("%w: a private key has id %x", ErrDuplicate, id)
	case !errors.Is(err, ErrKeyNotFound):
		return err
	}
	for _, q := range duplicateQueries(pubT) {
		if err := t.refuseFound(q); err != nil {
			return err
		}
	}
	return nil
}

// refuseFound returns an error wrapping [ErrDuplicate], naming its
// CKA_ID, if an object matches q.
func (t *Token) refuseFound(q []*pkcs11.Attribute) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	hs, err := t.findObjects(q...)
	if err != nil {
		return fmt.Errorf("look for the key on the token: %s", ckr(err))
	}
	if len(hs) == 0 {
		return nil
	}
	id, _, err := t.attribute(hs[0], pkcs11.CKA_ID)
	if err != nil {
		return fmt.Errorf("read the id of the key on the token: %s", ckr(err))
	}
	return fmt.Errorf("%w: the token holds this key under id %x", ErrDuplicate, id)
}

// duplicateQueries are the templates that find the key pubT describes.
func duplicateQueries(pubT []*pkcs11.Attribute) [][]*pkcs11.Attribute {
	var qs [][]*pkcs11.Attribute
	for _, a := range pubT {
		switch a.Type {
		case pkcs11.CKA_MODULUS:
			for _, class := range []uint{pkcs11.CKO_PUBLIC_KEY, pkcs11.CKO_PRIVATE_KEY} {
				qs = append(qs, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, class), a})
			}
		case pkcs11.CKA_EC_POINT:
			for _, v := range [][]byte{a.Value, a.Value[2:]} {
				qs = append(qs, []*pkcs11.Attribute{
					pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY),
					pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, v)})
			}
		}
	}
	return qs
}

// createPair creates the public, then the private key object, and
// removes the public one if the private one cannot be made.
func (t *Token) createPair(pubT, privT []*pkcs11.Attribute) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.hasSession {
		return errClosed
	}
	ph, err := t.mod.CreateObject(t.session, pubT)
	if err != nil {
		return err
	}
	if _, err := t.mod.CreateObject(t.session, privT); err != nil {
		t.mod.DestroyObject(t.session, ph)
		return err
	}
	return nil
}

// probe finds the new key as [Token.Key] would, checks that the token
// reads its public key back as pub, and signs once: a key the token
// stored but cannot use is found now, not at the first release.
func (t *Token) probe(id []byte, pub crypto.PublicKey) (crypto.Signer, error) {
	k, err := t.Key(id)
	if err != nil {
		return nil, err
	}
	if eq, ok := k.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(pub) {
		return nil, errors.New("the token reads back another public key than was imported")
	}
	msg, opts := []byte("signstar key import"), crypto.SignerOpts(crypto.Hash(0))
	if _, ok := pub.(ed25519.PublicKey); !ok {
		d := sha256.Sum256(msg)
		msg, opts = d[:], crypto.SHA256
	}
	if _, err := k.Sign(nil, msg, opts); err != nil {
		return nil, fmt.Errorf("sign with the imported key: %v", err)
	}
	return k, nil
}
