package main

// signstar key x509 self-sign, csr and import on a SoftHSM2 token, checked
// with openssl (x509 -text, verify, req -verify; a throwaway CA made with
// openssl req -x509 issues certificates with openssl x509 -req and
// openssl ca) and pkcs11-tool (the token's public key).

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"signstar/internal/testenv"
	"signstar/pkg/config"
)

// TestX509SelfSign: the certificate carries the subject and the
// extensions of its usage, openssl verifies it against itself (and not
// with one byte of its signature changed), its public key is the token
// key's as pkcs11-tool reads it, and the config names it. A second one
// needs --replace.
func TestX509SelfSign(t *testing.T) {
	openssl := testenv.Tool(t, "openssl")
	tests := []struct {
		typ      string
		args     []string
		wantText []string
	}{
		{"rsa3072", nil, []string{"Code Signing", "sha256WithRSAEncryption", "Public-Key: (3072 bit)"}},
		{"p256", []string{"--usage", "kmod", "--days", "30"}, []string{"1.3.6.1.4.1.2312.16.1.2", "ecdsa-with-SHA256", "NIST CURVE: P-256"}},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			f := newFixture(t)
			f.generate("k", tt.typ)
			args := append([]string{"key", "x509", "self-sign", "--name", "k", "--subject", "CN=Example Secure Boot 2026,O=Example"}, tt.args...)
			fpr := strings.TrimSpace(string(f.ok(nil, args...)))
			cert := filepath.Join(f.dir, "certs", "k.pem")
			if fi, err := os.Stat(cert); err != nil || fi.Mode().Perm() != 0o644 {
				t.Fatalf("%s: %v %v, want mode 0644", cert, fi, err)
			}
			if got := opensslOut(t, openssl, "x509", "-noout", "-fingerprint", "-sha256", "-in", cert); got != "sha256 Fingerprint="+fpr {
				t.Errorf("printed fingerprint %s; openssl says %s", fpr, got)
			}
			text := opensslOut(t, openssl, "x509", "-noout", "-text", "-in", cert)
			for _, w := range append(tt.wantText, "Subject: O = Example, CN = Example Secure Boot 2026",
				"Issuer: O = Example, CN = Example Secure Boot 2026", "X509v3 Subject Key Identifier",
				"X509v3 Authority Key Identifier", "CA:FALSE", "Digital Signature") {
				if !strings.Contains(text, w) {
					t.Errorf("openssl x509 -text lacks %q:\n%s", w, text)
				}
			}
			opensslOut(t, openssl, "verify", "-check_ss_sig", "-CAfile", cert, cert)
			assertOpenSSLRejectsChange(t, openssl, cert)
			if got, want := certPublicKey(t, openssl, cert), f.tokenPublicKey(t, openssl, "k"); !bytes.Equal(got, want) {
				t.Error("the certificate's public key is not the token key's")
			}
			cfg, err := config.Load(f.conf)
			if err != nil || cfg.Keys["k"].X509 != "certs/k.pem" {
				t.Fatalf("config: %v, x509 = %q", err, cfg.Keys["k"].X509)
			}

			before := readT(t, cert)
			r := f.run(nil, "key", "x509", "self-sign", "--name", "k", "--subject", "CN=Second")
			assertError(t, r, exitRefused, `key "k" has an X.509 certificate already`)
			if !strings.Contains(string(r.stderr), "signstar: hint: give --replace") {
				t.Errorf("no hint for --replace: %s", r.stderr)
			}
			if !bytes.Equal(readT(t, cert), before) {
				t.Fatal("a refused self-sign changed the certificate")
			}
			f.ok(nil, "key", "x509", "self-sign", "--name", "k", "--subject", "CN=Second", "--replace")
			if got := opensslOut(t, openssl, "x509", "-noout", "-subject", "-in", cert); got != "subject=CN = Second" {
				t.Errorf("after --replace: %s", got)
			}
		})
	}
}

// TestX509Refusals: an Ed25519 key, a subject signstar does not read, and
// a key that is not configured, each in one line and before the token
// signs; nothing is written.
func TestX509Refusals(t *testing.T) {
	f := newFixture(t)
	f.generate("ed", "ed25519")
	f.generate("k", "p256")
	conf := readT(t, f.conf)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"ed25519 self-sign", []string{"self-sign", "--name", "ed", "--subject", "CN=x"}, exitRefused, "Ed25519 keys cannot sign kernel modules or UEFI images"},
		{"ed25519 csr", []string{"csr", "--name", "ed", "--subject", "CN=x"}, exitRefused, "Ed25519 keys cannot"},
		{"unknown attribute type", []string{"self-sign", "--name", "k", "--subject", "CN=x,E=x@example.org"}, exitRefused, `--subject: unknown attribute type "E"`},
		{"openssl's slash form", []string{"csr", "--name", "k", "--subject", "/CN=x"}, exitRefused, `unknown attribute type "/CN"`},
		{"days", []string{"self-sign", "--name", "k", "--subject", "CN=x", "--days", "0"}, exitRefused, "--days 0: want 1 to 36500"},
		{"usage", []string{"self-sign", "--name", "k", "--subject", "CN=x", "--usage", "tls"}, exitRefused, "--usage"},
		{"unknown key", []string{"self-sign", "--name", "nope", "--subject", "CN=x"}, exitFailed, `key "nope" is not configured`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertError(t, f.run(nil, append([]string{"key", "x509"}, tt.args...)...), tt.code, tt.want)
		})
	}
	if _, err := os.Stat(filepath.Join(f.dir, "certs", "ed.pem")); err == nil {
		t.Error("a refused self-sign wrote certs/ed.pem")
	}
	if _, err := os.Stat(filepath.Join(f.dir, "certs", "k.pem")); err == nil {
		t.Error("a refused self-sign wrote certs/k.pem")
	}
	if !bytes.Equal(readT(t, f.conf), conf) {
		t.Error("a refusal changed the config")
	}
}

// TestX509CSRImport: openssl req -verify accepts the CSR; a throwaway CA
// issues a certificate for it, which imports with the CA as chain. A
// certificate the CA issued for another key, an expired one and one not
// yet valid are refused in one line, and nothing is written.
func TestX509CSRImport(t *testing.T) {
	openssl := testenv.Tool(t, "openssl")
	f := newFixture(t)
	f.generate("k", "p256")
	dir := t.TempDir()
	csr := filepath.Join(dir, "k.csr")
	writeT(t, csr, f.ok(nil, "key", "x509", "csr", "--name", "k", "--subject", "CN=Example Kernel Modules,O=Example"))
	if out := opensslOut(t, openssl, "req", "-verify", "-noout", "-subject", "-in", csr); !strings.Contains(out, "verify OK") ||
		!strings.Contains(out, "subject=O = Example, CN = Example Kernel Modules") {
		t.Fatalf("openssl req -verify: %s", out)
	}
	if got, want := csrPublicKey(t, openssl, csr), f.tokenPublicKey(t, openssl, "k"); !bytes.Equal(got, want) {
		t.Fatal("the CSR's public key is not the token key's")
	}

	ca := newOpenSSLCA(t, openssl, dir)
	good := ca.issue(t, csr, "good.pem")
	// Another key's certificate from the same CA.
	otherCSR := filepath.Join(dir, "other.csr")
	opensslOut(t, openssl, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", filepath.Join(dir, "other.key"), "-subj", "/CN=Other", "-out", otherCSR)
	other := ca.issue(t, otherCSR, "other.pem")
	expired := ca.issueAt(t, csr, "expired.pem", "20200101000000Z", "20200102000000Z")
	notYet := ca.issueAt(t, csr, "notyet.pem", "20991231000000Z", "21000101000000Z")

	conf := readT(t, f.conf)
	stored := filepath.Join(f.dir, "certs", "k.pem")
	for _, tt := range []struct {
		name, cert, want string
		chain            []string
	}{
		{"another key", other, "is for another key: its public key is sha256:", []string{ca.cert}},
		{"expired", expired, `certificate "CN=Example Kernel Modules,O=Example" expired on 2020-01-02T00:00:00Z`, []string{ca.cert}},
		{"not yet valid", notYet, "is not valid before 2099-12-31T00:00:00Z", []string{ca.cert}},
		{"no chain", good, `is issued by CN=Throwaway CA: give that issuer's certificate`, nil},
		{"wrong chain", good, `does not verify up to "CN=Other"`, []string{other}},
		{"not a certificate", otherCSR, `PEM block "CERTIFICATE REQUEST": want CERTIFICATE`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := f.run(nil, append([]string{"key", "x509", "import", "--name", "k", tt.cert}, tt.chain...)...)
			assertError(t, r, exitRefused, tt.want)
			if _, err := os.Stat(stored); err == nil {
				t.Fatal("a refused import wrote certs/k.pem")
			}
			if !bytes.Equal(readT(t, f.conf), conf) {
				t.Fatal("a refused import changed the config")
			}
		})
	}

	fpr := strings.TrimSpace(string(f.ok(nil, "key", "x509", "import", "--name", "k", good, ca.cert)))
	if got := opensslOut(t, openssl, "x509", "-noout", "-fingerprint", "-sha256", "-in", good); got != "sha256 Fingerprint="+fpr {
		t.Errorf("printed fingerprint %s; openssl says %s", fpr, got)
	}
	// The stored file: the certificate, then the CA; openssl verifies it.
	if want := append(readT(t, good), readT(t, ca.cert)...); !bytes.Equal(normalizePEM(t, openssl, stored), normalizePEM(t, openssl, writeT(t, filepath.Join(dir, "want.pem"), want))) {
		t.Errorf("certs/k.pem holds:\n%s", readT(t, stored))
	}
	opensslOut(t, openssl, "verify", "-CAfile", ca.cert, stored)
	assertError(t, f.run(nil, "key", "x509", "import", "--name", "k", good, ca.cert), exitRefused, "has an X.509 certificate already")
}

// openSSLCA is a throwaway CA made with openssl.
type openSSLCA struct {
	openssl, dir, cert, key, conf string
}

func newOpenSSLCA(t *testing.T, openssl, dir string) openSSLCA {
	t.Helper()
	ca := openSSLCA{openssl: openssl, dir: dir, cert: filepath.Join(dir, "ca.pem"), key: filepath.Join(dir, "ca.key"), conf: filepath.Join(dir, "ca.cnf")}
	opensslOut(t, openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", ca.key, "-subj", "/CN=Throwaway CA", "-days", "2", "-out", ca.cert)
	writeT(t, filepath.Join(dir, "index.txt"), nil)
	writeT(t, filepath.Join(dir, "ext.cnf"), []byte("basicConstraints=critical,CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=codeSigning\n"))
	// openssl ca, for the validity periods openssl x509 -req cannot set.
	writeT(t, ca.conf, []byte(`[ ca ]
default_ca = throwaway
[ throwaway ]
database = `+dir+`/index.txt
new_certs_dir = `+dir+`
serial = `+dir+`/serial
default_md = sha256
policy = any
unique_subject = no
[ any ]
commonName = supplied
organizationName = optional
`))
	writeT(t, filepath.Join(dir, "serial"), []byte("01\n"))
	return ca
}

// issue has the CA issue a certificate for csr, valid from now on.
func (ca openSSLCA) issue(t *testing.T, csr, name string) string {
	t.Helper()
	out := filepath.Join(ca.dir, name)
	opensslOut(t, ca.openssl, "x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-days", "1",
		"-extfile", filepath.Join(ca.dir, "ext.cnf"), "-out", out)
	return out
}

// issueAt has the CA issue a certificate for csr valid from start to end.
func (ca openSSLCA) issueAt(t *testing.T, csr, name, start, end string) string {
	t.Helper()
	out := filepath.Join(ca.dir, name)
	opensslOut(t, ca.openssl, "ca", "-batch", "-config", ca.conf, "-cert", ca.cert, "-keyfile", ca.key, "-in", csr,
		"-startdate", start, "-enddate", end, "-extfile", filepath.Join(ca.dir, "ext.cnf"), "-notext", "-out", out)
	return out
}

// tokenPublicKey is key name's public key as pkcs11-tool reads it off the
// token, DER SubjectPublicKeyInfo as openssl writes it.
func (f *fixture) tokenPublicKey(t *testing.T, openssl, name string) []byte {
	t.Helper()
	cfg, err := config.Load(f.conf)
	if err != nil {
		t.Fatal(err)
	}
	der := filepath.Join(t.TempDir(), "pub.der")
	if out, err := f.p11("--read-object", "--type", "pubkey", "--id", cfg.Keys[name].ID, "--output-file", der).run(); err != nil {
		t.Fatalf("pkcs11-tool --read-object: %v\n%s", err, out)
	}
	return opensslBytes(t, openssl, "pkey", "-pubin", "-inform", "DER", "-in", der, "-outform", "DER")
}

func certPublicKey(t *testing.T, openssl, cert string) []byte {
	t.Helper()
	pub := writeT(t, filepath.Join(t.TempDir(), "pub.pem"), opensslBytes(t, openssl, "x509", "-noout", "-pubkey", "-in", cert))
	return opensslBytes(t, openssl, "pkey", "-pubin", "-in", pub, "-outform", "DER")
}

func csrPublicKey(t *testing.T, openssl, csr string) []byte {
	t.Helper()
	pub := writeT(t, filepath.Join(t.TempDir(), "pub.pem"), opensslBytes(t, openssl, "req", "-noout", "-pubkey", "-in", csr))
	return opensslBytes(t, openssl, "pkey", "-pubin", "-in", pub, "-outform", "DER")
}

// assertOpenSSLRejectsChange: cert with one byte of its signature
// changed fails openssl verify -check_ss_sig.
func assertOpenSSLRejectsChange(t *testing.T, openssl, cert string) {
	t.Helper()
	der := opensslBytes(t, openssl, "x509", "-in", cert, "-outform", "DER")
	der[len(der)-3] ^= 1
	bad := writeT(t, filepath.Join(t.TempDir(), "bad.der"), der)
	badPEM := filepath.Join(t.TempDir(), "bad.pem")
	opensslOut(t, openssl, "x509", "-inform", "DER", "-in", bad, "-out", badPEM)
	if out, err := exec.Command(openssl, "verify", "-check_ss_sig", "-CAfile", badPEM, badPEM).CombinedOutput(); err == nil {
		t.Errorf("openssl verify accepted a changed signature:\n%s", out)
	}
}

// normalizePEM is every certificate of a PEM file, as openssl re-encodes
// them.
func normalizePEM(t *testing.T, openssl, path string) []byte {
	t.Helper()
	return opensslBytes(t, openssl, "crl2pkcs7", "-nocrl", "-certfile", path, "-outform", "DER")
}

// opensslOut runs openssl and returns what it printed, stdout and stderr
// (openssl req -verify says "verify OK" on stderr).
func opensslOut(t *testing.T, openssl string, args ...string) string {
	t.Helper()
	out, err := exec.Command(openssl, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// opensslBytes runs openssl and returns its standard output.
func opensslBytes(t *testing.T, openssl string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(openssl, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

func readT(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func writeT(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
