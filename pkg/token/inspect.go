package token

import (
	"bytes"
	"encoding/asn1"
	"fmt"
	"math/big"

	"github.com/miekg/pkcs11"
)

// KeyInfo is what the token says about a private key that signstar did not
// generate: its algorithm, who may see its secret, and what else it may
// do. [Token.KeyInfo] reads it; deciding what to accept is the caller's.
type KeyInfo struct {
	// Type is the key's type, or "" when signstar cannot sign with it;
	// Algorithm then says what it is ("RSA 2048", "EC secp521r1").
	Type      KeyType
	Algorithm string

	// CKA_SENSITIVE and CKA_EXTRACTABLE: whether the secret may leave
	// the token, in plaintext or wrapped (PKCS#11 v3.0 base
	// specification section 4.9).
	Sensitive, Extractable bool
	// CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE and CKA_LOCAL: whether
	// the secret was ever outside the token: imported, or once
	// exportable.
	AlwaysSensitive, NeverExtractable, Local bool
	// CKA_PRIVATE: the key can only be found and used after login.
	Private bool
	// CKA_ALWAYS_AUTHENTICATE: the token wants the PIN again before each
	// signature (section 4.9 and 5.1.6, CKU_CONTEXT_SPECIFIC).
	AlwaysAuthenticate bool
	// Usage flags beyond signing.
	Sign, Decrypt, Unwrap, Derive bool
}

// KeyInfo reads the attributes of the private key with CKA_ID id. It
// returns an error wrapping [ErrKeyNotFound] if there is none. Attributes
// the token does not know (CKA_ALWAYS_AUTHENTICATE came with PKCS#11
// v2.20) read as false, except CKA_SENSITIVE and CKA_EXTRACTABLE: a key
// whose token cannot say whether its secret may leave is an error.
func (t *Token) KeyInfo(id []byte) (KeyInfo, error) {
	what := fmt.Sprintf("inspect key %x on %s", id, t.name)
	if t.closed.Load() {
		return KeyInfo{}, fmt.Errorf("%s: %v", what, errClosed)
	}
	h, kt, err := t.findPrivate(id)
	if err != nil {
		return KeyInfo{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.hasSession {
		return KeyInfo{}, fmt.Errorf("%s: %v", what, errClosed)
	}
	info, err := t.keyInfo(h, kt)
	if err != nil {
		return KeyInfo{}, fmt.Errorf("%s: %v", what, err)
	}
	return info, nil
}

// keyInfo reads the attributes of private key h of CKA_KEY_TYPE kt.
// Callers hold t.mu.
func (t *Token) keyInfo(h pkcs11.ObjectHandle, kt uint) (KeyInfo, error) {
	var info KeyInfo
	var err error
	for _, b := range []struct {
		typ      uint
		name     string
		v        *bool
		required bool
	}{
		{pkcs11.CKA_SENSITIVE, "CKA_SENSITIVE", &info.Sensitive, true},
		{pkcs11.CKA_EXTRACTABLE, "CKA_EXTRACTABLE", &info.Extractable, true},
		{pkcs11.CKA_ALWAYS_SENSITIVE, "CKA_ALWAYS_SENSITIVE", &info.AlwaysSensitive, false},
		{pkcs11.CKA_NEVER_EXTRACTABLE, "CKA_NEVER_EXTRACTABLE", &info.NeverExtractable, false},
		{pkcs11.CKA_LOCAL, "CKA_LOCAL", &info.Local, false},
		{pkcs11.CKA_PRIVATE, "CKA_PRIVATE", &info.Private, false},
		{pkcs11.CKA_ALWAYS_AUTHENTICATE, "CKA_ALWAYS_AUTHENTICATE", &info.AlwaysAuthenticate, false},
		{pkcs11.CKA_SIGN, "CKA_SIGN", &info.Sign, false},
		{pkcs11.CKA_DECRYPT, "CKA_DECRYPT", &info.Decrypt, false},
		{pkcs11.CKA_UNWRAP, "CKA_UNWRAP", &info.Unwrap, false},
		{pkcs11.CKA_DERIVE, "CKA_DERIVE", &info.Derive, false},
	} {
		v, ok, err := t.attribute(h, b.typ)
		switch {
		case err != nil:
			return KeyInfo{}, fmt.Errorf("read %s: %s", b.name, ckr(err))
		case b.required && !ok:
			return KeyInfo{}, fmt.Errorf("the token does not say %s", b.name)
		case b.required && len(v) != 1:
			return KeyInfo{}, fmt.Errorf("%s is %d bytes, not a CK_BBOOL", b.name, len(v))
		}
		*b.v = len(v) == 1 && v[0] != 0 // CK_BBOOL
	}
	info.Type, info.Algorithm, err = t.algorithm(h, kt)
	return info, err
}

// attribute reads one attribute of object h. ok is false if the object
// has no such attribute (CKR_ATTRIBUTE_TYPE_INVALID) or its value is
// secret (CKR_ATTRIBUTE_SENSITIVE). Attributes are read one at a time
// because miekg/pkcs11 returns no values at all when one of several is
// missing. Callers hold t.mu.
func (t *Token) attribute(h pkcs11.ObjectHandle, typ uint) (v []byte, ok bool, err error) {
	a, err := t.mod.GetAttributeValue(t.session, h, []*pkcs11.Attribute{pkcs11.NewAttribute(typ, nil)})
	switch {
	case isCKR(err, pkcs11.CKR_ATTRIBUTE_TYPE_INVALID), isCKR(err, pkcs11.CKR_ATTRIBUTE_SENSITIVE):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	return a[0].Value, true, nil
}

// algorithm names private key h's algorithm from its CKA_KEY_TYPE kt and
// the attributes a private key object carries in the clear: CKA_MODULUS
// for RSA, CKA_EC_PARAMS for EC and Edwards curves (PKCS#11 v3.0 Current
// Mechanisms sections 2.1.3, 2.3.4, 2.3.6). Callers hold t.mu.
func (t *Token) algorithm(h pkcs11.ObjectHandle, kt uint) (KeyType, string, error) {
	attr, name := uint(pkcs11.CKA_EC_PARAMS), "CKA_EC_PARAMS"
	switch kt {
	case pkcs11.CKK_RSA:
		attr, name = pkcs11.CKA_MODULUS, "CKA_MODULUS"
	case pkcs11.CKK_EC, ckkECEdwards:
	default:
		typ, alg := algorithmOf(kt, nil)
		return typ, alg, nil
	}
	v, ok, err := t.attribute(h, attr)
	switch {
	case err != nil:
		return "", "", fmt.Errorf("read %s: %s", name, ckr(err))
	case !ok:
		return "", "", fmt.Errorf("read %s: the token does not give it", name)
	}
	typ, alg := algorithmOf(kt, v)
	return typ, alg, nil
}

// DER-encoded CKA_EC_PARAMS of the curves signstar signs with (RFC 5480
// section 2.1.1.1), and of Ed448 (RFC 8410 section 3), which it refuses.
var (
	p256OID   = []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}
	p384OID   = []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22}
	ed448OID  = []byte{0x06, 0x03, 0x2b, 0x65, 0x71}
	ed448Name = append([]byte{0x13, 0x0a}, "edwards448"...)
)

// curveNames name curves a token may hold that signstar cannot use, for
// messages.
var curveNames = map[string]string{
	"1.3.132.0.33":          "P-224",
	"1.3.132.0.35":          "P-521",
	"1.3.132.0.10":          "secp256k1",
	"1.3.36.3.3.2.8.1.1.7":  "brainpoolP256r1",
	"1.3.36.3.3.2.8.1.1.11": "brainpoolP384r1",
	"1.3.36.3.3.2.8.1.1.13": "brainpoolP512r1",
}

// algorithmOf returns the key type of a private key of CKA_KEY_TYPE kt
// whose CKA_MODULUS (RSA) or CKA_EC_PARAMS (EC, Edwards) is v, or "" and
// what the key is when signstar has no such type.
func algorithmOf(kt uint, v []byte) (KeyType, string) {
	switch kt {
	case pkcs11.CKK_RSA:
		bits := new(big.Int).SetBytes(v).BitLen()
		return map[int]KeyType{3072: RSA3072, 4096: RSA4096}[bits], fmt.Sprintf("RSA %d", bits)
	case pkcs11.CKK_EC:
		switch {
		case bytes.Equal(v, p256OID):
			return P256, "EC P-256"
		case bytes.Equal(v, p384OID):
			return P384, "EC P-384"
		}
		return "", "EC " + curveName(v)
	case ckkECEdwards:
		switch {
		case bytes.Equal(v, ed25519OID), bytes.Equal(v, ed25519Name):
			return Ed25519, "Ed25519"
		case bytes.Equal(v, ed448OID), bytes.Equal(v, ed448Name):
			return "", "Ed448"
		}
		return "", "EdDSA " + curveName(v)
	}
	return "", fmt.Sprintf("key type 0x%X", kt)
}

// curveName names the curve of CKA_EC_PARAMS v: a known name, the OID, or
// the bytes.
func curveName(v []byte) string {
	var oid asn1.ObjectIdentifier
	if rest, err := asn1.Unmarshal(v, &oid); err != nil || len(rest) != 0 {
		return fmt.Sprintf("curve with parameters %x", v)
	}
	if name, ok := curveNames[oid.String()]; ok {
		return name
	}
	return "curve " + oid.String()
}
