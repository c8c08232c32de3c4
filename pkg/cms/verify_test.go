package cms

import (
	"bytes"
	"crypto"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

// verifyCases are what the kmod and cms formats ask of a SignedData over
// digest d, each with a signature made as that format makes it; the
// Authenticode case is in pkg/authenticode (TestExpect), which imports
// this package.
func verifyCases(t testing.TB, ts testSigner, d []byte) map[string]struct {
	want Expect
	der  []byte
} {
	t.Helper()
	s := &Signer{Key: ts.key, Cert: ts.cert, Hash: crypto.SHA256}
	kmod, err := s.Sign(d, Options{NoAttributes: true, NoCerts: true})
	if err != nil {
		t.Fatal(err)
	}
	cms, err := s.Sign(d, Options{SigningTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	keyID, err := s.Sign(d, Options{NoAttributes: true, NoCerts: true, SubjectKeyID: true})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]struct {
		want Expect
		der  []byte
	}{
		"kmod":       {Expect{ContentType: OIDData, Digest: d}, kmod},
		"kmod keyid": {Expect{ContentType: OIDData, Digest: d}, keyID},
		"cms":        {Expect{ContentType: OIDData, Digest: d, Attributes: true}, cms},
	}
}

// TestVerify: each format's signature verifies as that format only, with
// RSA and ECDSA, and not over another digest or with another certificate.
func TestVerify(t *testing.T) {
	d := sha256.Sum256([]byte("data"))
	other := sha256.Sum256([]byte("other"))
	for _, key := range []crypto.Signer{rsaKey(t), ecKey(t, elliptic.P256())} {
		ts := newTestSigner(t, key)
		stranger := newTestSigner(t, rsaKey(t))
		cases := verifyCases(t, ts, d[:])
		for name, c := range cases {
			for wname, w := range cases {
				err := Verify(c.der, ts.cert, w.want)
				if (err == nil) != (c.want.Attributes == w.want.Attributes) {
					t.Errorf("%s as %s: %v", name, wname, err)
				}
			}
			w := c.want
			w.Digest = other[:]
			if Verify(c.der, ts.cert, w) == nil {
				t.Errorf("%s verified over another digest", name)
			}
			if Verify(c.der, stranger.cert, c.want) == nil {
				t.Errorf("%s verified with another certificate", name)
			}
		}
	}
}

// FuzzVerify: Verify never panics on a host's answer, and what it accepts
// is bound to its signature: the last byte (the signature value ends the
// SignerInfo, which ends the SignedData) changed is refused.
func FuzzVerify(f *testing.F) {
	d := sha256.Sum256([]byte("fuzz"))
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fuzz"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), SubjectKeyId: []byte{1, 2, 3, 4}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		f.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		f.Fatal(err)
	}
	ts := testSigner{key: key, cert: cert}
	cases := verifyCases(f, ts, d[:])
	for _, c := range cases {
		f.Add(c.der)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for name, c := range cases {
			if Verify(in, ts.cert, c.want) != nil {
				continue
			}
			changed := bytes.Clone(in)
			changed[len(changed)-1] ^= 1
			if Verify(changed, ts.cert, c.want) == nil {
				t.Fatalf("%s: accepted with its last byte changed", name)
			}
		}
	})
}
