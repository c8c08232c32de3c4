package token_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"signstar/internal/tokentest"
	"signstar/pkg/token"
)

// newSoftHSM makes a token and points this process's SoftHSM2 at it. The
// tests of this package are not parallel: SOFTHSM2_CONF is process-wide.
func newSoftHSM(t *testing.T) *tokentest.SoftHSM {
	t.Helper()
	s := tokentest.NewSoftHSM(t, "signstar")
	t.Setenv("SOFTHSM2_CONF", s.Conf)
	return s
}

func options(s *tokentest.SoftHSM) token.Options {
	return token.Options{Module: s.Module, Label: s.Label, PIN: s.PIN}
}

// open opens s's token and closes it when the test ends, unless the test
// closed it first.
func open(t *testing.T, o token.Options) *token.Token {
	t.Helper()
	tok, err := token.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tok.Close(); err != nil {
			t.Error(err)
		}
	})
	return tok
}

func TestGenerateThenKey(t *testing.T) {
	s := newSoftHSM(t)
	tests := []struct {
		typ     token.KeyType
		id      []byte
		wantPub func(crypto.PublicKey) error
	}{
		{token.Ed25519, []byte{1}, isEd25519},
		{token.RSA3072, []byte{2}, isRSA(3072)},
		{token.RSA4096, []byte{3}, isRSA(4096)},
		{token.P256, []byte{4}, isEC(elliptic.P256())},
		{token.P384, []byte{5}, isEC(elliptic.P384())},
	}
	for _, tt := range tests {
		t.Run(string(tt.typ), func(t *testing.T) {
			tok, err := token.Open(options(s))
			if err != nil {
				t.Fatal(err)
			}
			gen, err := tok.Generate(tt.id, "key "+string(tt.typ), tt.typ)
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.wantPub(gen.Public()); err != nil {
				t.Fatalf("Generate: %v", err)
			}
			signAndVerify(t, gen)
			if err := tok.Close(); err != nil {
				t.Fatal(err)
			}

			found, err := open(t, options(s)).Key(tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if !found.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(gen.Public()) {
				t.Fatalf("Key(%x).Public() = %v, want %v", tt.id, found.Public(), gen.Public())
			}
			signAndVerify(t, found)
		})
	}
}

// signAndVerify signs with s as signstar does and checks the signature
// with the standard library.
func signAndVerify(t *testing.T, s crypto.Signer) {
	t.Helper()
	msg := []byte("signstar test message")
	digest := sha512.Sum512(msg)
	var err error
	switch pub := s.Public().(type) {
	case ed25519.PublicKey:
		sig, serr := s.Sign(nil, msg, crypto.Hash(0))
		if err = serr; err == nil && !ed25519.Verify(pub, msg, sig) {
			err = errors.New("ed25519.Verify failed")
		}
	case *rsa.PublicKey:
		sig, serr := s.Sign(nil, digest[:], crypto.SHA512)
		if err = serr; err == nil {
			err = rsa.VerifyPKCS1v15(pub, crypto.SHA512, digest[:], sig)
		}
	case *ecdsa.PublicKey:
		sig, serr := s.Sign(nil, digest[:], crypto.SHA512)
		if err = serr; err == nil && !ecdsa.VerifyASN1(pub, digest[:], sig) {
			err = errors.New("ecdsa.VerifyASN1 failed")
		}
	default:
		err = fmt.Errorf("public key is a %T", pub)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func isEd25519(p crypto.PublicKey) error {
	if k, ok := p.(ed25519.PublicKey); !ok || len(k) != ed25519.PublicKeySize {
		return fmt.Errorf("public key is %T %x, want ed25519.PublicKey", p, p)
	}
	return nil
}

func isRSA(bits int) func(crypto.PublicKey) error {
	return func(p crypto.PublicKey) error {
		if k, ok := p.(*rsa.PublicKey); !ok || k.N.BitLen() != bits || k.E != 65537 {
			return fmt.Errorf("public key is %T, want %d-bit *rsa.PublicKey, e=65537", p, bits)
		}
		return nil
	}
}

func isEC(c elliptic.Curve) func(crypto.PublicKey) error {
	return func(p crypto.PublicKey) error {
		if k, ok := p.(*ecdsa.PublicKey); !ok || k.Curve != c {
			return fmt.Errorf("public key is %T, want *ecdsa.PublicKey on %s", p, c.Params().Name)
		}
		return nil
	}
}

// RFC 8032 section 7.1, TEST 1.
var (
	rfc8032Seed = mustHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
	rfc8032Sig  = mustHex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065" +
		"224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestImportEd25519(t *testing.T) {
	s := newSoftHSM(t)
	id := []byte{0xed}
	tokentest.ImportEd25519(t, s, id, "golden", rfc8032Seed)
	k, err := open(t, options(s)).Key(id)
	if err != nil {
		t.Fatal(err)
	}
	want := ed25519.NewKeyFromSeed(rfc8032Seed)
	if !want.Public().(ed25519.PublicKey).Equal(k.Public()) {
		t.Fatalf("Public() = %x, want %x", k.Public(), want.Public())
	}
	for _, msg := range [][]byte{nil, []byte("signstar"), bytes.Repeat([]byte{0xa5}, 64)} {
		sig, err := k.Sign(nil, msg, crypto.Hash(0))
		if err != nil {
			t.Fatal(err)
		}
		if w := ed25519.Sign(want, msg); !bytes.Equal(sig, w) {
			t.Errorf("Sign(%x) = %x, want %x", msg, sig, w)
		}
		if len(msg) == 0 && !bytes.Equal(sig, rfc8032Sig) {
			t.Errorf("Sign(empty) = %x, want RFC 8032 TEST 1 %x", sig, rfc8032Sig)
		}
	}
}

func TestKeyAttributes(t *testing.T) {
	s := newSoftHSM(t)
	tok := open(t, options(s))
	for i, typ := range token.KeyTypes() {
		if _, err := tok.Generate([]byte{byte(i + 1)}, string(typ), typ); err != nil {
			t.Fatal(err)
		}
	}
	tokentest.ImportEd25519(t, s, []byte{0xed}, "imported", rfc8032Seed)

	tests := []struct {
		name string
		id   byte
		want map[string]bool
	}{
		{"ed25519", 1, generated},
		{"rsa3072", 2, generated},
		{"rsa4096", 3, generated},
		{"p256", 4, generated},
		{"p384", 5, generated},
		{"imported ed25519", 0xed, imported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readAttributes(t, s, []byte{tt.id})
			for name, want := range tt.want {
				if v, ok := got[name]; !ok || v != want {
					t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
				}
			}
		})
	}
}

var (
	signOnly = map[string]bool{
		"priv CKA_TOKEN": true, "priv CKA_PRIVATE": true,
		"priv CKA_SENSITIVE": true, "priv CKA_EXTRACTABLE": false,
		"priv CKA_SIGN": true, "priv CKA_SIGN_RECOVER": false,
		"priv CKA_DECRYPT": false, "priv CKA_UNWRAP": false, "priv CKA_DERIVE": false,
		"priv CKA_VALUE readable": false,
		"pub CKA_TOKEN":           true, "pub CKA_VERIFY": true, "pub CKA_VERIFY_RECOVER": false,
		"pub CKA_ENCRYPT": false, "pub CKA_WRAP": false, "pub CKA_DERIVE": false,
	}
	generated = with(signOnly, map[string]bool{"priv CKA_ALWAYS_SENSITIVE": true, "priv CKA_NEVER_EXTRACTABLE": true})
	imported  = with(signOnly, map[string]bool{"priv CKA_ALWAYS_SENSITIVE": false, "priv CKA_NEVER_EXTRACTABLE": false})
)

func with(a, b map[string]bool) map[string]bool {
	m := map[string]bool{}
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}

func TestOpenErrors(t *testing.T) {
	s := newSoftHSM(t)
	notLib := filepath.Join(t.TempDir(), "notlib.so")
	if err := os.WriteFile(notLib, []byte("not an ELF file"), 0o644); err != nil {
		t.Fatal(err)
	}
	serial := tokenSerial(t, s)
	tests := []struct {
		name    string
		change  func(*token.Options)
		wantErr error
		wantMsg string
	}{
		{"missing module", func(o *token.Options) { o.Module = "/nonexistent/libnope.so" },
			token.ErrModule, `load PKCS#11 module "/nonexistent/libnope.so": no such file`},
		{"module is a directory", func(o *token.Options) { o.Module = s.Dir },
			token.ErrModule, fmt.Sprintf("load PKCS#11 module %q: not a regular file", s.Dir)},
		{"module is not a library", func(o *token.Options) { o.Module = notLib },
			token.ErrModule, fmt.Sprintf("load PKCS#11 module %q: dlopen failed or no C_GetFunctionList", notLib)},
		{"no such label", func(o *token.Options) { o.Label = "nope" },
			token.ErrTokenNotFound, `find token "nope": no token with that label (2 slots)`},
		{"no such serial", func(o *token.Options) { o.Label, o.Serial = "", "0000" },
			token.ErrTokenNotFound, `find token with serial "0000": no token with that serial (2 slots)`},
		{"serial of another label", func(o *token.Options) { o.Label, o.Serial = "nope", serial },
			token.ErrTokenNotFound, fmt.Sprintf(`find token "nope" with serial %q: no token with that label and serial (2 slots)`, serial)},
		{"wrong PIN", func(o *token.Options) { o.PIN = "654321" },
			token.ErrPIN, `log in to token "signstar": wrong PIN (CKR_PIN_INCORRECT)`},
		{"PIN too short", func(o *token.Options) { o.PIN = "1" },
			token.ErrPIN, `log in to token "signstar": wrong PIN (CKR_PIN_INCORRECT)`},
		{"no module", func(o *token.Options) { o.Module = "" },
			nil, "open token: no PKCS#11 module given"},
		{"no label or serial", func(o *token.Options) { o.Label = "" },
			nil, "open token: neither label nor serial given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options(s)
			// As the default config has one; without one, SoftHSM2's
			// not-found errors say more (TestNotFoundWithoutLockFile).
			o.LockFile = filepath.Join(t.TempDir(), "token.lock")
			tt.change(&o)
			tok, err := token.Open(o)
			if err == nil {
				tok.Close()
				t.Fatal("Open succeeded")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantErr)
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("error %q, want %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), o.PIN) {
				t.Errorf("error %q contains the PIN", err)
			}
		})
	}
}

func TestOpenBySerial(t *testing.T) {
	s := newSoftHSM(t)
	o := options(s)
	o.Serial = tokenSerial(t, s)
	open(t, o)
	o.Label = ""
	open(t, o)
}

func TestKeyErrors(t *testing.T) {
	s := newSoftHSM(t)
	tok := open(t, options(s))
	if _, err := tok.Generate([]byte{7}, "seven", token.P256); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		do      func() error
		wantErr error
		wantMsg string
	}{
		{"key not found", func() error { _, err := tok.Key([]byte{0x0a, 0x1b}); return err },
			token.ErrKeyNotFound, `find key 0a1b: not on token "signstar"`},
		{"id in use", func() error { _, err := tok.Generate([]byte{7}, "again", token.Ed25519); return err },
			nil, `generate ed25519 key 07 on token "signstar": a private key with that id exists`},
		{"empty id", func() error { _, err := tok.Generate(nil, "none", token.Ed25519); return err },
			nil, `generate ed25519 key on token "signstar": empty id`},
		{"unknown type", func() error { _, err := tok.Generate([]byte{8}, "x", "dsa"); return err },
			nil, `generate dsa key 08 on token "signstar": unknown key type "dsa"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if err == nil {
				t.Fatal("succeeded")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantErr)
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("error %q, want %q", err, tt.wantMsg)
			}
		})
	}
}

func TestSignRefuses(t *testing.T) {
	s := newSoftHSM(t)
	tok := open(t, options(s))
	ed, err := tok.Generate([]byte{1}, "ed", token.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := tok.Generate([]byte{2}, "ec", token.P256)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha512.Sum512(nil)
	tests := []struct {
		name    string
		signer  crypto.Signer
		msg     []byte
		opts    crypto.SignerOpts
		wantMsg string
	}{
		{"ed25519ph", ed, digest[:], crypto.SHA512,
			`sign with Ed25519 key 01 on token "signstar": pre-hashed Ed25519ph not supported; pass the message with crypto.Hash(0)`},
		{"ed25519ctx", ed, nil, &ed25519.Options{Context: "x"},
			`sign with Ed25519 key 01 on token "signstar": Ed25519ctx not supported`},
		{"no hash", ec, digest[:], crypto.Hash(0),
			`sign with key 02 on token "signstar": no hash given`},
		{"short digest", ec, digest[:32], crypto.SHA512,
			`sign with key 02 on token "signstar": 32-byte digest for SHA-512, want 64 bytes`},
		{"sha1", ec, digest[:20], crypto.SHA1,
			`sign with key 02 on token "signstar": hash SHA-1 not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.signer.Sign(nil, tt.msg, tt.opts)
			if err == nil || err.Error() != tt.wantMsg {
				t.Errorf("Sign: error %v, want %q", err, tt.wantMsg)
			}
		})
	}
}

func TestSignAfterClose(t *testing.T) {
	s := newSoftHSM(t)
	tok, err := token.Open(options(s))
	if err != nil {
		t.Fatal(err)
	}
	ed, err := tok.Generate([]byte{1}, "ed", token.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = ed.Sign(nil, []byte("late"), crypto.Hash(0))
	if want := `sign with Ed25519 key 01 on token "signstar": token closed`; err == nil || err.Error() != want {
		t.Errorf("Sign after Close: error %v, want %q", err, want)
	}
	if err := tok.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestTwoTokens opens the same token twice in one process: the module is
// shared, and closing one Token must leave the other working.
func TestTwoTokens(t *testing.T) {
	s := newSoftHSM(t)
	a, err := token.Open(options(s))
	if err != nil {
		t.Fatal(err)
	}
	b := open(t, options(s))
	if _, err := a.Generate([]byte{1}, "ed", token.Ed25519); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Generate([]byte{2}, "ec", token.P384); err != nil {
		t.Fatal(err)
	}
	ed, err := b.Key([]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	ec, err := b.Key([]byte{2})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	signAndVerify(t, ed)
	signAndVerify(t, ec)
}

// TestKeyTypes: SoftHSM2 2.6 has every mechanism signstar uses, with key
// sizes that admit every type (its EdDSA range is 256..456 bits, not 255).
func TestKeyTypes(t *testing.T) {
	tok := open(t, options(newSoftHSM(t)))
	got, err := tok.KeyTypes()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, token.KeyTypes()) {
		t.Errorf("KeyTypes = %v, want %v", got, token.KeyTypes())
	}
}
