package keyring

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"signstar/internal/tokentest"
	"signstar/pkg/token"
)

func TestAdoptable(t *testing.T) {
	// good is a key made on the token, sign-only, that never left it.
	good := token.KeyInfo{Type: token.P256, Algorithm: "EC P-256", Sensitive: true, AlwaysSensitive: true,
		NeverExtractable: true, Local: true, Private: true, Sign: true}
	tests := []struct {
		name         string
		change       func(k *token.KeyInfo)
		wantErr      string   // "" for none
		wantWarnings []string // substrings, one per warning
	}{
		{"sign-only, made on the token", func(k *token.KeyInfo) {}, "", nil},
		{"extractable", func(k *token.KeyInfo) { k.Extractable = true }, "CKA_EXTRACTABLE true", nil},
		{"not sensitive", func(k *token.KeyInfo) { k.Sensitive = false }, "CKA_SENSITIVE false", nil},
		{"cannot sign", func(k *token.KeyInfo) { k.Sign = false }, "CKA_SIGN false", nil},
		{"always authenticate", func(k *token.KeyInfo) { k.AlwaysAuthenticate = true }, "slot 9c", nil},
		{"rsa2048", func(k *token.KeyInfo) { k.Type, k.Algorithm = "", "RSA 2048" },
			"the key is RSA 2048; signstar signs with ed25519, rsa3072, rsa4096, p256, p384", nil},
		{"extractable beats the type", func(k *token.KeyInfo) { k.Type, k.Extractable = "", true }, "CKA_EXTRACTABLE", nil},
		{"decrypt, unwrap, derive", func(k *token.KeyInfo) { k.Decrypt, k.Unwrap, k.Derive = true, true, true }, "",
			[]string{"decrypt (CKA_DECRYPT), unwrap keys (CKA_UNWRAP), derive keys (CKA_DERIVE)"}},
		{"imported", func(k *token.KeyInfo) { k.Local, k.AlwaysSensitive, k.NeverExtractable = false, false, false }, "",
			[]string{"copies of it may exist elsewhere"}},
		{"once extractable, usable without login, may decrypt", func(k *token.KeyInfo) {
			k.NeverExtractable, k.Private, k.Decrypt = false, false, true
		}, "", []string{"decrypt (CKA_DECRYPT)", "copies", "CKA_PRIVATE false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := good
			tt.change(&info)
			warnings, err := Adoptable(info)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Adoptable = %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) != len(tt.wantWarnings) {
				t.Fatalf("warnings %q, want %d", warnings, len(tt.wantWarnings))
			}
			for i, w := range tt.wantWarnings {
				if !strings.Contains(warnings[i], w) {
					t.Errorf("warning %q lacks %q", warnings[i], w)
				}
			}
		})
	}
}

// TestAdoptGolden adopts the golden key, imported into the token as another
// tool would, with the golden creation time: the certificate must be the
// golden one byte for byte, as Adopt and Generate certify the same way.
func TestAdoptGolden(t *testing.T) {
	hsm := tokentest.NewSoftHSM(t, "adopt")
	cfg := newConfig(t, hsm)
	id := importGolden(t, hsm)
	kr, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer kr.Close()
	var warnings []string
	k, err := kr.Adopt(ExistingKey{Name: "golden", ID: id, UserID: "signstar golden <golden@example.org>",
		Created: created, Warn: func(w string) { warnings = append(warnings, w) }})
	if err != nil {
		t.Fatal(err)
	}
	kc := cfg.Keys["golden"]
	if kc.Type != "ed25519" || kc.ID != "601d" || !kc.Default {
		t.Errorf("config entry %+v, want the default ed25519 key 601d", kc)
	}
	got, err := os.ReadFile(cfg.Resolve(kc.Cert))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(golden(t, "cert.asc"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("adopted certificate differs from the golden one:\n%s", got)
	}
	if k.Cert.Fingerprint() == "" || k.Name != "golden" {
		t.Errorf("Adopt returned key %q with fingerprint %q", k.Name, k.Cert.Fingerprint())
	}
	// An imported key: its secret was outside the token once.
	if len(warnings) != 1 || !strings.Contains(warnings[0], `key "golden" (id 601d)`) || !strings.Contains(warnings[0], "copies") {
		t.Errorf("warnings %q, want one about copies", warnings)
	}
}

// TestAdoptKeepsKeyOnFailure: whatever goes wrong, the adopted key stays
// on the token, and the config and certs/ stay as they were.
func TestAdoptKeepsKeyOnFailure(t *testing.T) {
	hsm := tokentest.NewSoftHSM(t, "keep")
	cfg := newConfig(t, hsm)
	seed := bytes.Repeat([]byte{7}, 32)
	tokentest.ImportEd25519(t, hsm, []byte{0x0a}, "theirs", seed)
	tokentest.ImportEd25519(t, hsm, []byte{0x0b}, "theirs too", bytes.Repeat([]byte{8}, 32))
	kr, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer kr.Close()
	if _, err := kr.Adopt(ExistingKey{Name: "first", ID: []byte{0x0b}, UserID: "F <f@example.org>", Created: created}); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(cfg.Path())
	if err != nil {
		t.Fatal(err)
	}
	good := ExistingKey{Name: "k", ID: []byte{0x0a}, UserID: "K <k@example.org>", Created: created}
	tests := []struct {
		name     string
		change   func(e *ExistingKey)
		want     string
		notFound bool
	}{
		{"empty user ID", func(e *ExistingKey) { e.UserID = "" }, "user id", false},
		{"expiry before creation", func(e *ExistingKey) { e.Expires = created.Add(-1) }, "certify", false},
		{"id not on the token", func(e *ExistingKey) { e.ID = []byte{0x0c} }, "not on token", true},
		{"empty id", func(e *ExistingKey) { e.ID = nil }, "1 to 64 bytes", false},
		{"name taken", func(e *ExistingKey) { e.Name = "first" }, `key "first" already exists`, false},
		{"id taken", func(e *ExistingKey) { e.ID = []byte{0x0b} }, `already configured as key "first"`, false},
		{"invalid name", func(e *ExistingKey) { e.Name = "../k" }, "invalid key name", false},
	}
	// unchanged checks that both keys are on the token and that the
	// config and certs/ are as before.
	unchanged := func(t *testing.T) {
		t.Helper()
		for _, id := range [][]byte{{0x0a}, {0x0b}} {
			if _, err := kr.tok.Key(id); err != nil {
				t.Errorf("key %x is gone from the token: %v", id, err)
			}
		}
		after, err := os.ReadFile(cfg.Path())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before, after) || len(cfg.Keys) != 1 {
			t.Errorf("the config changed:\n%s", after)
		}
		certs, err := os.ReadDir(filepath.Join(filepath.Dir(cfg.Path()), "certs"))
		if err != nil || len(certs) != 2 || certs[0].Name() != "first.asc" || certs[1].Name() != "first.rev" {
			t.Errorf("certs/ holds %v (%v), want first.asc and its revocation certificate first.rev only", certs, err)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := good
			tt.change(&e)
			_, err := kr.Adopt(e)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Adopt = %v, want an error with %q", err, tt.want)
			}
			if errors.Is(err, token.ErrKeyNotFound) != tt.notFound {
				t.Errorf("errors.Is(%v, ErrKeyNotFound) = %v, want %v", err, !tt.notFound, tt.notFound)
			}
			unchanged(t)
		})
	}
	// The last step fails: the certificate written is removed again.
	t.Run("config cannot be updated", func(t *testing.T) {
		path := cfg.Path()
		if err := os.Rename(path, path+".moved"); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(path, 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := kr.Adopt(good)
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".moved", path); err != nil {
			t.Fatal(err)
		}
		if err == nil || !strings.Contains(err.Error(), "read config") {
			t.Fatalf("Adopt = %v, want an error reading the config", err)
		}
		unchanged(t)
	})
}
