package authenticode

import (
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"

	"signstar/pkg/cms"
)

// Options are the choices of an Authenticode signature.
type Options struct {
	// SigningTime is the signingTime attribute; zero means now.
	SigningTime time.Time
	// Append adds a signature to an already signed image (see [Insert])
	// instead of refusing it with [ErrSigned].
	Append bool
	// SbsignAttributes writes the signed attributes sbsign 0.9.4 writes
	// (contentType, signingTime, messageDigest and OpenSSL's default
	// S/MIME capabilities) instead of the default set, so that the
	// signature equals sbsign's for the same key, image and signing time.
	// The default set is contentType, signingTime, messageDigest, an empty
	// SpcSpOpusInfo and SpcStatementType individual code signing, as
	// signtool writes them (osslsigncode writes the statement type too).
	SbsignAttributes bool
	// InPlace lets [Sign] build the signed image in image's own storage
	// when its capacity has room for the signature, changing image: a
	// signing host that holds a large image once, not twice, sets it.
	InPlace bool
}

// SignDigest returns the PKCS#7 SignedData blob that signs the image hash
// digest (made with s.Hash, see [Digest]): the server's half of a
// digest-only request. [Insert] puts it into the image.
func SignDigest(digest []byte, s *cms.Signer, o Options) ([]byte, error) {
	if _, ok := s.Key.Public().(ed25519.PublicKey); ok {
		return nil, errors.New("make Authenticode signature: Ed25519 keys are not accepted by Authenticode or UEFI")
	}
	idc, err := IndirectData(s.Hash, digest)
	if err != nil {
		return nil, fmt.Errorf("make Authenticode signature: %w", err)
	}
	// The messageDigest attribute is the hash of SpcIndirectDataContent's
	// value without its tag and length (Authenticode PE, "Authenticode-
	// Specific Structures"); PKCS #7 section 9.3 hashes the contents octets.
	h := s.Hash.New()
	h.Write(contents(idc))
	return s.Sign(h.Sum(nil), cms.Options{
		PKCS7:       true,
		SigningTime: o.SigningTime,
		ContentType: oidSpcIndirectData,
		Content:     idc,
		Attributes:  attributes(o),
	})
}

// attributes are the signed attributes beyond the three pkg/cms writes.
func attributes(o Options) []cms.Attribute {
	if o.SbsignAttributes {
		return []cms.Attribute{{Type: oidSMIMECaps, Value: rawDER(smimeCapabilities)}}
	}
	return []cms.Attribute{
		{Type: oidSpcSpOpusInfo, Value: rawDER([]byte{0x30, 0x00})},
		{Type: oidSpcStatementType, Value: rawDER(mustMarshal([]asn1.ObjectIdentifier{oidIndividualCode}))},
	}
}

// Sign returns a copy of image signed by s: the image hash with s.Hash,
// the PKCS#7 blob of [SignDigest] and [Insert]'s WIN_CERTIFICATE.
func Sign(image []byte, s *cms.Signer, o Options) ([]byte, error) {
	im, err := Parse(image)
	if err != nil {
		return nil, err
	}
	if im.Signed() && !o.Append {
		return nil, ErrSigned
	}
	digest, err := im.Hash(s.Hash)
	if err != nil {
		return nil, err
	}
	blob, err := SignDigest(digest, s, o)
	if err != nil {
		return nil, err
	}
	return im.insert(blob, o.Append, o.InPlace)
}

// Expect is what the PKCS#7 blob [SignDigest] makes over digest, a
// SHA-256 image hash, says, as [cms.Verify] checks it: a client checks a
// signing host's blob with it before [Insert] puts it into the image.
func Expect(digest []byte) (cms.Expect, error) {
	idc, err := IndirectData(crypto.SHA256, digest)
	if err != nil {
		return cms.Expect{}, err
	}
	md := sha256.Sum256(contents(idc))
	return cms.Expect{ContentType: oidSpcIndirectData, Content: idc, Digest: md[:], Attributes: true}, nil
}
