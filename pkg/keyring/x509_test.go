package keyring

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"signstar/internal/tokentest"
	"signstar/pkg/config"
	"signstar/pkg/token"
	"signstar/pkg/x509cert"
)

// selfSign has k's token key make a self-signed certificate through
// SignWith, as the key x509 commands do.
func selfSign(t *testing.T, k *Key, cn string) *x509.Certificate {
	t.Helper()
	der, err := k.SignWith(strings.NewReader(""), func(_ io.Reader, key crypto.Signer) ([]byte, error) {
		c, err := x509cert.SelfSign(key, pkix.Name{CommonName: cn}, 1, x509cert.CodeSigning)
		if err != nil {
			return nil, err
		}
		return c.Raw, nil
	}, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestX509: a certificate the token key made is stored as certs/NAME.pem,
// mode 0644, recorded in the config, read back with and without the
// token; another is refused unless asked to replace; one for another key
// is refused, stored or found on disk.
func TestX509(t *testing.T) {
	hsm := tokentest.NewSoftHSM(t, "x509")
	cfg := newConfig(t, hsm)
	kr, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer kr.Close()
	k, err := kr.Generate(NewKey{Name: "k", Type: token.P256, UserID: "k", Created: created})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadX509(cfg, cfg.Keys["k"]); !errors.Is(err, ErrNoX509) {
		t.Fatalf("ReadX509 without a certificate: %v, want ErrNoX509", err)
	}
	if err := kr.X509Free("k"); err != nil {
		t.Fatal(err)
	}

	first := selfSign(t, k, "first")
	path, err := kr.StoreX509(k, first, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(filepath.Dir(cfg.Path()), "certs", "k.pem"); path != want {
		t.Fatalf("stored at %s, want %s", path, want)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("stat %s: %v, %v; want mode 0644", path, fi, err)
	}
	reread, err := config.Load(cfg.Path())
	if err != nil || reread.Keys["k"].X509 != "certs/k.pem" {
		t.Fatalf("config after StoreX509: %v, x509 %q", err, reread.Keys["k"].X509)
	}
	got, err := LoadX509(cfg, k)
	if err != nil || !got.Cert.Equal(first) || len(got.Chain) != 0 {
		t.Fatalf("LoadX509: %v, %v", got, err)
	}

	second := selfSign(t, k, "second")
	if _, err := kr.StoreX509(k, second, nil, false); !errors.Is(err, ErrX509Exists) {
		t.Fatalf("StoreX509 over a certificate: %v, want ErrX509Exists", err)
	}
	if _, err := kr.StoreX509(k, second, []*x509.Certificate{first}, true); err != nil {
		t.Fatalf("StoreX509 with replace: %v", err)
	}
	got, err = ReadX509(cfg, cfg.Keys["k"])
	if err != nil || !got.Cert.Equal(second) || len(got.Chain) != 1 || !got.Chain[0].Equal(first) {
		t.Fatalf("ReadX509 after replacing: %v, %v", got, err)
	}

	other := otherCert(t)
	if _, err := kr.StoreX509(k, other, nil, true); err == nil || !strings.Contains(err.Error(), "is for another key") {
		t.Fatalf("StoreX509 of another key's certificate: %v", err)
	}
	if err := os.WriteFile(path, x509cert.EncodePEM(other), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadX509(cfg, k); err == nil || !strings.Contains(err.Error(), "does not match the token") {
		t.Fatalf("LoadX509 of another key's certificate: %v", err)
	}
}

func otherCert(t *testing.T) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509cert.SelfSign(key, pkix.Name{CommonName: "other"}, 1, x509cert.CodeSigning)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
