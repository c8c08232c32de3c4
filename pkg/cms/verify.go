package cms

// A small CMS SignedData verifier (RFC 5652; PKCS #7 v1.5, RFC 2315, for
// Authenticode), for what a signing host returns to an X.509 request: one
// SignerInfo, named by issuer and serial number or by subject key
// identifier of the pinned certificate, SHA-256, RSA PKCS #1 v1.5 or
// ECDSA, with or without signed attributes. It checks what this client
// asked for, against the one certificate it trusts; it is not a general
// verifier (no chains, no other algorithms, no unsigned attributes read).
// It lives beside the encoder so that the format has one home.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
)

var oidRSASHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}

// Expect is what a SignedData must say.
type Expect struct {
	// ContentType is the eContentType: id-data, or Authenticode's
	// SpcIndirectDataContent.
	ContentType asn1.ObjectIdentifier
	// Content is the embedded content's value (Authenticode), nil for
	// detached content.
	Content []byte
	// Digest is the message digest: of the detached data, or of the
	// embedded content's value (Authenticode: without its tag and length).
	Digest []byte
	// Attributes: signed attributes are required (CMS, Authenticode) or
	// refused (kernel modules sign the digest itself, sign-file's
	// CMS_NOATTR).
	Attributes bool
}

// parsedSignerInfo is RFC 5652 section 5.3's SignerInfo, taken apart.
type parsedSignerInfo struct {
	sid, digestAlg, attrs, sigAlg asn1.RawValue // attrs: FullBytes empty when absent
	sig                           []byte
}

// Verify checks der, a DER ContentInfo holding SignedData, against cert
// and w: one SignerInfo naming cert, SHA-256, RSA PKCS #1 v1.5 or ECDSA,
// over w.Digest (through the signed attributes when w.Attributes).
func Verify(der []byte, cert *x509.Certificate, w Expect) error {
	si, err := parseSignedData(der, w)
	if err != nil {
		return fmt.Errorf("bad CMS signature: %v", err)
	}
	if err := si.check(cert, w); err != nil {
		return fmt.Errorf("CMS signature: %v", err)
	}
	return nil
}

// parseSignedData returns the one SignerInfo of der, checking the content
// it encapsulates against w.
func parseSignedData(der []byte, w Expect) (*parsedSignerInfo, error) {
	var ci struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue `asn1:"explicit,tag:0"`
	}
	if rest, err := asn1.Unmarshal(der, &ci); err != nil || len(rest) > 0 || !ci.Type.Equal(OIDSignedData) {
		return nil, errors.New("not one DER ContentInfo holding SignedData")
	}
	// With explicit tagging, Bytes is the whole inner value.
	sd, err := elements(ci.Content.Bytes, 0x30)
	if err != nil || len(sd) < 4 {
		return nil, errors.New("malformed SignedData")
	}
	// version, digestAlgorithms, encapContentInfo, [certificates [0]],
	// [crls [1]], signerInfos: the last element.
	if err := checkEncap(sd[2], w); err != nil {
		return nil, err
	}
	for _, e := range sd[3 : len(sd)-1] {
		if e.Class != asn1.ClassContextSpecific || (e.Tag != 0 && e.Tag != 1) {
			return nil, errors.New("malformed SignedData")
		}
	}
	infos, err := elements(sd[len(sd)-1].FullBytes, 0x31)
	if err != nil || len(infos) != 1 {
		return nil, fmt.Errorf("want one SignerInfo, got %d", len(infos))
	}
	return parseSignerInfo(infos[0].FullBytes)
}

// checkEncap checks encapContentInfo: its type, and its content, embedded
// as PKCS #7 does it for Authenticode ([0] EXPLICIT the DER itself) or
// absent for detached CMS.
func checkEncap(e asn1.RawValue, w Expect) error {
	var encap struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue `asn1:"optional,explicit,tag:0"`
	}
	if rest, err := asn1.Unmarshal(e.FullBytes, &encap); err != nil || len(rest) > 0 {
		return errors.New("malformed encapContentInfo")
	}
	if !encap.Type.Equal(w.ContentType) {
		return fmt.Errorf("content type %v, want %v", encap.Type, w.ContentType)
	}
	if !bytes.Equal(encap.Content.Bytes, w.Content) { // the inner value, as above
		if w.Content == nil {
			return errors.New("content is embedded, want a detached signature")
		}
		return errors.New("embedded content is not the SpcIndirectDataContent of this image hash")
	}
	return nil
}

func parseSignerInfo(der []byte) (*parsedSignerInfo, error) {
	f, err := elements(der, 0x30)
	if err != nil || len(f) < 5 {
		return nil, errors.New("malformed SignerInfo")
	}
	si := &parsedSignerInfo{sid: f[1], digestAlg: f[2]}
	rest := f[3:]
	if rest[0].Class == asn1.ClassContextSpecific && rest[0].Tag == 0 {
		si.attrs, rest = rest[0], rest[1:]
	}
	if len(rest) < 2 || len(rest) > 3 || (len(rest) == 3 && (rest[2].Class != asn1.ClassContextSpecific || rest[2].Tag != 1)) {
		return nil, errors.New("malformed SignerInfo")
	}
	si.sigAlg = rest[0]
	if _, err := asn1.Unmarshal(rest[1].FullBytes, &si.sig); err != nil {
		return nil, errors.New("malformed SignerInfo signature")
	}
	return si, nil
}

// check verifies the signer, the algorithms, the attributes and the
// signature.
func (si *parsedSignerInfo) check(cert *x509.Certificate, w Expect) error {
	if err := checkSignerID(si.sid, cert); err != nil {
		return err
	}
	if alg, err := algorithm(si.digestAlg); err != nil || !alg.Equal(oidSHA256) {
		return errors.New("digest algorithm is not SHA-256")
	}
	signed, err := si.signedDigest(w)
	if err != nil {
		return err
	}
	return checkKeySignature(cert, si.sigAlg, signed, si.sig)
}

// signedDigest is what the signature covers (RFC 5652 section 5.4): the
// content's digest, or the digest of the signed attributes' DER, re-tagged
// as the SET OF it is, once they carry the content type and digest asked.
func (si *parsedSignerInfo) signedDigest(w Expect) ([]byte, error) {
	has := len(si.attrs.FullBytes) > 0
	switch {
	case has && !w.Attributes:
		return nil, errors.New("has signed attributes; a module signature signs the digest itself")
	case !has && w.Attributes:
		return nil, errors.New("has no signed attributes")
	case !has:
		return w.Digest, nil
	}
	if err := checkAttributes(si.attrs.FullBytes, w); err != nil {
		return nil, err
	}
	set := bytes.Clone(si.attrs.FullBytes)
	set[0] = 0x31
	d := sha256.Sum256(set)
	return d[:], nil
}

// checkAttributes requires exactly one content type and one message
// digest attribute, with the values asked for.
func checkAttributes(der []byte, w Expect) error {
	attrs, err := elements(der, 0xa0) // [0] IMPLICIT SET OF Attribute
	if err != nil {
		return errors.New("malformed signed attributes")
	}
	var contentType, digest int
	for _, a := range attrs {
		var attr struct {
			Type   asn1.ObjectIdentifier
			Values []asn1.RawValue `asn1:"set"`
		}
		if rest, err := asn1.Unmarshal(a.FullBytes, &attr); err != nil || len(rest) > 0 || len(attr.Values) != 1 {
			return errors.New("malformed signed attribute")
		}
		v := attr.Values[0].FullBytes
		switch {
		case attr.Type.Equal(OIDContentType):
			contentType++
			var oid asn1.ObjectIdentifier
			if _, err := asn1.Unmarshal(v, &oid); err != nil || !oid.Equal(w.ContentType) {
				return errors.New("content type attribute does not name the content")
			}
		case attr.Type.Equal(OIDMessageDigest):
			digest++
			var d []byte
			if _, err := asn1.Unmarshal(v, &d); err != nil || !bytes.Equal(d, w.Digest) {
				return fmt.Errorf("is over other data: its message digest is %.16x..., want %.16x...", d, w.Digest)
			}
		}
	}
	if contentType != 1 || digest != 1 {
		return errors.New("want one content type and one message digest attribute")
	}
	return nil
}

// checkSignerID requires the signer to be the certificate: by issuer and
// serial number, or by [0] subject key identifier.
func checkSignerID(sid asn1.RawValue, cert *x509.Certificate) error {
	if sid.Class == asn1.ClassContextSpecific && sid.Tag == 0 && !sid.IsCompound {
		if len(cert.SubjectKeyId) == 0 || !bytes.Equal(sid.Bytes, cert.SubjectKeyId) {
			return errors.New("signer's subject key identifier is not the certificate's")
		}
		return nil
	}
	var ias struct {
		Issuer asn1.RawValue
		Serial *big.Int
	}
	if rest, err := asn1.Unmarshal(sid.FullBytes, &ias); err != nil || len(rest) > 0 {
		return errors.New("malformed signer identifier")
	}
	if !bytes.Equal(ias.Issuer.FullBytes, cert.RawIssuer) || ias.Serial.Cmp(cert.SerialNumber) != 0 {
		return fmt.Errorf("signed by issuer serial %x, not the certificate (serial %x)", ias.Serial, cert.SerialNumber)
	}
	return nil
}

// checkKeySignature verifies sig over digest with the certificate's key.
func checkKeySignature(cert *x509.Certificate, alg asn1.RawValue, digest, sig []byte) error {
	oid, err := algorithm(alg)
	if err != nil {
		return errors.New("malformed signature algorithm")
	}
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if !oid.Equal(oidRSAEncryption) && !oid.Equal(oidRSASHA256) {
			return fmt.Errorf("signature algorithm %v for an RSA key", oid)
		}
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, sig) != nil {
			return errors.New("signature does not verify with the certificate's key")
		}
	case *ecdsa.PublicKey:
		if !oid.Equal(oidECDSASHA256) {
			return fmt.Errorf("signature algorithm %v for an ECDSA key", oid)
		}
		if !ecdsa.VerifyASN1(pub, digest, sig) {
			return errors.New("signature does not verify with the certificate's key")
		}
	default:
		return fmt.Errorf("certificate key %T is not RSA or ECDSA", pub)
	}
	return nil
}

// algorithm returns an AlgorithmIdentifier's OID.
func algorithm(v asn1.RawValue) (asn1.ObjectIdentifier, error) {
	var a struct {
		Algorithm  asn1.ObjectIdentifier
		Parameters asn1.RawValue `asn1:"optional"`
	}
	if rest, err := asn1.Unmarshal(v.FullBytes, &a); err != nil || len(rest) > 0 {
		return nil, errors.New("malformed algorithm identifier")
	}
	return a.Algorithm, nil
}

// elements returns the TLVs inside der, which must be one value with the
// given tag byte and nothing after it.
func elements(der []byte, tag byte) ([]asn1.RawValue, error) {
	var outer asn1.RawValue
	rest, err := asn1.Unmarshal(der, &outer)
	if err != nil || len(rest) > 0 || len(outer.FullBytes) == 0 || outer.FullBytes[0] != tag {
		return nil, errors.New("malformed DER")
	}
	var out []asn1.RawValue
	for b := outer.Bytes; len(b) > 0; {
		var e asn1.RawValue
		if b, err = asn1.Unmarshal(b, &e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}
