package request

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// DigestNotationName names the notation upstream's server puts in the
// hashed area of every signature it makes from a request
// (signstar-crypto/src/signer/openpgp.rs, sign_hasher_state).
const DigestNotationName = "data-digest@archlinux.org"

// DigestNotation returns the notation upstream adds to a signature made
// from a request: its value is the raw 64-byte SHA-512 digest of the file
// ([Request.FileDigest]), not hex; it is flagged neither human-readable nor
// critical (RFC 4880 section 5.2.3.16), as upstream's Notation{readable:
// false} in a Subpacket::regular is. digest is copied.
func DigestNotation(digest []byte) *packet.Notation {
	return &packet.Notation{
		Name:            DigestNotationName,
		Value:           bytes.Clone(digest),
		IsCritical:      false,
		IsHumanReadable: false,
	}
}

const (
	armorBegin = "-----BEGIN PGP SIGNATURE-----"
	armorEnd   = "-----END PGP SIGNATURE-----"
)

// Response returns the JSON response carrying armoredSig, byte for byte as
// upstream's serde_json writes it: {"version":"1.0.0","signature":"..."}.
// armoredSig must be one ASCII-armored OpenPGP signature (response.md).
func Response(armoredSig []byte) ([]byte, error) {
	if err := checkArmor(string(armoredSig)); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // serde_json leaves <, > and & alone
	v := struct {
		Version   string `json:"version"`
		Signature string `json:"signature"`
	}{FormatVersion, string(armoredSig)}
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	out := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	if len(out) > MaxSize {
		return nil, invalidf(docResponse, "response: larger than %d bytes", MaxSize)
	}
	return out, nil
}

// ReadResponse parses one signing response from r, reading at most
// [MaxSize]+1 bytes, and returns its ASCII-armored signature. The signature
// is only checked for shape; verifying it is the caller's job.
//
// Unknown fields are ignored, unlike in a request: response.md allows new
// fields in minor versions and, having no "required" category, marks none
// critical. Duplicate keys and trailing data are still refused.
func ReadResponse(r io.Reader) ([]byte, error) {
	body, err := readBounded(r, docResponse, "response")
	if err != nil {
		return nil, err
	}
	var version, sig *string
	w := newWalker(body, docResponse)
	err = w.document(func(w *walker, key string) error {
		switch key {
		case "version":
			return w.str("version", &version)
		case "signature":
			return w.str("signature", &sig)
		}
		return w.skip("", 0)
	})
	if err != nil {
		return nil, err
	}
	if version != nil {
		if err := checkVersion(docResponse, *version); err != nil {
			return nil, err
		}
	}
	if w.firstErr != nil {
		return nil, w.firstErr
	}
	switch {
	case version == nil:
		return nil, invalidf(docResponse, "version: missing")
	case sig == nil:
		return nil, invalidf(docResponse, "signature: missing")
	}
	if err := checkArmor(*sig); err != nil {
		return nil, err
	}
	return []byte(*sig), nil
}

// checkArmor checks that s looks like one ASCII-armored signature (RFC 4880
// section 6.2): printable ASCII lines between the BEGIN and END lines.
func checkArmor(s string) error {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 || c > 0x7e) && c != '\n' && c != '\r' {
			return invalidf(docResponse, "signature: byte %d is 0x%02x, not ascii armor", i, c)
		}
	}
	if !strings.HasPrefix(s, armorBegin) {
		return invalidf(docResponse, "signature: does not start with %q", armorBegin)
	}
	if !strings.HasSuffix(strings.TrimRight(s, "\r\n"), armorEnd) {
		return invalidf(docResponse, "signature: does not end with %q", armorEnd)
	}
	return nil
}
