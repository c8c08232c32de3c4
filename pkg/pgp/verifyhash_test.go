package pgp

import (
	"bytes"
	"crypto"
	"crypto/sha512"
	"hash"
	"testing"
)

// TestVerifyHash: a signature verifies against the hash of its data, is
// refused against the hash of other data, a text signature, a hash of
// another type or another certificate, and the caller's hash is left as
// it was each time.
func TestVerifyHash(t *testing.T) {
	k := testKeys(t)[0]
	c, s := newTestSigner(t, k.key, crypto.SHA512)
	sig := sign(t, s, testData, Options{Time: testSigTime})
	textSig := sign(t, s, testData, Options{Time: testSigTime, Text: true})
	other := newTestCert(t, k.other)
	hashOf := func(data []byte, alg crypto.Hash) hash.Hash {
		h := alg.New()
		h.Write(data)
		return h
	}
	tests := []struct {
		name    string
		cert    *Certificate
		sig     []byte
		h       hash.Hash
		alg     crypto.Hash
		wantErr bool
	}{
		{"good", c, sig, hashOf(testData, crypto.SHA512), crypto.SHA512, false},
		{"other data", c, sig, hashOf(append(bytes.Clone(testData), 0), crypto.SHA512), crypto.SHA512, true},
		{"text signature", c, textSig, hashOf(testData, crypto.SHA512), crypto.SHA512, true},
		{"other hash", c, sig, hashOf(testData, crypto.SHA256), crypto.SHA256, true},
		{"other certificate", other, sig, hashOf(testData, crypto.SHA512), crypto.SHA512, true},
		{"not a signature", c, armoredCert(t, c), hashOf(testData, crypto.SHA512), crypto.SHA512, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.h.Sum(nil)
			err := VerifyHash(tt.cert, bytes.NewReader(tt.sig), tt.h, tt.alg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("VerifyHash = %v, want error %v", err, tt.wantErr)
			}
			if !bytes.Equal(tt.h.Sum(nil), before) {
				t.Fatal("VerifyHash changed the caller's hash")
			}
		})
	}
	// Twice over one hash: the first check left it fit for the second.
	h := sha512.New()
	h.Write(testData)
	for range 2 {
		if err := VerifyHash(c, bytes.NewReader(sig), h, crypto.SHA512); err != nil {
			t.Fatal(err)
		}
	}
}
