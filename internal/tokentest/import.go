package tokentest

import (
	"crypto/ed25519"
	"testing"

	"github.com/miekg/pkcs11"
)

// PKCS#11 v3.0 values that miekg/pkcs11 v1.1.2 does not define.
const ckkECEdwards = 0x40 // CKK_EC_EDWARDS

// id-Ed25519 (1.3.101.112, RFC 8410 section 3), DER-encoded, as package
// token writes CKA_EC_PARAMS.
var ed25519OID = []byte{0x06, 0x03, 0x2b, 0x65, 0x70}

// ImportEd25519 stores the Ed25519 key pair of seed on s's token under
// CKA_ID id and CKA_LABEL label, with the attributes token.Generate gives
// (package token's tests check that they agree). Only CKA_ALWAYS_SENSITIVE
// and CKA_NEVER_EXTRACTABLE differ, as for any imported key.
//
// It loads the module in-process and so sets SOFTHSM2_CONF with t.Setenv:
// tests calling it cannot be parallel. If the module is already initialized
// in this process it must have been with s.Conf.
func ImportEd25519(t testing.TB, s *SoftHSM, id []byte, label string, seed []byte) {
	t.Helper()
	if len(seed) != ed25519.SeedSize {
		t.Fatalf("import Ed25519 key %x: seed is %d bytes, want %d", id, len(seed), ed25519.SeedSize)
	}
	t.Setenv("SOFTHSM2_CONF", s.Conf)
	ctx, done := load(t, s)
	defer done()
	session := login(t, ctx, s)
	defer ctx.CloseSession(session)
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	pubT, privT := templates(id, label, pub, seed)
	if _, err := ctx.CreateObject(session, pubT); err != nil {
		t.Fatalf("import Ed25519 public key %x: %v", id, err)
	}
	if _, err := ctx.CreateObject(session, privT); err != nil {
		t.Fatalf("import Ed25519 private key %x: %v", id, err)
	}
}

// load opens and initializes the module; done finalizes it if load
// initialized it, and unloads it.
func load(t testing.TB, s *SoftHSM) (ctx *pkcs11.Ctx, done func()) {
	t.Helper()
	ctx = pkcs11.New(s.Module)
	if ctx == nil {
		t.Fatalf("load PKCS#11 module %q: failed", s.Module)
	}
	err := ctx.Initialize()
	if err != nil && err != pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		ctx.Destroy()
		t.Fatalf("initialize PKCS#11 module %q: %v", s.Module, err)
	}
	owner := err == nil
	return ctx, func() {
		if owner {
			ctx.Finalize()
		}
		ctx.Destroy()
	}
}

// login opens a R/W session on s's token and logs the user in.
func login(t testing.TB, ctx *pkcs11.Ctx, s *SoftHSM) pkcs11.SessionHandle {
	t.Helper()
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		t.Fatalf("list slots: %v", err)
	}
	for _, slot := range slots {
		info, err := ctx.GetTokenInfo(slot)
		if err != nil || info.Label != s.Label {
			continue
		}
		session, err := ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
		if err != nil {
			t.Fatalf("open session on token %q: %v", s.Label, err)
		}
		err = ctx.Login(session, pkcs11.CKU_USER, s.PIN)
		if err != nil && err != pkcs11.Error(pkcs11.CKR_USER_ALREADY_LOGGED_IN) {
			t.Fatalf("log in to token %q: %v", s.Label, err)
		}
		return session
	}
	t.Fatalf("find token %q: not among %d slots (module initialized earlier with another SOFTHSM2_CONF?)", s.Label, len(slots))
	return 0
}

// templates mirror package token's key templates, plus the key material.
// The private CKA_VALUE is the raw 32-byte seed (PKCS#11 v3.0 Current
// Mechanisms section 2.3.6); SoftHSM2 2.6.1 accepts a DER OCTET STRING
// there too but then fails C_Sign with CKR_GENERAL_ERROR. CKA_EC_POINT is
// a DER OCTET STRING, as SoftHSM2 itself writes it for generated keys.
func templates(id []byte, label string, pub ed25519.PublicKey, seed []byte) (pubT, privT []*pkcs11.Attribute) {
	common := func(class uint) []*pkcs11.Attribute {
		return []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, class),
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, ckkECEdwards),
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
			pkcs11.NewAttribute(pkcs11.CKA_ID, id),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
			pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
			pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, ed25519OID),
		}
	}
	pubT = append(common(pkcs11.CKO_PUBLIC_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY_RECOVER, false),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, octetString(pub)),
	)
	privT = append(common(pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN_RECOVER, false),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE, seed),
	)
	return pubT, privT
}

// octetString DER-encodes a 32-byte value as an OCTET STRING.
func octetString(b []byte) []byte {
	return append([]byte{0x04, byte(len(b))}, b...)
}
