package cms

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
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"signstar/internal/testenv"
)

// testSigner is a software key and a self-signed code-signing certificate
// for it, written as PEM files for openssl.
type testSigner struct {
	key      crypto.Signer
	cert     *x509.Certificate
	keyFile  string
	certFile string
}

func newTestSigner(t *testing.T, key crypto.Signer) testSigner {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(0x1234567890abcdef),
		Subject:               pkix.Name{CommonName: "signstar test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
		SubjectKeyId:          []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ts := testSigner{key: key, cert: cert, keyFile: filepath.Join(dir, "key.pem"), certFile: filepath.Join(dir, "cert.pem")}
	writeFile(t, ts.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	writeFile(t, ts.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return ts
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

func rsaKey(t *testing.T) crypto.Signer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ecKey(t *testing.T, c elliptic.Curve) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func digestOf(h crypto.Hash, data []byte) []byte {
	d := h.New()
	d.Write(data)
	return d.Sum(nil)
}

// opensslVerify runs openssl cms -verify on a detached signature of content
// and returns its combined output and whether it accepted.
func opensslVerify(t *testing.T, ts testSigner, sig, content []byte, extra ...string) (string, bool) {
	t.Helper()
	openssl := testenv.Tool(t, "openssl")
	dir := t.TempDir()
	args := []string{"cms", "-verify", "-binary", "-inform", "DER",
		"-in", writeFile(t, filepath.Join(dir, "sig.der"), sig),
		"-content", writeFile(t, filepath.Join(dir, "content"), content),
		// The certificate is self-signed and for code signing, not for
		// S/MIME: it is its own trust anchor, for any purpose.
		"-CAfile", ts.certFile, "-purpose", "any",
		"-out", filepath.Join(dir, "out")}
	out, err := exec.Command(openssl, append(args, extra...)...).CombinedOutput()
	return string(out), err == nil
}

func TestSignVerifiedByOpenSSL(t *testing.T) {
	rsa2048 := newTestSigner(t, rsaKey(t))
	p256 := newTestSigner(t, ecKey(t, elliptic.P256()))
	p384 := newTestSigner(t, ecKey(t, elliptic.P384()))
	tests := []struct {
		name  string
		ts    testSigner
		hash  crypto.Hash
		opts  Options
		extra []string
	}{
		{"rsa sha256 attributes", rsa2048, crypto.SHA256, Options{}, nil},
		{"rsa sha384 no attributes", rsa2048, crypto.SHA384, Options{NoAttributes: true}, nil},
		{"rsa sha512 subject key id", rsa2048, crypto.SHA512, Options{SubjectKeyID: true}, nil},
		{"rsa no certs", rsa2048, crypto.SHA256, Options{NoCerts: true, NoAttributes: true}, []string{"-certfile", rsa2048.certFile}},
		{"p256 sha256 attributes", p256, crypto.SHA256, Options{}, nil},
		{"p256 sha512 no attributes", p256, crypto.SHA512, Options{NoAttributes: true}, nil},
		{"p384 sha384 subject key id no certs", p384, crypto.SHA384, Options{SubjectKeyID: true, NoCerts: true}, []string{"-certfile", p384.certFile}},
		{"signing time 2051 (GeneralizedTime)", rsa2048, crypto.SHA256, Options{SigningTime: time.Date(2051, 1, 2, 3, 4, 5, 0, time.UTC)}, nil},
	}
	content := []byte("signstar detached CMS test content\n\x00\xff binary")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Signer{Key: tt.ts.key, Cert: tt.ts.cert, Hash: tt.hash}
			sig, err := s.Sign(digestOf(tt.hash, content), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if out, ok := opensslVerify(t, tt.ts, sig, content, tt.extra...); !ok {
				t.Fatalf("openssl cms -verify refused the signature:\n%s", out)
			}
			changed := bytes.Clone(content)
			changed[3] ^= 1
			out, ok := opensslVerify(t, tt.ts, sig, changed, tt.extra...)
			if ok {
				t.Fatal("openssl cms -verify accepted the signature of changed content")
			}
			// CMS_SignerInfo_verify_content: the message digest attribute
			// or, without attributes, the signature does not match.
			if !strings.Contains(out, "verify_content:verification failure") {
				t.Errorf("openssl cms -verify refused changed content for another reason:\n%s", out)
			}
		})
	}
}

// TestSignMatchesOpenSSL compares the DER with what openssl cms -sign
// writes for the same deterministic RSA key without signed attributes
// (with attributes, openssl's signing time and S/MIME capabilities differ).
func TestSignMatchesOpenSSL(t *testing.T) {
	openssl := testenv.Tool(t, "openssl")
	ts := newTestSigner(t, rsaKey(t))
	content := []byte("content signed by both\n")
	dir := t.TempDir()
	contentFile := writeFile(t, filepath.Join(dir, "content"), content)
	tests := []struct {
		name  string
		cmd   string // openssl cms, or openssl smime for OpenSSL's PKCS7 API
		hash  crypto.Hash
		md    string
		opts  Options
		flags []string
	}{
		{"sha256 issuer and serial", "cms", crypto.SHA256, "sha256", Options{NoAttributes: true, NoCerts: true}, []string{"-nocerts"}},
		{"sha512 subject key id", "cms", crypto.SHA512, "sha512", Options{NoAttributes: true, NoCerts: true, SubjectKeyID: true}, []string{"-nocerts", "-keyid"}},
		{"sha384 with certificate", "cms", crypto.SHA384, "sha384", Options{NoAttributes: true}, nil},
		{"pkcs7 null digest parameters", "smime", crypto.SHA256, "sha256", Options{NoAttributes: true, PKCS7: true, NullDigestParams: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Signer{Key: ts.key, Cert: ts.cert, Hash: tt.hash}
			got, err := s.Sign(digestOf(tt.hash, content), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			args := append([]string{tt.cmd, "-sign", "-binary", "-noattr", "-md", tt.md, "-in", contentFile,
				"-signer", ts.certFile, "-inkey", ts.keyFile, "-outform", "DER"}, tt.flags...)
			want, err := exec.Command(openssl, args...).Output()
			if err != nil {
				t.Fatalf("openssl %s -sign: %v", tt.cmd, err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("DER differs from openssl %s -sign's:\n got %x\nwant %x", tt.cmd, got, want)
			}
		})
	}
}

func TestSignEmbeddedContent(t *testing.T) {
	openssl := testenv.Tool(t, "openssl")
	ts := newTestSigner(t, rsaKey(t))
	content := []byte("embedded content\n")
	s := &Signer{Key: ts.key, Cert: ts.cert, Hash: crypto.SHA256}
	sig, err := s.Sign(digestOf(crypto.SHA256, content), Options{Content: content})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out, err := exec.Command(openssl, "cms", "-verify", "-binary", "-inform", "DER",
		"-in", writeFile(t, filepath.Join(dir, "sig.der"), sig), "-CAfile", ts.certFile, "-purpose", "any").Output()
	if err != nil {
		t.Fatalf("openssl cms -verify refused embedded content: %v", err)
	}
	if !bytes.Equal(out, content) {
		t.Errorf("openssl cms -verify gave back %q, want %q", out, content)
	}
}

// signedAttrs parses the SignerInfo's signed attributes out of a ContentInfo.
func signedAttrs(t *testing.T, der []byte) (version int, attrs []asn1.RawValue) {
	t.Helper()
	var ci struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue `asn1:"explicit,tag:0"`
	}
	var sd struct {
		Version     int
		Digests     asn1.RawValue
		Encap       asn1.RawValue
		Certs       asn1.RawValue `asn1:"optional,tag:0"`
		SignerInfos []struct {
			Version int
			SID     asn1.RawValue
			Digest  asn1.RawValue
			Attrs   []asn1.RawValue `asn1:"optional,tag:0"`
			Rest    asn1.RawValue
			Sig     []byte
		} `asn1:"set"`
	}
	if _, err := asn1.Unmarshal(der, &ci); err != nil {
		t.Fatal(err)
	}
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		t.Fatal(err)
	}
	return sd.Version, sd.SignerInfos[0].Attrs
}

func TestSignAttributesOrdered(t *testing.T) {
	ts := newTestSigner(t, ecKey(t, elliptic.P256()))
	s := &Signer{Key: ts.key, Cert: ts.cert, Hash: crypto.SHA256}
	extra := []Attribute{
		{Type: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 12}, Value: asn1.RawValue{FullBytes: []byte{0x30, 0x00}}},
		{Type: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 11}, Value: asn1.RawValue{FullBytes: []byte{0x30, 0x0c, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x15}}},
	}
	tests := []struct {
		name        string
		opts        Options
		wantVersion int
	}{
		{"data", Options{Attributes: extra}, 1},
		{"other content type", Options{Attributes: extra, ContentType: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 4}, Content: []byte{0x30, 0x00}}, 3},
		{"pkcs7 other content type", Options{Attributes: extra, PKCS7: true, ContentType: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 4}, Content: []byte{0x30, 0x00}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig, err := s.Sign(make([]byte, 32), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			v, attrs := signedAttrs(t, sig)
			if v != tt.wantVersion {
				t.Errorf("SignedData version %d, want %d", v, tt.wantVersion)
			}
			if len(attrs) != 5 {
				t.Fatalf("%d signed attributes, want 5", len(attrs))
			}
			for i := 1; i < len(attrs); i++ {
				if bytes.Compare(attrs[i-1].FullBytes, attrs[i].FullBytes) > 0 {
					t.Errorf("signed attribute %d sorts after %d: %x > %x", i-1, i, attrs[i-1].FullBytes, attrs[i].FullBytes)
				}
			}
		})
	}
}

func TestSignRefuses(t *testing.T) {
	rsaTS := newTestSigner(t, rsaKey(t))
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	edTS := newTestSigner(t, edKey)
	p521 := newTestSigner(t, ecKey(t, elliptic.P521()))
	other := rsaKey(t)
	dup := []Attribute{{Type: OIDSigningTime, Value: asn1.RawValue{FullBytes: mustMarshal(time.Now().UTC())}}}
	tests := []struct {
		name    string
		s       Signer
		digest  int
		opts    Options
		wantErr string
	}{
		{"ed25519", Signer{Key: edKey, Cert: edTS.cert, Hash: crypto.SHA256}, 32, Options{}, "ed25519.PublicKey keys are not supported"},
		{"p521", Signer{Key: p521.key, Cert: p521.cert, Hash: crypto.SHA512}, 64, Options{}, "curve P-521 is not supported"},
		{"sha1", Signer{Key: rsaTS.key, Cert: rsaTS.cert, Hash: crypto.SHA1}, 20, Options{}, "hash SHA-1 is not supported"},
		{"key not the certificate's", Signer{Key: other, Cert: rsaTS.cert, Hash: crypto.SHA256}, 32, Options{}, "the key is not the certificate's"},
		{"short digest", Signer{Key: rsaTS.key, Cert: rsaTS.cert, Hash: crypto.SHA256}, 20, Options{}, "digest is 20 bytes"},
		{"pkcs7 subject key id", Signer{Key: rsaTS.key, Cert: rsaTS.cert, Hash: crypto.SHA256}, 32, Options{PKCS7: true, SubjectKeyID: true}, "PKCS #7 has no subjectKeyIdentifier"},
		{"attribute twice", Signer{Key: rsaTS.key, Cert: rsaTS.cert, Hash: crypto.SHA256}, 32, Options{Attributes: dup}, "given twice"},
		{"extra attributes without attributes", Signer{Key: rsaTS.key, Cert: rsaTS.cert, Hash: crypto.SHA256}, 32, Options{NoAttributes: true, Attributes: dup}, "without signed attributes"},
		{"pkcs7 content not DER", Signer{Key: rsaTS.key, Cert: rsaTS.cert, Hash: crypto.SHA256}, 32, Options{PKCS7: true, Content: []byte{0x30, 0x05}}, "not one DER value"},
		{"signing time year 10000", Signer{Key: rsaTS.key, Cert: rsaTS.cert, Hash: crypto.SHA256}, 32, Options{SigningTime: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, "cannot be encoded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.s.Sign(make([]byte, tt.digest), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Sign error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// badSigner returns a signature that is not the key's, as a faulty token
// might.
type badSigner struct{ crypto.Signer }

func (b badSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := b.Signer.Sign(r, digest, opts)
	if err == nil {
		sig[len(sig)/2] ^= 1
	}
	return sig, err
}

func TestSignRefusesBadSignature(t *testing.T) {
	for _, key := range []crypto.Signer{rsaKey(t), ecKey(t, elliptic.P256())} {
		ts := newTestSigner(t, key)
		s := &Signer{Key: badSigner{key}, Cert: ts.cert, Hash: crypto.SHA256}
		if _, err := s.Sign(make([]byte, 32), Options{}); err == nil || !strings.Contains(err.Error(), "does not verify") {
			t.Errorf("%T: Sign with a faulty signature: %v, want a refusal", key, err)
		}
	}
}

// issue makes a certificate for key signed by parent's key (self-signed
// when parent is nil).
func issue(t *testing.T, cn string, key crypto.Signer, isCA bool, parent *x509.Certificate, parentKey crypto.Signer) *x509.Certificate {
	t.Helper()
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  isCA,
	}
	if isCA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// TestSignChain checks that Chain is embedded after Cert: openssl builds
// the path leaf, intermediate, root from the signature's certificates and
// a CAfile holding the root only.
func TestSignChain(t *testing.T) {
	openssl := testenv.Tool(t, "openssl")
	rootKey, midKey, leafKey := ecKey(t, elliptic.P384()), ecKey(t, elliptic.P256()), rsaKey(t)
	root := issue(t, "signstar root", rootKey, true, nil, nil)
	mid := issue(t, "signstar intermediate", midKey, true, root, rootKey)
	leaf := issue(t, "signstar leaf", leafKey, false, mid, midKey)
	content := []byte("signed through a chain\n")
	dir := t.TempDir()
	rootFile := writeFile(t, filepath.Join(dir, "root.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}))
	contentFile := writeFile(t, filepath.Join(dir, "content"), content)
	tests := []struct {
		name  string
		chain []*x509.Certificate
		want  bool
	}{
		{"with the intermediate", []*x509.Certificate{mid}, true},
		{"without it", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Signer{Key: leafKey, Cert: leaf, Chain: tt.chain, Hash: crypto.SHA256}
			sig, err := s.Sign(digestOf(crypto.SHA256, content), Options{})
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(openssl, "cms", "-verify", "-binary", "-inform", "DER",
				"-in", writeFile(t, filepath.Join(t.TempDir(), "sig.der"), sig), "-content", contentFile,
				"-CAfile", rootFile, "-purpose", "any", "-out", filepath.Join(t.TempDir(), "out")).CombinedOutput()
			if got := err == nil; got != tt.want {
				t.Errorf("openssl cms -verify accepted %v, want %v:\n%s", got, tt.want, out)
			}
			if !tt.want && !strings.Contains(string(out), "unable to get local issuer certificate") {
				t.Errorf("openssl cms -verify refused for another reason than the missing intermediate:\n%s", out)
			}
		})
	}
}
