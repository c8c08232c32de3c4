package pgp

import (
	"crypto"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Verify checks sig, one detached v4 document signature (armored or
// binary), over data against cert: a binary-document signature over data
// as it is, or a canonical-text one over data with CRLF line ends (RFC
// 4880 section 5.2.1). It accepts SHA-256, SHA-384 and SHA-512, and only
// signature times at which the key was valid.
func Verify(cert *Certificate, sig, data io.Reader) error {
	s, err := readSignature(sig)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if err := verifyData(cert, s, data); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	return nil
}

// verifyData checks the parsed signature s over data as [Verify] does.
func verifyData(cert *Certificate, s *packet.Signature, data io.Reader) error {
	if s.Hash != crypto.SHA256 && s.Hash != crypto.SHA384 && s.Hash != crypto.SHA512 {
		return fmt.Errorf("hash %v is not accepted", s.Hash)
	}
	if s.SigType == packet.SigTypeText {
		data = newTextReader(data, nil, false)
	}
	h := s.Hash.New()
	if _, err := io.CopyBuffer(h, struct{ io.Reader }{data}, make([]byte, bufSize)); err != nil {
		return fmt.Errorf("read data: %w", err)
	}
	return cert.verify(s, h, s.SigType)
}

// readSignature reads exactly one signature packet, armored or binary.
func readSignature(r io.Reader) (*packet.Signature, error) {
	body, err := dearmor(r, openpgp.SignatureType)
	if err != nil {
		return nil, fmt.Errorf("read signature: %w", err)
	}
	p, err := packet.Read(body)
	if err != nil {
		return nil, fmt.Errorf("read signature: %w", err)
	}
	sig, ok := p.(*packet.Signature)
	if !ok {
		return nil, fmt.Errorf("read signature: got %T, want a signature packet", p)
	}
	if _, err := packet.Read(body); err != io.EOF {
		return nil, errors.New("read signature: more than one packet, or trailing data")
	}
	return sig, nil
}

// verify checks that sig is a v4 document signature of type want (0x00
// or 0x01) by the certificate's key over the data absorbed by h, made
// while the key was valid. h is consumed.
func (c *Certificate) verify(sig *packet.Signature, h hash.Hash, want packet.SignatureType) error {
	if want != packet.SigTypeBinary && want != packet.SigTypeText {
		return fmt.Errorf("signature type %#02x is not a document signature", uint8(want))
	}
	if sig.Version != 4 || sig.SigType != want {
		return fmt.Errorf("signature is version %d type %#02x, want version 4 type %#02x", sig.Version, uint8(sig.SigType), uint8(want))
	}
	if !sig.CheckKeyIdOrFingerprint(c.key()) {
		return fmt.Errorf("signature was not issued by %s", c.Fingerprint())
	}
	if err := c.checkHashTag(sig, h); err != nil {
		return err
	}
	if err := c.key().VerifySignature(h, sig); err != nil {
		return err
	}
	return c.validAt(sig.CreationTime)
}

// checkHashTag compares the digest's first two octets with the packet's
// copy (RFC 4880 section 5.2.3). go-crypto skips this for v4 signatures,
// but gpg rejects a mismatch, so a signature released here must pass it.
func (c *Certificate) checkHashTag(sig *packet.Signature, h hash.Hash) error {
	tag, err := cloneHash(h, sig.Hash)
	if err != nil {
		return err
	}
	return packet.VerifyHashTag(tag, sig)
}
