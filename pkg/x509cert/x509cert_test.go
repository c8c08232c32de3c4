package x509cert

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"signstar/internal/testenv"
)

// keys stand in for the token's: crypto.Signers of each supported type.
func testKey(t *testing.T, typ string) crypto.Signer {
	t.Helper()
	var k crypto.Signer
	var err error
	switch typ {
	case "rsa2048":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case "rsa1024":
		k, err = rsa.GenerateKey(rand.Reader, 1024)
	case "p256":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "p384":
		k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "p521":
		k, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "ed25519":
		_, k, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("BUG: key type %q", typ)
	}
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustSubject(t *testing.T, s string) pkix.Name {
	t.Helper()
	n, err := ParseSubject(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSelfSign(t *testing.T) {
	tests := []struct {
		key     string
		usage   Usage
		wantAlg x509.SignatureAlgorithm
	}{
		{"rsa2048", CodeSigning, x509.SHA256WithRSA},
		{"p256", ModuleSigning, x509.ECDSAWithSHA256},
		{"p384", CodeSigning, x509.ECDSAWithSHA384},
	}
	for _, tt := range tests {
		t.Run(tt.key+"/"+tt.usage.String(), func(t *testing.T) {
			key := testKey(t, tt.key)
			cert, err := SelfSign(key, mustSubject(t, "CN=Test Key,O=Example"), 30, tt.usage)
			if err != nil {
				t.Fatal(err)
			}
			checkSelfSigned(t, cert, key, tt.usage)
			if cert.SignatureAlgorithm != tt.wantAlg {
				t.Errorf("signature algorithm %v, want %v", cert.SignatureAlgorithm, tt.wantAlg)
			}
			if d := cert.NotAfter.Sub(cert.NotBefore).Hours(); d != 30*24 {
				t.Errorf("valid for %v hours, want 30 days", d)
			}
		})
	}
}

// checkSelfSigned checks what the kernel's genkey and the usage ask for.
func checkSelfSigned(t *testing.T, cert *x509.Certificate, key crypto.Signer, usage Usage) {
	t.Helper()
	if err := SameKey(cert, key.Public()); err != nil {
		t.Error(err)
	}
	if err := selfSigned(cert); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	if got := cert.Subject.String(); got != "CN=Test Key,O=Example" {
		t.Errorf("subject %q", got)
	}
	if !cert.BasicConstraintsValid || cert.IsCA {
		t.Error("want basicConstraints CA:FALSE")
	}
	for _, e := range cert.Extensions {
		if e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 19}) && !e.Critical {
			t.Error("basicConstraints is not critical")
		}
	}
	if cert.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("key usage %b, want digitalSignature only", cert.KeyUsage)
	}
	skid, _ := SubjectKeyID(key.Public())
	if !bytes.Equal(cert.SubjectKeyId, skid) || !bytes.Equal(cert.AuthorityKeyId, skid) {
		t.Errorf("SKID %x, AKID %x, want both %x", cert.SubjectKeyId, cert.AuthorityKeyId, skid)
	}
	if n := cert.SerialNumber; n.Sign() <= 0 || n.BitLen() > 128 {
		t.Errorf("serial %v: want positive, at most 128 bits", n)
	}
	switch usage {
	case CodeSigning:
		if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageCodeSigning || len(cert.UnknownExtKeyUsage) != 0 {
			t.Errorf("EKU %v %v, want codeSigning only", cert.ExtKeyUsage, cert.UnknownExtKeyUsage)
		}
	case ModuleSigning:
		if len(cert.ExtKeyUsage) != 0 || len(cert.UnknownExtKeyUsage) != 1 || !cert.UnknownExtKeyUsage[0].Equal(OIDModuleSigning) {
			t.Errorf("EKU %v %v, want 1.3.6.1.4.1.2312.16.1.2 only", cert.ExtKeyUsage, cert.UnknownExtKeyUsage)
		}
	}
}

func TestSelfSignRefuses(t *testing.T) {
	tests := []struct {
		key     string
		days    int
		wantErr string
		keyType bool
	}{
		{"ed25519", 30, "Ed25519 keys cannot sign kernel modules or UEFI images", true},
		{"rsa1024", 30, "RSA key of 1024 bits; want 2048 or more", true},
		{"p521", 30, "ECDSA curve P-521; want P-256 or P-384", true},
		{"p256", 0, "validity of 0 days: want 1 to 36500", false},
		{"p256", 36501, "validity of 36501 days", false},
	}
	for _, tt := range tests {
		t.Run(tt.wantErr, func(t *testing.T) {
			key := &countingSigner{Signer: testKey(t, tt.key)}
			_, err := SelfSign(key, mustSubject(t, "CN=x"), tt.days, CodeSigning)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || errors.Is(err, ErrKeyType) != tt.keyType {
				t.Fatalf("SelfSign: %v, want %q (ErrKeyType: %v)", err, tt.wantErr, tt.keyType)
			}
			if key.n != 0 {
				t.Fatalf("the key signed %d times before the refusal", key.n)
			}
			if !tt.keyType {
				return
			}
			if _, err := CSR(key, mustSubject(t, "CN=x")); !errors.Is(err, ErrKeyType) {
				t.Fatalf("CSR: %v, want ErrKeyType", err)
			}
			if key.n != 0 {
				t.Fatalf("the key signed %d times before the refusal", key.n)
			}
		})
	}
}

type countingSigner struct {
	crypto.Signer
	n int
}

func (s *countingSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	s.n++
	return s.Signer.Sign(r, d, o)
}

// badSigner signs with another key: a token gone wrong.
type badSigner struct {
	crypto.Signer
	other crypto.Signer
}

func (s badSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	return s.other.Sign(r, d, o)
}

func TestSelfSignChecksTheSignature(t *testing.T) {
	key := badSigner{testKey(t, "p256"), testKey(t, "p256")}
	if _, err := SelfSign(key, mustSubject(t, "CN=x"), 1, CodeSigning); err == nil {
		t.Fatal("SelfSign accepted a signature by another key")
	}
	if _, err := CSR(key, mustSubject(t, "CN=x")); err == nil {
		t.Fatal("CSR accepted a signature by another key")
	}
}

// TestSelfSignOpenSSL: openssl shows the extensions and verifies the
// certificate against itself; one byte of the signature changed, it
// refuses (with -check_ss_sig: a trust anchor's signature is not
// checked otherwise). openssl's own subjectKeyIdentifier=hash for the same key is
// the certificate's.
func TestSelfSignOpenSSL(t *testing.T) {
	openssl := testenv.Tool(t, "openssl")
	for _, tt := range []struct {
		key      string
		usage    Usage
		wantText []string
	}{
		{"rsa2048", CodeSigning, []string{"Subject: O = Example, CN = Test Key", "Code Signing", "CA:FALSE", "Digital Signature", "sha256WithRSAEncryption", "X509v3 Subject Key Identifier", "X509v3 Authority Key Identifier"}},
		{"p384", ModuleSigning, []string{"1.3.6.1.4.1.2312.16.1.2", "ecdsa-with-SHA384", "critical"}},
	} {
		t.Run(tt.key, func(t *testing.T) {
			dir := t.TempDir()
			key := testKey(t, tt.key)
			cert, err := SelfSign(key, mustSubject(t, "CN=Test Key,O=Example"), 30, tt.usage)
			if err != nil {
				t.Fatal(err)
			}
			certFile := writeFile(t, dir, "cert.pem", EncodePEM(cert))
			text := run(t, openssl, "x509", "-noout", "-text", "-in", certFile)
			for _, w := range tt.wantText {
				if !strings.Contains(text, w) {
					t.Errorf("openssl x509 -text lacks %q:\n%s", w, text)
				}
			}
			run(t, openssl, "verify", "-CAfile", certFile, certFile)
			// A trust anchor's own signature is checked only on request.
			run(t, openssl, "verify", "-check_ss_sig", "-CAfile", certFile, certFile)

			bad := bytes.Clone(cert.Raw)
			bad[len(bad)-3] ^= 1 // in the signature
			badFile := writeFile(t, dir, "bad.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: bad}))
			if out, err := exec.Command(openssl, "verify", "-check_ss_sig", "-CAfile", badFile, badFile).CombinedOutput(); err == nil {
				t.Errorf("openssl verify accepted a changed signature:\n%s", out)
			}

			keyFile := writeFile(t, dir, "key.pem", pkcs8(t, key))
			ref := writeFile(t, dir, "ref.pem", nil)
			run(t, openssl, "req", "-x509", "-new", "-key", keyFile, "-subj", "/CN=ref", "-days", "1",
				"-addext", "subjectKeyIdentifier=hash", "-out", ref)
			refCert, err := ParseCertificates(readFile(t, ref))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(refCert[0].SubjectKeyId, cert.SubjectKeyId) {
				t.Errorf("SKID %x, openssl's %x", cert.SubjectKeyId, refCert[0].SubjectKeyId)
			}
		})
	}
}

// TestCSROpenSSL: openssl req -verify accepts the request, and refuses it
// with one byte of the signature changed.
func TestCSROpenSSL(t *testing.T) {
	openssl := testenv.Tool(t, "openssl")
	for _, typ := range []string{"rsa2048", "p256"} {
		t.Run(typ, func(t *testing.T) {
			dir := t.TempDir()
			csr, err := CSR(testKey(t, typ), mustSubject(t, "CN=Test Key,O=Example"))
			if err != nil {
				t.Fatal(err)
			}
			// openssl 3.0's req -verify exits 0 on a bad signature too:
			// what it prints is the verdict.
			out := run(t, openssl, "req", "-verify", "-noout", "-subject", "-in", writeFile(t, dir, "req.pem", csr))
			if !strings.Contains(out, "verify OK") || !strings.Contains(out, "subject=O = Example, CN = Test Key") {
				t.Errorf("openssl req -verify -subject: %s", out)
			}
			b, _ := pem.Decode(csr)
			b.Bytes[len(b.Bytes)-3] ^= 1
			bad := writeFile(t, dir, "bad.pem", pem.EncodeToMemory(b))
			if out, _ := exec.Command(openssl, "req", "-verify", "-noout", "-in", bad).CombinedOutput(); !strings.Contains(string(out), "verify failure") {
				t.Errorf("openssl req -verify accepted a changed signature:\n%s", out)
			}
		})
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func pkcs8(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}
