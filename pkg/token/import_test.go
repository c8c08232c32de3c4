package token_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"

	"signstar/internal/tokentest"
	"signstar/pkg/token"
)

// secretOf is the raw material of a standard library private key, as
// package pgp hands it over.
func secretOf(t *testing.T, priv crypto.Signer) token.Secret {
	t.Helper()
	switch k := priv.(type) {
	case ed25519.PrivateKey:
		return token.Secret{Seed: k.Seed()}
	case *ecdsa.PrivateKey:
		d, err := k.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return token.Secret{D: d}
	case *rsa.PrivateKey:
		c := k.Precomputed
		return token.Secret{D: k.D.Bytes(), P: k.Primes[0].Bytes(), Q: k.Primes[1].Bytes(),
			DP: c.Dp.Bytes(), DQ: c.Dq.Bytes(), QInv: c.Qinv.Bytes()}
	}
	t.Fatalf("BUG: key of type %T", priv)
	return token.Secret{}
}

func newKey(t *testing.T, typ string) crypto.Signer {
	t.Helper()
	var k crypto.Signer
	var err error
	switch typ {
	case "ed25519":
		_, k, err = ed25519.GenerateKey(rand.Reader)
	case "rsa2048":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case "p256":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "p384":
		k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	}
	if err != nil || k == nil {
		t.Fatalf("generate %s key: %v", typ, err)
	}
	return k
}

// TestImport imports a key of each type: the token signs with it, reads
// back its public key, and gives the private key the attributes of a
// generated one, except that it was once outside the token.
func TestImport(t *testing.T) {
	s := newSoftHSM(t)
	tok := open(t, options(s))
	tests := []struct {
		typ      string
		wantType token.KeyType
	}{
		{"ed25519", token.Ed25519},
		{"rsa2048", ""}, // signstar does not generate it, but signs with it
		{"p256", token.P256},
		{"p384", token.P384},
	}
	for i, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			priv := newKey(t, tt.typ)
			id := []byte{0x10 + byte(i)}
			k, err := tok.Import(id, "imported "+tt.typ, priv.Public(), secretOf(t, priv))
			if err != nil {
				t.Fatal(err)
			}
			if !k.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(priv.Public()) {
				t.Fatalf("Public() = %v, want the imported key", k.Public())
			}
			signAndVerify(t, k)
			got := readAttributes(t, s, id)
			for name, want := range imported {
				if v, ok := got[name]; !ok || v != want {
					t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
				}
			}
			info, err := tok.KeyInfo(id)
			if err != nil {
				t.Fatal(err)
			}
			if info.Type != tt.wantType || info.Local || info.Extractable || !info.Sensitive || info.Decrypt || info.Unwrap || info.Derive {
				t.Errorf("KeyInfo = %+v", info)
			}
		})
	}
}

// TestImportRefuses: a key the token holds, under its id or another, and
// a secret that is not the public key's, which leaves nothing behind.
func TestImportRefuses(t *testing.T) {
	s := newSoftHSM(t)
	tok := open(t, options(s))
	ed := newKey(t, "ed25519").(ed25519.PrivateKey)
	p256 := newKey(t, "p256")
	rsaKey := newKey(t, "rsa2048")
	for i, k := range []crypto.Signer{ed, p256, rsaKey} {
		if _, err := tok.Import([]byte{byte(i + 1)}, "first", k.Public(), secretOf(t, k)); err != nil {
			t.Fatal(err)
		}
	}
	// A key put there by another tool, the public point stored as
	// SoftHSM2 stores its own.
	other := ed25519.NewKeyFromSeed(rfc8032Seed)
	tokentest.ImportEd25519(t, s, []byte{0xed}, "other", rfc8032Seed)
	wrong := newKey(t, "ed25519").(ed25519.PrivateKey)

	tests := []struct {
		name    string
		id      []byte
		key     crypto.Signer
		pub     crypto.PublicKey
		wantErr error
		want    string
	}{
		{"same id", []byte{1}, wrong, wrong.Public(), token.ErrDuplicate, "a private key has id 01"},
		{"ed25519 under another id", []byte{9}, ed, ed.Public(), token.ErrDuplicate, "under id 01"},
		{"p256 under another id", []byte{9}, p256, p256.Public(), token.ErrDuplicate, "under id 02"},
		{"rsa under another id", []byte{9}, rsaKey, rsaKey.Public(), token.ErrDuplicate, "under id 03"},
		{"another tool's key", []byte{9}, other, other.Public(), token.ErrDuplicate, "under id ed"},
		{"secret of another key", []byte{9}, wrong, ed25519.NewKeyFromSeed(make([]byte, 32)).Public(), nil, "does not verify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tok.Import(tt.id, "second", tt.pub, secretOf(t, tt.key))
			if err == nil || !strings.Contains(err.Error(), tt.want) || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Import: %v, want an error saying %q", err, tt.want)
			}
			if _, err := tok.Key([]byte{9}); !errors.Is(err, token.ErrKeyNotFound) {
				t.Errorf("a refused import left a key with id 09: %v", err)
			}
		})
	}
}
