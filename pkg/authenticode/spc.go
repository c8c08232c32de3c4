package authenticode

import (
	"bytes"
	"crypto"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"unicode/utf16"
)

// Object identifiers of Authenticode (Authenticode PE, "Authenticode-Specific
// Structures") and of the digests it names.
var (
	oidSpcIndirectData  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 4}
	oidSpcPeImageData   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 15}
	oidSpcSpOpusInfo    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 12}
	oidSpcStatementType = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 11}
	oidIndividualCode   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 21}
	oidSMIMECaps        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 15}
	oidSignedData       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
)

var digestOIDs = map[crypto.Hash]asn1.ObjectIdentifier{
	crypto.SHA256: {2, 16, 840, 1, 101, 3, 4, 2, 1},
	crypto.SHA384: {2, 16, 840, 1, 101, 3, 4, 2, 2},
	crypto.SHA512: {2, 16, 840, 1, 101, 3, 4, 2, 3},
}

// SpcIndirectDataContent ::= SEQUENCE {
//
//	data          SpcAttributeTypeAndOptionalValue,
//	messageDigest DigestInfo }
type spcIndirectDataContent struct {
	Data          spcAttributeTypeAndOptionalValue
	MessageDigest digestInfo
}

type spcAttributeTypeAndOptionalValue struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

type digestInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	Digest    []byte
}

// spcPeImageData is SpcPeImageData as sbsign 0.9.4 and osslsigncode write
// it: flags an empty BIT STRING, and file [0] EXPLICIT SpcLink, the choice
// file [2] EXPLICIT SpcString, the choice unicode [0] IMPLICIT BMPString
// "<<<Obsolete>>>" (Authenticode PE: "the SpcLink ... is set to the
// Unicode string <<<Obsolete>>>").
var spcPeImageData = mustMarshal(struct {
	Flags asn1.BitString
	File  asn1.RawValue
}{
	File: explicit(0, explicit(2, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, Bytes: bmp("<<<Obsolete>>>")})),
})

// IndirectData returns the DER of SpcIndirectDataContent for the image hash
// digest made with h: what the PKCS#7 SignedData carries as its content and
// signs (its messageDigest attribute is the hash of this value without its
// outer tag and length, Authenticode PE, "Authenticode-Specific Structures").
func IndirectData(h crypto.Hash, digest []byte) ([]byte, error) {
	if err := checkHash(h); err != nil {
		return nil, err
	}
	if len(digest) != h.Size() {
		return nil, fmt.Errorf("image hash is %d bytes, %v makes %d", len(digest), h, h.Size())
	}
	return asn1.Marshal(spcIndirectDataContent{
		Data: spcAttributeTypeAndOptionalValue{Type: oidSpcPeImageData, Value: asn1.RawValue{FullBytes: spcPeImageData}},
		MessageDigest: digestInfo{
			Algorithm: pkix.AlgorithmIdentifier{Algorithm: digestOIDs[h], Parameters: asn1.NullRawValue},
			Digest:    digest,
		},
	})
}

// signedImageHash returns the hash algorithm and image hash in the
// SpcIndirectDataContent of a PKCS#7 SignedData blob: DER ContentInfo
// without trailing bytes. It checks the structure, not the signature.
func signedImageHash(blob []byte) (crypto.Hash, []byte, error) {
	var ci struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue `asn1:"explicit,tag:0"`
	}
	if rest, err := asn1.Unmarshal(blob, &ci); err != nil || len(rest) > 0 || !ci.Type.Equal(oidSignedData) {
		return 0, nil, errors.New("not a PKCS#7 SignedData")
	}
	var sd struct {
		Version    int
		Algorithms asn1.RawValue
		Content    struct {
			Type    asn1.ObjectIdentifier
			Content asn1.RawValue `asn1:"explicit,tag:0"`
		}
	}
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || !sd.Content.Type.Equal(oidSpcIndirectData) {
		return 0, nil, errors.New("PKCS#7 SignedData does not hold SpcIndirectDataContent")
	}
	var idc spcIndirectDataContent
	if rest, err := asn1.Unmarshal(sd.Content.Content.Bytes, &idc); err != nil || len(rest) > 0 {
		return 0, nil, errors.New("malformed SpcIndirectDataContent")
	}
	for h, oid := range digestOIDs {
		if oid.Equal(idc.MessageDigest.Algorithm.Algorithm) {
			return h, idc.MessageDigest.Digest, nil
		}
	}
	return 0, nil, fmt.Errorf("image hash algorithm %v is not supported", idc.MessageDigest.Algorithm.Algorithm)
}

// checkBlob refuses a blob whose image hash is not the image's.
func (im *Image) checkBlob(blob []byte) error {
	h, got, err := signedImageHash(blob)
	if err != nil {
		return err
	}
	want, err := im.Hash(h)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("signature is for image hash %x, this image's is %x", got, want)
	}
	return nil
}

func explicit(tag int, inner asn1.RawValue) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tag, IsCompound: true, Bytes: mustMarshal(inner)}
}

// bmp encodes s as a BMPString's content: UTF-16 big-endian.
func bmp(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return b
}

func mustMarshal(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic("BUG: marshal a constant: " + err.Error())
	}
	return b
}

// smimeCapabilities is the SMIMECapabilities value OpenSSL's PKCS7_sign
// adds by default and sbsign 0.9.4 therefore signs: AES-256/192/128-CBC,
// 3DES, RC2-128/64, DES, RC2-40 (RFC 8551 section 2.5.2).
var smimeCapabilities = mustHex("306a300b060960864801650304012a300b0609608648016503040116300b0609608648016503040102" +
	"300a06082a864886f70d0307300e06082a864886f70d030202020080300d06082a864886f70d0302020140" +
	"300706052b0e030207300d06082a864886f70d0302020128")

func rawDER(der []byte) asn1.RawValue { return asn1.RawValue{FullBytes: der} }

// contents returns the contents octets of the DER TLV der: what follows
// its tag and length.
func contents(der []byte) []byte {
	var v asn1.RawValue
	if _, err := asn1.Unmarshal(der, &v); err != nil {
		panic("BUG: contents of DER we just encoded: " + err.Error())
	}
	return v.Bytes
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic("BUG: hex constant: " + err.Error())
	}
	return b
}
