package main

// signstar key show, checked against what gpg, openssl and pkcs11-tool
// read: the fingerprint, creation and expiry gpg reads from the exported
// certificate, the X.509 fingerprint openssl prints, the CKA_ID
// pkcs11-tool lists; a key pair gone from the token is shown, not an
// error.

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"signstar/internal/testenv"
	"signstar/internal/verifytest"
)

// showFields reads key show's "field: value" lines.
func showFields(t *testing.T, out []byte) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("key show line %q is not field: value", line)
		}
		m[k] = strings.TrimSpace(v)
	}
	return m
}

// gpgPub is the pub record gpg --show-keys --with-colons prints for cert
// (GnuPG's doc/DETAILS: field 6 creation, field 7 expiry, seconds since
// the epoch).
func gpgPub(t *testing.T, cert []byte) []string {
	t.Helper()
	gpg := testenv.Tool(t, "gpg")
	dir := t.TempDir()
	file := writeT(t, filepath.Join(dir, "cert.asc"), cert)
	out, err := exec.Command(gpg, "--homedir", dir, "--batch", "--with-colons", "--show-keys", file).Output()
	if err != nil {
		t.Fatalf("gpg --show-keys: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Split(line, ":"); f[0] == "pub" {
			return f
		}
	}
	t.Fatalf("no pub record in\n%s", out)
	return nil
}

func epoch(t *testing.T, s string) string {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("gpg time %q: %v", s, err)
	}
	return time.Unix(n, 0).UTC().Format(time.RFC3339)
}

func TestKeyShow(t *testing.T) {
	openssl := testenv.Tool(t, "openssl")
	f := newFixture(t)
	f.generate("main", "ed25519")
	f.ok(nil, "key", "generate", "--name", "repo", "--type", "p256", "--uid", "Repo <repo@example.org>", "--expires", "2y")
	f.ok(nil, "key", "x509", "self-sign", "--name", "repo", "--subject", "CN=Repo Modules,O=Example")
	allow := "SHA256:" + strings.Repeat("A", 43)
	appendFile(t, f.conf, "allow = [\""+allow+"\"]\nnotations = [{ name = \"build-host@example.org\", value = \"sign1\" }]\n")
	cert := f.ok(nil, "key", "export", "--name", "repo")
	pub := gpgPub(t, cert)
	id := f.keyID("repo")

	got := showFields(t, f.ok(nil, "key", "show", "--name", "repo"))
	want := map[string]string{
		"name":        "repo",
		"fingerprint": verifytest.Fingerprint(t, cert),
		"type":        "p256",
		"created":     epoch(t, pub[5]),
		"expires":     epoch(t, pub[6]),
		"revoked":     "no",
		"user ID":     "Repo <repo@example.org>",
		"allow":       allow,
		"notations":   `build-host@example.org="sign1"`,
		"certificate": filepath.Join(f.dir, "certs", "repo.asc"),
		"token id":    id + " (CKA_ID)",
		"on token":    "yes, EC P-256, sensitive, not extractable, never extractable, generated on the token",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	x509fpr := strings.TrimPrefix(opensslOut(t, openssl, "x509", "-in", filepath.Join(f.dir, "certs", "repo.pem"), "-noout", "-fingerprint", "-sha256"), "sha256 Fingerprint=")
	x509fpr = strings.TrimPrefix(x509fpr, "SHA256 Fingerprint=")
	for _, w := range []string{"CN=Repo Modules,O=Example", x509fpr, filepath.Join(f.dir, "certs", "repo.pem")} {
		if !strings.Contains(got["x509"], w) {
			t.Errorf("x509: %q, want %q in it", got["x509"], w)
		}
	}
	if ids := f.tokenIDs(); ids[id] != 2 {
		t.Errorf("pkcs11-tool lists %d objects with the id key show gives, want 2", ids[id])
	}

	other := showFields(t, f.ok(nil, "key", "show")) // the default key
	for k, v := range map[string]string{"name": "main (default)", "type": "ed25519", "expires": "never", "allow": "every authorized SSH key",
		"notations": "-", "x509": "-", "on token": "yes, Ed25519, sensitive, not extractable, never extractable, generated on the token"} {
		if other[k] != v {
			t.Errorf("default key %s: %q, want %q", k, other[k], v)
		}
	}

	// The key pair gone from the token: shown, exit 0.
	for _, typ := range []string{"privkey", "pubkey"} {
		if out, err := f.p11("--delete-object", "--type", typ, "--id", id).run(); err != nil {
			t.Fatalf("pkcs11-tool --delete-object: %v\n%s", err, out)
		}
	}
	got = showFields(t, f.ok(nil, "key", "show", "--name", "repo"))
	if w := "no: the token has no private key with id " + id; got["on token"] != w {
		t.Errorf("on token: %q, want %q", got["on token"], w)
	}
	assertError(t, f.run(nil, "key", "show", "--name", "nope"), exitFailed, `key "nope" is not configured`)
}
