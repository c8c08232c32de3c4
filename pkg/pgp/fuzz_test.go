package pgp

import (
	"bytes"
	"testing"
)

// FuzzReadCertificate: whatever ReadCertificate accepts survives a write and
// read unchanged, and writing is stable after one round.
func FuzzReadCertificate(f *testing.F) {
	asc := readTestdata(f, "golden-cert.asc")
	f.Add(asc)
	f.Add(dearmorBytes(f, asc))
	f.Add(asc[:len(asc)/2])
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := ReadCertificate(bytes.NewReader(in))
		if err != nil {
			return
		}
		once := armoredCert(t, c)
		again, err := ReadCertificate(bytes.NewReader(once))
		if err != nil {
			t.Fatalf("cannot read back a written certificate: %v", err)
		}
		if again.Fingerprint() != c.Fingerprint() || again.UserID() != c.UserID() ||
			!again.Created().Equal(c.Created()) || again.Algorithm() != c.Algorithm() {
			t.Fatalf("certificate changed on round trip")
		}
		if twice := armoredCert(t, again); !bytes.Equal(twice, once) {
			t.Fatalf("writing is not stable")
		}
	})
}

// FuzzVerify: a signature Verify accepts over data is rejected over the same
// data with one more byte.
func FuzzVerify(f *testing.F) {
	cert, err := ReadCertificate(bytes.NewReader(readTestdata(f, "golden-cert.asc")))
	if err != nil {
		f.Fatal(err)
	}
	input := readTestdata(f, "golden-input.txt")
	f.Add(readTestdata(f, "golden-sig.bin"), input)
	f.Add(readTestdata(f, "golden-sig.asc"), input)
	f.Fuzz(func(t *testing.T, sig, data []byte) {
		if Verify(cert, bytes.NewReader(sig), bytes.NewReader(data)) != nil {
			return
		}
		longer := append(bytes.Clone(data), 0)
		if Verify(cert, bytes.NewReader(sig), bytes.NewReader(longer)) == nil {
			t.Fatalf("signature verifies over both %q and %q", data, longer)
		}
	})
}
