package authenticode

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
)

// TestSignKeys signs systemd-boot with ECDSA keys: osslsigncode accepts
// P-256 with SHA-256 and P-384 with SHA-384; sbverify, which takes SHA-256
// image hashes only, accepts P-256.
func TestSignKeys(t *testing.T) {
	tests := []struct {
		name   string
		curve  elliptic.Curve
		hash   crypto.Hash
		wantSb bool
	}{
		{"P-256 SHA-256", elliptic.P256(), crypto.SHA256, true},
		{"P-384 SHA-384", elliptic.P384(), crypto.SHA384, false},
	}
	image := testImages(t)["systemd-boot"]
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := ecdsa.GenerateKey(tt.curve, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			ts := newTestSignerKey(t, tt.hash, key)
			signed, err := Sign(image, ts.signer, Options{})
			if err != nil {
				t.Fatal(err)
			}
			sbOK, osslOK, sb, ossl := verify(t, ts, signed)
			if sbOK != tt.wantSb || !osslOK {
				t.Errorf("sbverify accepted %v (want %v), osslsigncode %v:\n%s\n%s", sbOK, tt.wantSb, osslOK, sb, ossl)
			}
		})
	}
}

// TestSignRefuses checks the refusals before anything is signed: an
// Ed25519 key (neither Authenticode nor UEFI takes one), SHA-1, and an
// image hash of the wrong length.
func TestSignRefuses(t *testing.T) {
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	rsaSigner := newTestSigner(t, crypto.SHA256).signer
	tests := []struct {
		name    string
		signer  func() testSigner
		digest  []byte
		wantErr string
		signOK  bool // Sign makes its own image hash, of the right length
	}{
		{"ed25519", func() testSigner { return newTestSignerKey(t, crypto.SHA256, edKey) }, make([]byte, 32), "Ed25519", false},
		{"sha1", func() testSigner { s := *rsaSigner; s.Hash = crypto.SHA1; return testSigner{signer: &s} }, make([]byte, 20), "not supported", false},
		{"short digest", func() testSigner { return testSigner{signer: rsaSigner} }, make([]byte, 31), "image hash is 31 bytes", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := SignDigest(tt.digest, tt.signer().signer, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("SignDigest: %v, want an error with %q", err, tt.wantErr)
			}
			if _, err := Sign(tinyPE(true), tt.signer().signer, Options{}); !tt.signOK && err == nil {
				t.Error("Sign succeeded")
			}
		})
	}
}
