package cms

import (
	"bytes"
	"encoding/asn1"
	"fmt"
	"slices"
	"time"
)

// signedAttributes returns the SignerInfo's signedAttrs field and what the
// key signs. Without attributes the key signs the content digest itself
// (RFC 5652 section 5.4, what sign-file does for modules with CMS_NOATTR);
// with them it signs the digest of their DER encoding with the SET OF tag
// (section 5.4: "the IMPLICIT [0] tag ... is not used for the DER encoding").
func (s *Signer) signedAttributes(digest []byte, o Options) (field, toSign []byte, err error) {
	if o.NoAttributes {
		if len(o.Attributes) != 0 {
			return nil, nil, fmt.Errorf("make CMS signature: %d extra signed attributes without signed attributes", len(o.Attributes))
		}
		if o.ContentType != nil && !o.ContentType.Equal(OIDData) {
			// RFC 5652 section 5.3: signedAttrs MUST be present for
			// content other than id-data.
			return nil, nil, fmt.Errorf("make CMS signature: content type %v needs signed attributes", o.ContentType)
		}
		return nil, digest, nil
	}
	encoded, err := encodeAttributes(s.attributes(digest, o))
	if err != nil {
		return nil, nil, err
	}
	h := s.Hash.New()
	h.Write(tlv(0x31, encoded...))
	return tlv(0xa0, encoded...), h.Sum(nil), nil
}

// attributes are the three RFC 5652 section 11 attributes followed by the
// caller's. The order here does not matter: encodeAttributes sorts.
func (s *Signer) attributes(digest []byte, o Options) []Attribute {
	ct := o.ContentType
	if ct == nil {
		ct = OIDData
	}
	t := o.SigningTime
	if t.IsZero() {
		t = time.Now()
	}
	// RFC 5652 section 11.3: UTCTime for 1950 to 2049, GeneralizedTime
	// otherwise, both in UTC without fractions; encoding/asn1 picks the
	// type by year the same way.
	t = t.UTC().Truncate(time.Second)
	return append([]Attribute{
		{Type: OIDContentType, Value: raw(mustMarshal(ct))},
		{Type: OIDSigningTime, Value: raw(mustMarshal(t))},
		{Type: OIDMessageDigest, Value: raw(tlv(0x04, digest))},
	}, o.Attributes...)
}

func raw(der []byte) asn1.RawValue { return asn1.RawValue{FullBytes: der} }

// encodeAttributes returns the DER of each Attribute in DER SET OF order
// (X.690 section 11.6: ascending encodings), refusing a type given twice
// (RFC 5652 section 5.3: each attribute type at most once).
func encodeAttributes(attrs []Attribute) ([][]byte, error) {
	var out [][]byte
	seen := map[string]bool{}
	for _, a := range attrs {
		if seen[a.Type.String()] {
			return nil, fmt.Errorf("make CMS signature: signed attribute %v given twice", a.Type)
		}
		seen[a.Type.String()] = true
		value, err := asn1.Marshal(a.Value)
		if err != nil || len(value) == 0 {
			return nil, fmt.Errorf("make CMS signature: encode signed attribute %v: not a DER value", a.Type)
		}
		out = append(out, seq(mustMarshal(a.Type), set(value)))
	}
	slices.SortFunc(out, compareSetOf)
	return out, nil
}

// compareSetOf orders two encodings as X.690 section 11.6 says: as octet
// strings, the shorter padded at its end with zero octets.
func compareSetOf(a, b []byte) int {
	n := min(len(a), len(b))
	if c := bytes.Compare(a[:n], b[:n]); c != 0 {
		return c
	}
	for _, x := range a[n:] {
		if x != 0 {
			return 1
		}
	}
	for _, x := range b[n:] {
		if x != 0 {
			return -1
		}
	}
	return 0
}
