package token

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"fmt"
	"io"

	"github.com/miekg/pkcs11"
)

// PKCS#11 v3.0 values that miekg/pkcs11 v1.1.2, built from v2.40 headers,
// does not define.
const (
	ckkECEdwards           = 0x40   // CKK_EC_EDWARDS
	ckmECEdwardsKeyPairGen = 0x1055 // CKM_EC_EDWARDS_KEY_PAIR_GEN
	ckmEdDSA               = 0x1057 // CKM_EDDSA
)

// CKA_EC_PARAMS of an Ed25519 key. PKCS#11 v3.0 Current Mechanisms
// section 2.3.5 (Edwards public key objects) allows the curve as an OID or
// as the PrintableString "edwards25519". We write the OID id-Ed25519
// (1.3.101.112, RFC 8410 section 3), which SoftHSM2 2.6.1 accepts, and
// read either.
var (
	ed25519OID  = []byte{0x06, 0x03, 0x2b, 0x65, 0x70}
	ed25519Name = append([]byte{0x13, 0x0c}, "edwards25519"...)
)

// edKey is an Ed25519 private key on the token. crypto11 has no EdDSA, so
// it signs through our own session.
type edKey struct {
	t   *Token
	id  []byte
	h   pkcs11.ObjectHandle
	pub ed25519.PublicKey
}

func (t *Token) generateEd25519(id []byte, pub, priv []*pkcs11.Attribute) (crypto.Signer, error) {
	pub = append(pub,
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, ckkECEdwards),
		pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, ed25519OID))
	priv = append(priv, pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, ckkECEdwards))
	mech := []*pkcs11.Mechanism{pkcs11.NewMechanism(ckmECEdwardsKeyPairGen, nil)}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.hasSession {
		return nil, errClosed
	}
	ph, h, err := t.mod.GenerateKeyPair(t.session, mech, pub, priv)
	if err != nil {
		return nil, err
	}
	pk, err := t.edPublic(ph)
	if err != nil {
		return nil, err
	}
	return &edKey{t: t, id: id, h: h, pub: pk}, nil
}

// ed25519Key returns the signer for private key h, whose CKA_ID is id.
func (t *Token) ed25519Key(id []byte, h pkcs11.ObjectHandle) (crypto.Signer, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	hs, err := t.findObjects(
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, ckkECEdwards),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id))
	switch {
	case err != nil:
		return nil, fmt.Errorf("find public key %x on %s: %s", id, t.name, ckr(err))
	case len(hs) != 1:
		return nil, fmt.Errorf("find public key %x on %s: %d Ed25519 public keys have that id, want 1", id, t.name, len(hs))
	}
	pk, err := t.edPublic(hs[0])
	if err != nil {
		return nil, fmt.Errorf("find public key %x on %s: %s", id, t.name, ckr(err))
	}
	return &edKey{t: t, id: id, h: h, pub: pk}, nil
}

// edPublic reads the Ed25519 public key object h. Callers hold t.mu.
func (t *Token) edPublic(h pkcs11.ObjectHandle) (ed25519.PublicKey, error) {
	a, err := t.mod.GetAttributeValue(t.session, h, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, nil),
		pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, nil),
	})
	if err != nil {
		return nil, err
	}
	if p := a[0].Value; !bytes.Equal(p, ed25519OID) && !bytes.Equal(p, ed25519Name) {
		return nil, fmt.Errorf("not an Ed25519 key (CKA_EC_PARAMS %x)", p)
	}
	return parseEdPoint(a[1].Value)
}

// parseEdPoint decodes CKA_EC_POINT of an Ed25519 public key. PKCS#11 v3.0
// Current Mechanisms section 2.3.5 makes it the 32-byte RFC 8032 encoding,
// but SoftHSM2 2.6.1 (like several HSMs) wraps that in a DER OCTET STRING
// as X9.62 does for CKK_EC. The lengths differ, so both are unambiguous;
// anything else is refused.
func parseEdPoint(b []byte) (ed25519.PublicKey, error) {
	const n = ed25519.PublicKeySize
	switch {
	case len(b) == n:
	case len(b) == 2+n && b[0] == 0x04 && b[1] == n:
		b = b[2:]
	default:
		return nil, fmt.Errorf("CKA_EC_POINT is neither 32 bytes nor a DER OCTET STRING of 32 bytes: %x", b)
	}
	return ed25519.PublicKey(bytes.Clone(b)), nil
}

// Public returns the ed25519.PublicKey read from the token.
func (k *edKey) Public() crypto.PublicKey { return k.pub }

// Sign makes a pure Ed25519 signature of msg (RFC 8032 section 5.1.6).
// opts must be crypto.Hash(0), or *ed25519.Options without hash or
// context: Ed25519ph and Ed25519ctx are refused, as crypto/ed25519 would
// reject their signatures under the plain verification signstar promises.
func (k *edKey) Sign(_ io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	what := fmt.Sprintf("sign with Ed25519 key %x on %s", k.id, k.t.name)
	if err := checkEdOpts(opts); err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	sig, err := k.t.eddsa(k.h, msg)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", what, ckr(err))
	}
	if !ed25519.Verify(k.pub, msg, sig) {
		return nil, fmt.Errorf("%s: token returned a signature that does not verify", what)
	}
	return sig, nil
}

func checkEdOpts(opts crypto.SignerOpts) error {
	switch o, _ := opts.(*ed25519.Options); {
	case opts == nil:
		return fmt.Errorf("no signer options; pass crypto.Hash(0)")
	case opts.HashFunc() != 0:
		return fmt.Errorf("pre-hashed Ed25519ph not supported; pass the message with crypto.Hash(0)")
	case o != nil && o.Context != "":
		return fmt.Errorf("Ed25519ctx not supported")
	}
	return nil
}

// eddsa signs msg with CKM_EDDSA and no mechanism parameter, which selects
// pure Ed25519 for an edwards25519 key (PKCS#11 v3.0 Current Mechanisms
// section 2.3.14).
func (t *Token) eddsa(h pkcs11.ObjectHandle, msg []byte) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed.Load() || !t.hasSession {
		return nil, errClosed
	}
	mech := []*pkcs11.Mechanism{pkcs11.NewMechanism(ckmEdDSA, nil)}
	if err := t.mod.SignInit(t.session, mech, h); err != nil {
		return nil, err
	}
	return t.mod.Sign(t.session, msg)
}
