package kmod

import (
	"bytes"
	"crypto"
	"os/exec"
	"strings"
	"testing"

	"signstar/internal/tokentest"
	"signstar/pkg/cms"
	"signstar/pkg/token"
)

// TestSignWithToken signs through SoftHSM2 as signstar does in production:
// an RSA key imported from PEM gives the block sign-file makes with that
// PEM (crypto11 signs PKCS #1 v1.5 when given a crypto.Hash), and a P-256
// key generated on the token gives a signature modinfo and openssl read.
func TestSignWithToken(t *testing.T) {
	module := testModule(t)
	s := tokentest.NewSoftHSM(t, "kmod")
	soft := newTestKey(t, rsaKey(t), "signstar token key", crypto.SHA256)
	cmd := exec.Command("softhsm2-util", "--import", soft.keyFile, "--token", s.Label,
		"--label", "rsa", "--id", "01", "--pin", s.PIN)
	cmd.Env = append(cmd.Environ(), s.Env())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util --import: %v\n%s", err, out)
	}
	t.Setenv("SOFTHSM2_CONF", s.Conf)
	tok, err := token.Open(token.Options{Module: s.Module, Label: s.Label, PIN: s.PIN})
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()

	t.Run("rsa equals sign-file", func(t *testing.T) {
		key, err := tok.Key([]byte{1})
		if err != nil {
			t.Fatal(err)
		}
		got, err := Sign(&cms.Signer{Key: key, Cert: soft.signer.Cert, Hash: crypto.SHA256}, module, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if want := runSignFile(t, soft, "sha256", module); !bytes.Equal(got, want) {
			t.Errorf("module signed through the token differs from sign-file's")
		}
	})
	t.Run("p256 generated on the token", func(t *testing.T) {
		key, err := tok.Generate([]byte{2}, "p256", token.P256)
		if err != nil {
			t.Fatal(err)
		}
		k := newTestKey(t, key, "signstar token p256", crypto.SHA256)
		signed, err := Sign(k.signer, module, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := modinfoSignature(t, signed); got["signer"] != "signstar token p256" || got["sig_hashalgo"] != "sha256" {
			t.Errorf("modinfo: signer %q, sig_hashalgo %q", got["signer"], got["sig_hashalgo"])
		}
		sig, err := Parse(signed)
		if err != nil || sig == nil {
			t.Fatalf("Parse: %v, %v", sig, err)
		}
		if out, ok := opensslVerify(t, k, sig.CMS, module); !ok || !strings.Contains(out, "Verification successful") {
			t.Errorf("openssl cms -verify refused the token's signature:\n%s", out)
		}
	})
}
