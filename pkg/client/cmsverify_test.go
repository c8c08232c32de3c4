package client

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"testing"

	"signstar/pkg/authenticode"
	"signstar/pkg/cms"
)

// fuzzWants are what the three formats ask of a SignedData over the
// digest d; the test signer's outputs are the seeds.
func fuzzWants(t testing.TB, d []byte) (map[string]cmsWant, map[string][]byte) {
	t.Helper()
	key, cert, _, err := x509Key("rsa")
	if err != nil {
		t.Fatal(err)
	}
	s := &cms.Signer{Key: key, Cert: cert, Hash: crypto.SHA256}
	wants := map[string]cmsWant{
		"kmod":         {contentType: oidData, digest: d},
		"cms":          {contentType: oidData, digest: d, attributes: true},
		"authenticode": authenticodeWant(d),
	}
	seeds := map[string][]byte{}
	for name, sign := range map[string]func() ([]byte, error){
		"kmod": func() ([]byte, error) { return s.Sign(d, cms.Options{NoAttributes: true, NoCerts: true}) },
		"cms":  func() ([]byte, error) { return s.Sign(d, cms.Options{SigningTime: x509Signing}) },
		"authenticode": func() ([]byte, error) {
			return authenticode.SignDigest(d, s, authenticode.Options{SigningTime: x509Signing})
		},
	} {
		if seeds[name], err = sign(); err != nil {
			t.Fatal(err)
		}
	}
	return wants, seeds
}

// FuzzVerifyCMS: verifyCMS never panics on a host's answer, and what it
// accepts is bound to its signature: one bit of the signature value
// changed is refused.
func FuzzVerifyCMS(f *testing.F) {
	d := sha256.Sum256([]byte("fuzz"))
	wants, seeds := fuzzWants(f, d[:])
	for _, s := range seeds {
		f.Add(s)
	}
	_, cert, _, err := x509Key("rsa")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for name, w := range wants {
			if verifyCMS(in, cert, w) != nil {
				continue
			}
			si, err := parseSignedData(in, w)
			if err != nil {
				t.Fatalf("%s: accepted, then does not parse: %v", name, err)
			}
			i := bytes.LastIndex(in, si.sig)
			changed := bytes.Clone(in)
			changed[i+len(si.sig)-1] ^= 1
			if verifyCMS(changed, cert, w) == nil {
				t.Fatalf("%s: accepted with one bit of the signature changed", name)
			}
		}
	})
}

// TestVerifyCMSSeeds: each seed verifies for its own format only.
func TestVerifyCMSSeeds(t *testing.T) {
	d := sha256.Sum256([]byte("fuzz"))
	wants, seeds := fuzzWants(t, d[:])
	cert := pinnedX509(t, "rsa")
	for name, seed := range seeds {
		for wname, w := range wants {
			err := verifyCMS(seed, cert, w)
			if (err == nil) != (name == wname) {
				t.Errorf("%s seed as %s: %v", name, wname, err)
			}
		}
	}
}
