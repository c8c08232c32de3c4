package token_test

import (
	"testing"

	"github.com/miekg/pkcs11"

	"signstar/internal/tokentest"
)

// withSession runs f on a logged-in session of s's token, independently of
// package token, so the tests read the token as another client would.
func withSession(t *testing.T, s *tokentest.SoftHSM, f func(*pkcs11.Ctx, pkcs11.SessionHandle, pkcs11.TokenInfo)) {
	t.Helper()
	ctx := pkcs11.New(s.Module)
	if ctx == nil {
		t.Fatalf("load %s", s.Module)
	}
	defer ctx.Destroy()
	if err := ctx.Initialize(); err == nil {
		defer ctx.Finalize()
	} else if err != pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		t.Fatal(err)
	}
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		t.Fatal(err)
	}
	for _, slot := range slots {
		info, err := ctx.GetTokenInfo(slot)
		if err != nil || info.Label != s.Label {
			continue
		}
		session, err := ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION)
		if err != nil {
			t.Fatal(err)
		}
		defer ctx.CloseSession(session)
		err = ctx.Login(session, pkcs11.CKU_USER, s.PIN)
		if err != nil && err != pkcs11.Error(pkcs11.CKR_USER_ALREADY_LOGGED_IN) {
			t.Fatal(err)
		}
		f(ctx, session, info)
		return
	}
	t.Fatalf("token %q not found", s.Label)
}

func tokenSerial(t *testing.T, s *tokentest.SoftHSM) (serial string) {
	withSession(t, s, func(_ *pkcs11.Ctx, _ pkcs11.SessionHandle, info pkcs11.TokenInfo) {
		serial = info.SerialNumber
	})
	return serial
}

var (
	privBools = map[string]uint{
		"CKA_TOKEN": pkcs11.CKA_TOKEN, "CKA_PRIVATE": pkcs11.CKA_PRIVATE,
		"CKA_SENSITIVE": pkcs11.CKA_SENSITIVE, "CKA_EXTRACTABLE": pkcs11.CKA_EXTRACTABLE,
		"CKA_ALWAYS_SENSITIVE": pkcs11.CKA_ALWAYS_SENSITIVE, "CKA_NEVER_EXTRACTABLE": pkcs11.CKA_NEVER_EXTRACTABLE,
		"CKA_SIGN": pkcs11.CKA_SIGN, "CKA_SIGN_RECOVER": pkcs11.CKA_SIGN_RECOVER,
		"CKA_DECRYPT": pkcs11.CKA_DECRYPT, "CKA_UNWRAP": pkcs11.CKA_UNWRAP, "CKA_DERIVE": pkcs11.CKA_DERIVE,
	}
	pubBools = map[string]uint{
		"CKA_TOKEN": pkcs11.CKA_TOKEN, "CKA_VERIFY": pkcs11.CKA_VERIFY,
		"CKA_VERIFY_RECOVER": pkcs11.CKA_VERIFY_RECOVER, "CKA_ENCRYPT": pkcs11.CKA_ENCRYPT,
		"CKA_WRAP": pkcs11.CKA_WRAP, "CKA_DERIVE": pkcs11.CKA_DERIVE,
	}
)

// readAttributes reads the boolean attributes of the key pair with CKA_ID
// id, named "priv CKA_SIGN", "pub CKA_VERIFY" and so on, and whether the
// private CKA_VALUE can be read ("priv CKA_VALUE readable").
func readAttributes(t *testing.T, s *tokentest.SoftHSM, id []byte) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	withSession(t, s, func(ctx *pkcs11.Ctx, session pkcs11.SessionHandle, _ pkcs11.TokenInfo) {
		priv := find(t, ctx, session, pkcs11.CKO_PRIVATE_KEY, id)
		readBools(t, ctx, session, priv, "priv ", privBools, got)
		readBools(t, ctx, session, find(t, ctx, session, pkcs11.CKO_PUBLIC_KEY, id), "pub ", pubBools, got)
		_, err := ctx.GetAttributeValue(session, priv, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)})
		got["priv CKA_VALUE readable"] = err == nil
	})
	return got
}

func find(t *testing.T, ctx *pkcs11.Ctx, session pkcs11.SessionHandle, class uint, id []byte) pkcs11.ObjectHandle {
	t.Helper()
	template := []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, class), pkcs11.NewAttribute(pkcs11.CKA_ID, id)}
	if err := ctx.FindObjectsInit(session, template); err != nil {
		t.Fatal(err)
	}
	defer ctx.FindObjectsFinal(session)
	hs, _, err := ctx.FindObjects(session, 2)
	if err != nil || len(hs) != 1 {
		t.Fatalf("find class %d id %x: %d objects, %v", class, id, len(hs), err)
	}
	return hs[0]
}

func readBools(t *testing.T, ctx *pkcs11.Ctx, session pkcs11.SessionHandle, h pkcs11.ObjectHandle, prefix string, names map[string]uint, got map[string]bool) {
	t.Helper()
	for name, typ := range names {
		a, err := ctx.GetAttributeValue(session, h, []*pkcs11.Attribute{pkcs11.NewAttribute(typ, nil)})
		if err != nil {
			t.Fatalf("read %s%s: %v", prefix, name, err)
		}
		got[prefix+name] = len(a[0].Value) == 1 && a[0].Value[0] != 0
	}
}
