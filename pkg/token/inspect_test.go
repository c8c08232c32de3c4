package token_test

import (
	"errors"
	"maps"
	"testing"

	"github.com/miekg/pkcs11"

	"signstar/internal/tokentest"
	"signstar/pkg/token"
)

// CKA_EC_PARAMS of curves for makeKey: DER OIDs (RFC 5480 section 2.1.1.1,
// SEC 2) and the PrintableString form PKCS#11 v3.0 allows for Edwards curves.
var (
	p256Params      = mustHex("06082a8648ce3d030107")
	p521Params      = mustHex("06052b81040023")
	secp256k1Params = mustHex("06052b8104000a")
	edwards25519    = append([]byte{0x13, 0x0c}, "edwards25519"...)
)

// makeKey generates a key pair on s's token as another tool would, through
// a session of its own: a private, sensitive, non-extractable token key
// that may sign and do nothing else, unless set says otherwise. Every
// flag is given: SoftHSM2's defaults differ from signstar's.
func makeKey(t *testing.T, s *tokentest.SoftHSM, id byte, mech uint, pub []*pkcs11.Attribute, set map[uint]bool) {
	t.Helper()
	withSession(t, s, func(ctx *pkcs11.Ctx, ro pkcs11.SessionHandle, _ pkcs11.TokenInfo) {
		// withSession's session is read-only; a read-write one on the
		// same slot shares its login (PKCS#11 v3.0 section 5.6).
		info, err := ctx.GetSessionInfo(ro)
		if err != nil {
			t.Fatal(err)
		}
		session, err := ctx.OpenSession(info.SlotID, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
		if err != nil {
			t.Fatal(err)
		}
		defer ctx.CloseSession(session)
		pub = append([]*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
			pkcs11.NewAttribute(pkcs11.CKA_ID, []byte{id}),
			pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
		}, pub...)
		flags := map[uint]bool{
			pkcs11.CKA_TOKEN: true, pkcs11.CKA_PRIVATE: true, pkcs11.CKA_SIGN: true,
			pkcs11.CKA_SENSITIVE: true, pkcs11.CKA_EXTRACTABLE: false, pkcs11.CKA_ALWAYS_AUTHENTICATE: false,
			pkcs11.CKA_DECRYPT: false, pkcs11.CKA_UNWRAP: false, pkcs11.CKA_DERIVE: false,
		}
		maps.Copy(flags, set)
		priv := []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_ID, []byte{id})}
		for typ, v := range flags {
			priv = append(priv, pkcs11.NewAttribute(typ, v))
		}
		m := []*pkcs11.Mechanism{pkcs11.NewMechanism(mech, nil)}
		if _, _, err := ctx.GenerateKeyPair(session, m, pub, priv); err != nil {
			t.Fatalf("generate key %x: %v", id, err)
		}
	})
}

func rsaBits(bits int) []*pkcs11.Attribute {
	return []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_MODULUS_BITS, bits),
		pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}),
	}
}

func ecParams(p []byte) []*pkcs11.Attribute {
	return []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, p)}
}

// TestKeyInfo reads keys made by Generate, by an import and by "another
// tool" (a plain PKCS#11 session) with every attribute KeyInfo reports.
func TestKeyInfo(t *testing.T) {
	s := newSoftHSM(t)
	tok := open(t, options(s))
	if _, err := tok.Generate([]byte{1}, "generated", token.P384); err != nil {
		t.Fatal(err)
	}
	tokentest.ImportEd25519(t, s, []byte{2}, "imported", rfc8032Seed)
	makeKey(t, s, 3, pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, rsaBits(2048), map[uint]bool{pkcs11.CKA_EXTRACTABLE: true, pkcs11.CKA_DECRYPT: true})
	makeKey(t, s, 4, pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, rsaBits(3072), map[uint]bool{pkcs11.CKA_SENSITIVE: false})
	makeKey(t, s, 5, pkcs11.CKM_EC_KEY_PAIR_GEN, ecParams(p521Params), map[uint]bool{pkcs11.CKA_DERIVE: true, pkcs11.CKA_ALWAYS_AUTHENTICATE: true})
	makeKey(t, s, 6, pkcs11.CKM_EC_KEY_PAIR_GEN, ecParams(secp256k1Params), map[uint]bool{pkcs11.CKA_UNWRAP: true, pkcs11.CKA_PRIVATE: false})
	makeKey(t, s, 7, pkcs11.CKM_EC_KEY_PAIR_GEN, ecParams(p256Params), nil)
	makeKey(t, s, 8, 0x1055 /* CKM_EC_EDWARDS_KEY_PAIR_GEN */, ecParams(edwards25519), nil)

	// onToken is a key made on the token that never left it.
	onToken := token.KeyInfo{Sensitive: true, AlwaysSensitive: true, NeverExtractable: true, Local: true, Private: true, Sign: true}
	tests := []struct {
		name string
		id   byte
		want func(k *token.KeyInfo)
	}{
		{"Generate p384", 1, func(k *token.KeyInfo) { k.Type, k.Algorithm = token.P384, "EC P-384" }},
		{"imported ed25519", 2, func(k *token.KeyInfo) {
			k.Type, k.Algorithm = token.Ed25519, "Ed25519"
			k.AlwaysSensitive, k.NeverExtractable, k.Local = false, false, false
		}},
		{"extractable rsa2048", 3, func(k *token.KeyInfo) {
			k.Algorithm = "RSA 2048"
			k.Extractable, k.NeverExtractable, k.Decrypt = true, false, true
		}},
		{"not sensitive rsa3072", 4, func(k *token.KeyInfo) {
			k.Type, k.Algorithm = token.RSA3072, "RSA 3072"
			k.Sensitive, k.AlwaysSensitive = false, false
		}},
		{"always authenticate p521", 5, func(k *token.KeyInfo) {
			k.Algorithm = "EC P-521"
			k.Derive, k.AlwaysAuthenticate = true, true
		}},
		{"secp256k1 unwrap public", 6, func(k *token.KeyInfo) { k.Algorithm, k.Unwrap, k.Private = "EC secp256k1", true, false }},
		{"other tool p256", 7, func(k *token.KeyInfo) { k.Type, k.Algorithm = token.P256, "EC P-256" }},
		{"ed25519 by name", 8, func(k *token.KeyInfo) { k.Type, k.Algorithm = token.Ed25519, "Ed25519" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := onToken
			tt.want(&want)
			got, err := tok.KeyInfo([]byte{tt.id})
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("KeyInfo =\n%+v, want\n%+v", got, want)
			}
		})
	}
}

func TestKeyInfoErrors(t *testing.T) {
	s := newSoftHSM(t)
	tok, err := token.Open(options(s))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tok.KeyInfo([]byte{0x0a}); !errors.Is(err, token.ErrKeyNotFound) {
		t.Errorf("KeyInfo of a missing key: %v, want ErrKeyNotFound", err)
	}
	if _, err := tok.Generate([]byte{1}, "k", token.P256); err != nil {
		t.Fatal(err)
	}
	tok.Close()
	if _, err := tok.KeyInfo([]byte{1}); err == nil {
		t.Error("KeyInfo after Close succeeded")
	}
}
