package keyring

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"signstar/internal/tokentest"
	"signstar/pkg/pgp"
	"signstar/pkg/token"
)

// TestLifecycle: Generate writes NAME.rev (0600) beside NAME.asc and
// WriteRevocation never overwrites it; Extend, Certify and Revoke store
// what the token key made in certs/NAME.asc; a revoked key is read but
// not opened for signing.
func TestLifecycle(t *testing.T) {
	hsm := tokentest.NewSoftHSM(t, "lifecycle")
	cfg := newConfig(t, hsm)
	kr, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer kr.Close()
	old, err := kr.Generate(NewKey{Name: "old", Type: token.Ed25519, UserID: "old", Created: created})
	if err != nil {
		t.Fatal(err)
	}
	next, err := kr.Generate(NewKey{Name: "new", Type: token.P256, UserID: "new", Created: created})
	if err != nil {
		t.Fatal(err)
	}
	rev := RevocationPath(cfg, cfg.Keys["old"])
	if fi, err := os.Stat(rev); err != nil || fi.Mode().Perm() != 0o600 || !strings.HasSuffix(rev, "certs/old.rev") {
		t.Fatalf("revocation certificate %s: %v, %v", rev, fi, err)
	}
	if _, err := kr.WriteRevocation(old); !errors.Is(err, os.ErrExist) {
		t.Errorf("WriteRevocation over an existing file = %v, want ErrExist", err)
	}

	now := time.Now().UTC().Truncate(time.Second)
	expires := now.AddDate(1, 0, 0)
	if err := kr.Extend(old, expires, now); err != nil {
		t.Fatalf("Extend: %v", err)
	}
	if err := kr.Certify(old, next, now); err != nil {
		t.Fatalf("Certify: %v", err)
	}
	if err := kr.SetDefault("new"); err != nil {
		t.Fatal(err)
	}
	if c := loadCert(t, kr, "old"); !c.Expires().Equal(expires) {
		t.Errorf("stored expiry %v, want %v", c.Expires(), expires)
	}
	if c := loadCert(t, kr, "new"); len(c.Certifiers()) != 1 || c.Certifiers()[0] != old.Cert.Fingerprint() {
		t.Errorf("stored certifiers %v, want the old key", c.Certifiers())
	}
	if def, _ := cfg.DefaultKey(); def != "new" {
		t.Errorf("default key %q, want new", def)
	}

	if err := kr.Revoke(old, pgp.ReasonRetired, "", now); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if c := loadCert(t, kr, "old"); !c.Revoked() {
		t.Errorf("stored certificate is not revoked")
	}
	if _, err := kr.Key("old"); !errors.Is(err, pgp.ErrRevoked) {
		t.Errorf("Key(revoked) = %v, want ErrRevoked", err)
	}
	if _, err := kr.Key("new"); err != nil {
		t.Errorf("Key(new) = %v", err)
	}
}

func loadCert(t *testing.T, kr *Keyring, name string) *pgp.Certificate {
	t.Helper()
	c, err := LoadCert(kr.cfg, kr.cfg.Keys[name])
	if err != nil {
		t.Fatal(err)
	}
	return c
}
