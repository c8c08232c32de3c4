package keyring

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"signstar/internal/testenv"
	"signstar/internal/tokentest"
	"signstar/internal/verifytest"
	"signstar/pkg/config"
	"signstar/pkg/pgp"
	"signstar/pkg/token"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// Fixed clock for the golden files: key created 2024-01-01, signature made
// 2024-06-01, both UTC.
var (
	created = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	signed  = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
)

func golden(t *testing.T, name string) string {
	return filepath.Join("..", "..", "testdata", "golden", name)
}

// newConfig makes a config for hsm in a temp dir. Tests that call it set
// SOFTHSM2_CONF for the process, so they cannot run in parallel.
func newConfig(t *testing.T, hsm *tokentest.SoftHSM) *config.Config {
	t.Helper()
	t.Setenv("SOFTHSM2_CONF", hsm.Conf)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pin"), []byte(hsm.PIN), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "signstar.toml")
	if err := config.Create(path, config.Token{Module: hsm.Module, Label: hsm.Label, PINFile: "pin"}, config.Audit{Sink: "stderr"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// importGolden imports the golden Ed25519 key into hsm, as another tool
// would, and returns its CKA_ID.
func importGolden(t *testing.T, hsm *tokentest.SoftHSM) []byte {
	t.Helper()
	seedHex, err := os.ReadFile(golden(t, "ed25519-seed.hex"))
	if err != nil {
		t.Fatal(err)
	}
	seed, err := hex.DecodeString(strings.TrimSpace(string(seedHex)))
	if err != nil {
		t.Fatal(err)
	}
	id := []byte{0x60, 0x1d}
	tokentest.ImportEd25519(t, hsm, id, "golden", seed)
	return id
}

// TestGolden signs with a fixed Ed25519 key imported into a real token at a
// fixed time and compares certificate and signature byte for byte.
func TestGolden(t *testing.T) {
	hsm := tokentest.NewSoftHSM(t, "golden")
	cfg := newConfig(t, hsm)
	id := importGolden(t, hsm)

	cert := certifyImported(t, cfg, id)
	var certBuf bytes.Buffer
	if err := cert.WriteArmored(&certBuf); err != nil {
		t.Fatal(err)
	}
	certPath := filepath.Join(filepath.Dir(cfg.Path()), "golden.asc")
	if err := os.WriteFile(certPath, certBuf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cfg.AddKey("golden", &config.Key{Type: "ed25519", ID: hex.EncodeToString(id), Cert: "golden.asc"}); err != nil {
		t.Fatal(err)
	}

	kr, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer kr.Close()
	k, err := kr.Key("")
	if err != nil {
		t.Fatal(err)
	}
	input, err := os.ReadFile("../../testdata/sample.txt")
	if err != nil {
		t.Fatal(err)
	}
	var sig bytes.Buffer
	if _, err := k.Sign(&sig, bytes.NewReader(input), SignOptions{Options: pgp.Options{Time: signed}}); err != nil {
		t.Fatal(err)
	}
	compareGolden(t, "cert.asc", certBuf.Bytes())
	compareGolden(t, "sample.txt.sig", sig.Bytes())
	verifytest.All(t, certBuf.Bytes(), input, sig.Bytes())
}

// certifyImported makes the golden certificate through the token's signer.
func certifyImported(t *testing.T, cfg *config.Config, id []byte) *pgp.Certificate {
	t.Helper()
	sel, _ := cfg.Token.Selector()
	pin, err := cfg.PIN()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := token.Open(token.Options{Module: sel.Module, Label: sel.Label, PIN: pin})
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	priv, err := tok.Key(id)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := pgp.NewCertificate(priv, "signstar golden <golden@example.org>", created, time.Time{}, crypto.SHA512)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := golden(t, name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/keyring -run TestGolden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\ngot  %x\nwant %x", name, got, want)
	}
}

func TestGenerateRefusesExistingName(t *testing.T) {
	hsm := tokentest.NewSoftHSM(t, "gen")
	cfg := newConfig(t, hsm)
	kr, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer kr.Close()
	n := NewKey{Name: "repo", Type: token.P256, UserID: "R <r@example.org>", Created: created}
	k, err := kr.Generate(n)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Keys["repo"].Default {
		t.Error("first key is not the default")
	}
	if got := k.Cert.Created(); !got.Equal(created) {
		t.Errorf("certificate created %v, want %v", got, created)
	}
	if _, err := kr.Generate(n); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second Generate: %v, want refusal", err)
	}
	if _, err := kr.Generate(NewKey{Name: "../x", Type: token.P256, UserID: "x", Created: created}); err == nil {
		t.Fatal("Generate accepted a path as a key name")
	}
}

// TestGenerateUndoesFailure: a key whose certificate cannot be made (here:
// an empty user ID) is taken off the token again and not configured.
func TestGenerateUndoesFailure(t *testing.T) {
	hsm := tokentest.NewSoftHSM(t, "undo")
	cfg := newConfig(t, hsm)
	kr, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer kr.Close()
	_, err = kr.Generate(NewKey{Name: "bad", Type: token.Ed25519, UserID: "", Created: created})
	if err == nil {
		t.Fatal("Generate with an empty user ID succeeded")
	}
	if _, ok := cfg.Keys["bad"]; ok {
		t.Error("failed key was added to the config")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(cfg.Path()), "certs", "bad.asc")); err == nil {
		t.Error("failed key left a certificate behind")
	}
	kr.Close()
	tool := testenv.Tool(t, "pkcs11-tool")
	cmd := exec.Command(tool, "--module", hsm.Module, "--token-label", hsm.Label, "--login", "--pin", hsm.PIN, "--list-objects")
	cmd.Env = append(os.Environ(), hsm.Env())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pkcs11-tool: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "Key Object") {
		t.Fatalf("the failed key pair is still on the token:\n%s", out)
	}
}
