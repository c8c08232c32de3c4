package request

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"signstar/pkg/pgp"
)

// upstreamSig is the signature in upstream's response.md sample.
const upstreamSig = "-----BEGIN PGP SIGNATURE-----\n\nwnUEABYKAB0WIQRfsO5nGa+i+6sgdPRTD9XY/kzu2QUCZ8WtVgAKCRBTD9XY/kzu\n2XCMAQCjsYYJ00u9wUE0O1CO8OOEi/4sXq1cDol6jhYep4awgwD8DtXJ/nCnSmRE\npSgPblgptDYtLdzJvvxd7G9kCSNS4AM=\n=XHyn\n-----END PGP SIGNATURE-----"

func TestResponse(t *testing.T) {
	got, err := Response([]byte(upstreamSig))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":"1.0.0","signature":"-----BEGIN PGP SIGNATURE-----\n\nwnUEABYKAB0WIQRfsO5nGa+i+6sgdPRTD9XY/kzu2QUCZ8WtVgAKCRBTD9XY/kzu\n2XCMAQCjsYYJ00u9wUE0O1CO8OOEi/4sXq1cDol6jhYep4awgwD8DtXJ/nCnSmRE\npSgPblgptDYtLdzJvvxd7G9kCSNS4AM=\n=XHyn\n-----END PGP SIGNATURE-----"}`
	if string(got) != want {
		t.Fatalf("Response =\n%s\nwant\n%s", got, want)
	}
	sig, err := ReadResponse(bytes.NewReader(got))
	if err != nil || string(sig) != upstreamSig {
		t.Fatalf("ReadResponse = %q, %v", sig, err)
	}

	for _, bad := range []struct{ name, sig, wantErr string }{
		{"empty", "", "signature: does not start with"},
		{"binary", "\xc2\x75\x04\x00", "signature: byte 0 is 0xc2, not ascii armor"},
		{"message", strings.Replace(upstreamSig, "SIGNATURE", "MESSAGE", 1), "does not start with"},
		{"truncated", upstreamSig[:100], "does not end with"},
		{"nul", upstreamSig + "\x00", "not ascii armor"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			_, err := Response([]byte(bad.sig))
			checkInvalid(t, err, bad.wantErr)
		})
	}
}

func TestReadResponse(t *testing.T) {
	sigJSON := `"-----BEGIN PGP SIGNATURE-----\n\nAA==\n-----END PGP SIGNATURE-----\n"`
	tests := []struct {
		name, in, wantErr string
	}{
		{"valid", `{"version":"1.0.0","signature":` + sigJSON + `}`, ""},
		{"order and space", ` { "signature" : ` + sigJSON + ` , "version" : "1.3.0" } ` + "\n", ""},
		{"unknown field ignored", `{"version":"1.1.0","signature":` + sigJSON + `,"certificate":{"a":[1]}}`, ""},
		{"missing version", `{"signature":` + sigJSON + `}`, "version: missing"},
		{"missing signature", `{"version":"1.0.0"}`, "signature: missing"},
		{"version 2", `{"version":"2.0.0","signature":` + sigJSON + `}`, `version: "2.0.0" is not supported`},
		{"version not semver", `{"version":"1","signature":` + sigJSON + `}`, "is not a semantic version"},
		{"signature array", `{"version":"1.0.0","signature":[1]}`, "signature: want a string, got array"},
		{"signature not armor", `{"version":"1.0.0","signature":"hello"}`, "signature: does not start with"},
		{"duplicate signature", `{"version":"1.0.0","signature":` + sigJSON + `,"signature":` + sigJSON + `}`,
			`duplicate key "signature"`},
		{"duplicate in unknown", `{"version":"1.0.0","signature":` + sigJSON + `,"x":{"a":1,"a":1}}`, `duplicate key "a"`},
		{"trailing", `{"version":"1.0.0","signature":` + sigJSON + `}{}`, "trailing data after the json object"},
		{"not json", `version=1.0.0`, "not valid json"},
		{"array", `[]`, "want a json object, got array"},
		{"large", `{"version":"1.0.0","signature":` + sigJSON + `}` + strings.Repeat(" ", MaxSize), "response: larger than 65536 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig, err := ReadResponse(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				checkInvalid(t, err, tt.wantErr)
				if strings.Contains(err.Error(), "signing request") {
					t.Errorf("response error %q talks of a request", err)
				}
				return
			}
			if err != nil || !strings.HasPrefix(string(sig), armorBegin) {
				t.Fatalf("ReadResponse = %q, %v", sig, err)
			}
		})
	}
}

func TestDigestNotation(t *testing.T) {
	d := sum512("this is sample text")
	n := DigestNotation(d)
	if n.Name != "data-digest@archlinux.org" || !bytes.Equal(n.Value, d) || n.IsHumanReadable || n.IsCritical {
		t.Fatalf("DigestNotation = %+v", n)
	}
	d[0] ^= 1
	if bytes.Equal(n.Value, d) {
		t.Fatal("DigestNotation does not copy the digest")
	}
}

// TestServerFlow is the whole server side: read the sample, sign its state
// with the digest notation, answer; the client reads the response and the
// signature verifies over the file's bytes, carrying the file's digest.
func TestServerFlow(t *testing.T) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	cert, err := pgp.NewCertificate(key, "request test <test@signstar.invalid>", created, time.Time{}, crypto.SHA512)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := pgp.NewSigner(cert, key, crypto.SHA512)
	if err != nil {
		t.Fatal(err)
	}

	req, err := Read(bytes.NewReader(readVector(t, "sample-request.json")))
	if err != nil {
		t.Fatal(err)
	}
	h, err := req.Hash()
	if err != nil {
		t.Fatal(err)
	}
	digest, err := req.FileDigest()
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signer.SignHash(h, pgp.Options{
		Armor:     true,
		Time:      created.Add(time.Hour),
		Notations: []*packet.Notation{DigestNotation(digest)},
	})
	if err != nil {
		t.Fatalf("SignHash: %v", err)
	}
	resp, err := Response(sig)
	if err != nil {
		t.Fatal(err)
	}

	got, err := ReadResponse(bytes.NewReader(resp))
	if err != nil {
		t.Fatalf("ReadResponse: %v", err)
	}
	if err := pgp.Verify(cert, bytes.NewReader(got), strings.NewReader("this is sample text")); err != nil {
		t.Fatalf("signature does not verify over the file: %v", err)
	}
	if err := pgp.Verify(cert, bytes.NewReader(got), strings.NewReader("this is sample text!")); err == nil {
		t.Fatal("signature verifies over other data")
	}
	n := notation(t, got, DigestNotationName)
	if hex.EncodeToString(n.Value) != sampleDigest || n.IsHumanReadable || n.IsCritical {
		t.Fatalf("notation = %x (readable %v, critical %v), want %s, neither flag", n.Value, n.IsHumanReadable, n.IsCritical, sampleDigest)
	}
}

// notation returns the hashed notation called name in an armored signature.
func notation(t *testing.T, armored []byte, name string) *packet.Notation {
	t.Helper()
	block, err := armor.Decode(bytes.NewReader(armored))
	if err != nil {
		t.Fatal(err)
	}
	p, err := packet.Read(block.Body)
	if err != nil {
		t.Fatal(err)
	}
	sig, ok := p.(*packet.Signature)
	if !ok {
		t.Fatalf("packet is %T", p)
	}
	for _, n := range sig.Notations {
		if n.Name == name {
			return n
		}
	}
	t.Fatalf("no notation %s in %d notations", name, len(sig.Notations))
	return nil
}

func TestErrInvalidIsDistinct(t *testing.T) {
	_, err := ReadResponse(strings.NewReader(`{}`))
	if !errors.Is(err, ErrInvalid) || err.Error() != "invalid signing response: version: missing" {
		t.Fatalf("error = %q", err)
	}
}
