// Package cms makes CMS SignedData (RFC 5652) with exactly one SignerInfo,
// for the X.509 signature formats: detached CMS, Linux kernel modules and
// Authenticode (whose PKCS #7 SignedData is the same structure).
//
// It promises:
//   - the signer signs a digest the caller computed ([Signer.Sign] never
//     reads the content), so large inputs stream through the caller's hash;
//   - the encoding is DER, with signed attributes in DER SET OF order, and
//     byte for byte what OpenSSL 3.0 writes for the same choices: digest
//     algorithms without parameters, RSA as rsaEncryption with NULL
//     parameters (as openssl cms and the kernel's scripts/sign-file write
//     it), ECDSA as ecdsa-with-SHA256/384/512; with [Options.PKCS7] and
//     [Options.NullDigestParams], what OpenSSL's PKCS7 API (openssl smime,
//     sbsign) writes;
//   - RSA (PKCS #1 v1.5) and ECDSA P-256/P-384 keys only: Ed25519 and other
//     keys are refused, because neither the kernel nor Authenticode accepts
//     them;
//   - the key is checked against the certificate before it signs, and its
//     signature is verified against the certificate before Sign returns.
package cms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"
)

// Signer makes CMS SignedData (RFC 5652) with one SignerInfo.
type Signer struct {
	Key   crypto.Signer
	Cert  *x509.Certificate
	Chain []*x509.Certificate // embedded after Cert, unless Options.NoCerts
	Hash  crypto.Hash         // SHA-256, SHA-384 or SHA-512
}

// Options are the choices a format makes about the SignedData.
type Options struct {
	NoAttributes bool                  // sign the content digest itself (kernel modules); else signed attributes: content type, message digest, signing time
	SubjectKeyID bool                  // sid = subjectKeyIdentifier instead of issuerAndSerialNumber
	NoCerts      bool                  // embed no certificates (sign-file's default for modules)
	SigningTime  time.Time             // zero: now (ignored with NoAttributes)
	ContentType  asn1.ObjectIdentifier // eContentType; nil: id-data
	Content      []byte                // embedded eContent (the DER of Authenticode's SpcIndirectDataContent); nil: detached
	Attributes   []Attribute           // extra signed attributes (Authenticode's SpcSpOpusInfo, statement type)

	// PKCS7 writes the PKCS #7 v1.5 form (RFC 2315) that Authenticode
	// requires: SignedData and SignerInfo version 1 whatever the content
	// type, and Content embedded as the DER value itself ([0] EXPLICIT
	// ANY), not wrapped in an OCTET STRING as RFC 5652 section 5.2 does.
	// PKCS #7 has no subjectKeyIdentifier, so SubjectKeyID is refused.
	PKCS7 bool
	// NullDigestParams writes NULL parameters in the digest
	// AlgorithmIdentifiers, as OpenSSL's PKCS7 API (sbsign 0.9.4,
	// osslsigncode) writes them, instead of absent ones (RFC 5754 section
	// 2, openssl cms, sign-file). Verifiers accept both; it makes
	// Authenticode blobs equal sbsign's byte for byte.
	NullDigestParams bool
}

// Attribute is one signed attribute with one value (RFC 5652 section 5.3).
type Attribute struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// Object identifiers, RFC 5652 section 14 and RFC 5754/5758.
var (
	OIDData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	OIDSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	OIDContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	OIDMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	OIDSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}

	oidRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidSHA256        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidECDSASHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSASHA384   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSASHA512   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
)

// Sign returns the DER ContentInfo. digest is the message digest of the content: of the detached
// data, or, for embedded Content, what RFC 5652 5.4 / Authenticode say it is (Authenticode: the
// hash of SpcIndirectDataContent's value without its outer tag and length; the caller passes it).
func (s *Signer) Sign(digest []byte, o Options) ([]byte, error) {
	digestAlg, sigAlg, err := s.algorithms(o.NullDigestParams)
	if err != nil {
		return nil, err
	}
	if len(digest) != s.Hash.Size() {
		return nil, fmt.Errorf("make CMS signature: digest is %d bytes, %v wants %d", len(digest), s.Hash, s.Hash.Size())
	}
	if y := o.SigningTime.Year(); !o.SigningTime.IsZero() && (y < 1 || y > 9999) {
		return nil, fmt.Errorf("make CMS signature: signing time %v cannot be encoded", o.SigningTime)
	}
	if o.PKCS7 && o.SubjectKeyID {
		return nil, errors.New("make CMS signature: PKCS #7 has no subjectKeyIdentifier signer identifier")
	}
	sid, err := s.signerID(o.SubjectKeyID)
	if err != nil {
		return nil, err
	}
	attrs, toSign, err := s.signedAttributes(digest, o)
	if err != nil {
		return nil, err
	}
	sig, err := s.Key.Sign(rand.Reader, toSign, s.Hash)
	if err != nil {
		return nil, fmt.Errorf("make CMS signature: sign with the key: %w", err)
	}
	if err := verify(s.Cert.PublicKey, s.Hash, toSign, sig); err != nil {
		return nil, err
	}
	si := signerInfo(version(o), sid, digestAlg, attrs, sigAlg, sig)
	sd, err := s.signedData(version(o), digestAlg, si, o)
	if err != nil {
		return nil, err
	}
	return seq(mustMarshal(OIDSignedData), explicit(0, sd)), nil
}

// version is the SignedData and SignerInfo version, RFC 5652 sections 5.1
// and 5.3: 3 when the signer is named by subjectKeyIdentifier or the content
// is not id-data, else 1. OpenSSL follows the same rule. PKCS #7 (RFC 2315
// section 9.1), and so Authenticode, always says 1.
func version(o Options) int {
	if o.PKCS7 {
		return 1
	}
	if o.SubjectKeyID || (o.ContentType != nil && !o.ContentType.Equal(OIDData)) {
		return 3
	}
	return 1
}

// algorithms checks the key, the certificate and the hash, and returns the
// DER digestAlgorithm and signatureAlgorithm as OpenSSL 3.0 writes them.
func (s *Signer) algorithms(nullParams bool) (digestAlg, sigAlg []byte, err error) {
	if s.Key == nil || s.Cert == nil {
		return nil, nil, errors.New("make CMS signature: BUG: signer without key or certificate")
	}
	hashOID, ecdsaOID, err := hashOIDs(s.Hash)
	if err != nil {
		return nil, nil, err
	}
	pub := s.Key.Public()
	if eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(s.Cert.PublicKey) {
		return nil, nil, errors.New("make CMS signature: the key is not the certificate's")
	}
	// RFC 5754 section 2: the SHA-2 AlgorithmIdentifier parameters are
	// absent; OpenSSL writes them absent too.
	digestAlg = seq(mustMarshal(hashOID))
	if nullParams {
		digestAlg = seq(mustMarshal(hashOID), asn1.NullBytes)
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		// rsaEncryption with NULL parameters (RFC 3370 section 3.2), as
		// openssl cms and sign-file write it, rather than sha256WithRSAEncryption.
		return digestAlg, seq(mustMarshal(oidRSAEncryption), asn1.NullBytes), nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
			return nil, nil, fmt.Errorf("make CMS signature: ECDSA curve %s is not supported (P-256 and P-384 are)", k.Curve.Params().Name)
		}
		// RFC 5758 section 3.2: parameters absent.
		return digestAlg, seq(mustMarshal(ecdsaOID)), nil
	default:
		return nil, nil, fmt.Errorf("make CMS signature: %T keys are not supported for X.509 signatures (RSA and ECDSA P-256/P-384 are)", pub)
	}
}

func hashOIDs(h crypto.Hash) (hashOID, ecdsaOID asn1.ObjectIdentifier, err error) {
	switch h {
	case crypto.SHA256:
		return oidSHA256, oidECDSASHA256, nil
	case crypto.SHA384:
		return oidSHA384, oidECDSASHA384, nil
	case crypto.SHA512:
		return oidSHA512, oidECDSASHA512, nil
	}
	return nil, nil, fmt.Errorf("make CMS signature: hash %v is not supported (SHA-256, SHA-384 and SHA-512 are)", h)
}

// signerID is the SignerIdentifier, RFC 5652 section 5.3.
func (s *Signer) signerID(skid bool) ([]byte, error) {
	if skid {
		if len(s.Cert.SubjectKeyId) == 0 {
			return nil, errors.New("make CMS signature: the certificate has no subject key identifier")
		}
		return tlv(0x80, s.Cert.SubjectKeyId), nil // [0] IMPLICIT SubjectKeyIdentifier
	}
	if s.Cert.SerialNumber == nil {
		return nil, errors.New("make CMS signature: the certificate has no serial number")
	}
	return seq(s.Cert.RawIssuer, mustMarshal(s.Cert.SerialNumber)), nil
}

func signerInfo(v int, sid, digestAlg, attrs, sigAlg, sig []byte) []byte {
	return seq(mustMarshal(v), sid, digestAlg, attrs, sigAlg, tlv(0x04, sig))
}

func (s *Signer) signedData(v int, digestAlg, si []byte, o Options) ([]byte, error) {
	encap, err := encapContentInfo(o)
	if err != nil {
		return nil, err
	}
	var certs []byte
	if !o.NoCerts {
		raw := [][]byte{s.Cert.Raw}
		for _, c := range s.Chain {
			raw = append(raw, c.Raw)
		}
		certs = tlv(0xa0, raw...) // [0] IMPLICIT CertificateSet
	}
	return seq(mustMarshal(v), set(digestAlg), encap, certs, set(si)), nil
}

// encapContentInfo is EncapsulatedContentInfo, RFC 5652 section 5.2, or
// PKCS #7's ContentInfo (RFC 2315 section 7) with o.PKCS7.
func encapContentInfo(o Options) ([]byte, error) {
	ct := o.ContentType
	if ct == nil {
		ct = OIDData
	}
	if o.Content == nil {
		return seq(mustMarshal(ct)), nil
	}
	if !o.PKCS7 {
		return seq(mustMarshal(ct), explicit(0, tlv(0x04, o.Content))), nil
	}
	var v asn1.RawValue
	if rest, err := asn1.Unmarshal(o.Content, &v); err != nil || len(rest) != 0 {
		return nil, errors.New("make CMS signature: the embedded content is not one DER value")
	}
	return seq(mustMarshal(ct), explicit(0, o.Content)), nil
}

// verify checks the token's signature before it leaves: a faulty RSA-CRT
// signature can give the private key away (Boneh, DeMillo, Lipton 1997),
// and an ECDSA signature must be the DER that RFC 5753 section 7.2 and the
// kernel's pkcs7 parser expect.
func verify(pub crypto.PublicKey, h crypto.Hash, digest, sig []byte) error {
	ok := false
	switch k := pub.(type) {
	case *rsa.PublicKey:
		ok = rsa.VerifyPKCS1v15(k, h, digest, sig) == nil
	case *ecdsa.PublicKey:
		ok = ecdsa.VerifyASN1(k, digest, sig)
	}
	if !ok {
		return errors.New("make CMS signature: the key's signature does not verify against the certificate")
	}
	return nil
}
