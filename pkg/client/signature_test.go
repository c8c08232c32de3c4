package client

import (
	"bytes"
	"crypto"
	"crypto/sha512"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"signstar/pkg/pgp"
	"signstar/pkg/request"
)

// serverSignature is what a server answers for data: an armored signature
// with the notations given (nil: the data's digest notation).
func serverSignature(t testing.TB, data []byte, notations []*packet.Notation) []byte {
	t.Helper()
	cert, err := newCert(testKey)
	if err != nil {
		t.Fatal(err)
	}
	s, err := pgp.NewSigner(cert, testKey, crypto.SHA512)
	if err != nil {
		t.Fatal(err)
	}
	h := sha512.New()
	h.Write(data)
	if notations == nil {
		notations = []*packet.Notation{request.DigestNotation(h.Sum(nil))}
	}
	sig, err := s.SignHash(h, pgp.Options{Armor: true, Time: testCreated.Add(time.Hour), Notations: notations})
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func TestCheckSignature(t *testing.T) {
	data := []byte("data")
	sum := sha512.Sum512(data)
	other := sha512.Sum512([]byte("other"))
	good := serverSignature(t, data, nil)
	for _, tt := range []struct {
		name    string
		armored []byte
		wantErr string
	}{
		{"good", good, ""},
		{"two notations", serverSignature(t, data, []*packet.Notation{request.DigestNotation(sum[:]), request.DigestNotation(sum[:])}),
			"signature has 2 data-digest@archlinux.org notations, want 1"},
		{"other digest", serverSignature(t, data, []*packet.Notation{request.DigestNotation(other[:])}),
			"signature is over other data: its data-digest@archlinux.org is "},
		{"certificate", armoredCert(t), `bad signature in response: armor block is "PGP PUBLIC KEY BLOCK", want "PGP SIGNATURE"`},
		{"not armor", []byte("-----BEGIN PGP SIGNATURE-----\n-----END PGP SIGNATURE-----\n"), "bad signature in response: "},
		{"two packets", twoPackets(t, good), "bad signature in response: more than one packet, or trailing data"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bin, err := checkSignature(tt.armored, sum[:])
			if tt.wantErr == "" {
				if err != nil || len(bin) == 0 {
					t.Fatalf("checkSignature = %d bytes, %v", len(bin), err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("checkSignature error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func armoredCert(t *testing.T) []byte {
	t.Helper()
	_, asc := testCerts(t)
	return asc
}

// twoPackets is the signature in sig twice, armored as one block.
func twoPackets(t *testing.T, sig []byte) []byte {
	t.Helper()
	bin, _, err := readSignature(sig)
	if err != nil {
		t.Fatal(err)
	}
	asc, err := armorSignature(append(bin, bin...))
	if err != nil {
		t.Fatal(err)
	}
	return asc
}

// FuzzCheckSignature: what is accepted is exactly one signature packet
// carrying the digest notation with sum, and armoring it again gives back
// the same packet.
func FuzzCheckSignature(f *testing.F) {
	data := []byte("data")
	sum := sha512.Sum512(data)
	good := serverSignature(f, data, nil)
	f.Add(good, sum[:])
	f.Add(good, make([]byte, 64))
	f.Add([]byte("-----BEGIN PGP SIGNATURE-----\n\n-----END PGP SIGNATURE-----\n"), sum[:])
	f.Fuzz(func(t *testing.T, armored, sum []byte) {
		bin, err := checkSignature(armored, sum)
		if err != nil {
			if bin != nil {
				t.Fatal("checkSignature returned bytes with an error")
			}
			return
		}
		asc, err := armorSignature(bin)
		if err != nil {
			t.Fatal(err)
		}
		again, sig, err := readSignature(asc)
		if err != nil || !bytes.Equal(again, bin) {
			t.Fatalf("readSignature(armorSignature(bin)) = %x, %v; want %x", again, err, bin)
		}
		var n int
		for _, no := range sig.Notations {
			if no.Name == request.DigestNotationName {
				n++
				if !bytes.Equal(no.Value, sum) {
					t.Fatalf("accepted notation %x, want %x", no.Value, sum)
				}
			}
		}
		if n != 1 {
			t.Fatalf("accepted %d digest notations", n)
		}
	})
}
