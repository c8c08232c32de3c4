package pgp

// Key lifecycle: the signatures that change what a certificate says after
// it was made. Each is written by hand as the other packets are (see
// signature.go), made by a crypto.Signer (the token key through keyring's
// lock guard), parsed back and verified by go-crypto against the key
// before the certificate takes it:
//
//   - a new user ID self-signature with another key expiration time
//     (RFC 4880 sections 5.2.3.6 and 5.2.3.10): verifiers use the newest
//     self-signature, and the older ones stay in the certificate, so
//     signatures made under them stay valid;
//   - a key revocation signature (type 0x20, section 5.2.1) with a reason
//     (section 5.2.3.23), added to the certificate or, on its own with the
//     primary key, as a revocation certificate to keep offline;
//   - a third-party certification (type 0x10, section 5.2.1) of another
//     certificate's user ID, so that who trusts one key can follow to the
//     next.

import (
	"bytes"
	"crypto"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// ErrRevoked is returned for a certificate that carries a key revocation
// where a usable one is wanted.
var ErrRevoked = errors.New("certificate is revoked")

// Signature subpacket types the lifecycle signatures add or replace (RFC
// 4880 section 5.2.3.1).
const (
	subSigExpiration    = 3
	subRevocationReason = 29
)

// RevocationReason is a reason for revocation code (RFC 4880 section
// 5.2.3.23).
type RevocationReason byte

// The codes a key revocation may carry.
const (
	ReasonNone        RevocationReason = 0 // "no reason specified", what gpg's pre-made certificate says
	ReasonSuperseded  RevocationReason = 1
	ReasonCompromised RevocationReason = 2
	ReasonRetired     RevocationReason = 3
)

func (r RevocationReason) String() string {
	switch r {
	case ReasonNone:
		return "no reason specified"
	case ReasonSuperseded:
		return "superseded"
	case ReasonCompromised:
		return "compromised"
	case ReasonRetired:
		return "retired"
	}
	return fmt.Sprintf("reason %d", byte(r))
}

// ReadStoredCertificate reads a certificate as signstar stores it: what
// [ReadCertificate] accepts, and also one with a key revocation, which
// [Certificate.Revoked] reports. Who signs with it must refuse it.
func ReadStoredCertificate(r io.Reader) (*Certificate, error) {
	body, err := dearmor(r, openpgp.PublicKeyType)
	if err != nil {
		return nil, fmt.Errorf("read certificate: %w", err)
	}
	packets := packet.NewReader(body)
	e, err := openpgp.ReadEntity(packets)
	if err != nil {
		return nil, fmt.Errorf("read certificate: %w", err)
	}
	if _, err := packets.Next(); err != io.EOF {
		return nil, errors.New("read certificate: more than one certificate, or trailing data")
	}
	c := &Certificate{entity: e}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("read certificate: %w", err)
	}
	return c, nil
}

// Revoked reports whether the certificate carries a key revocation
// (go-crypto keeps only those the key itself made and that verify).
func (c *Certificate) Revoked() bool { return len(c.entity.Revocations) > 0 }

// Revocation is the reason and message of the certificate's first key
// revocation, and when it was made; ok is false if it has none.
func (c *Certificate) Revocation() (reason RevocationReason, message string, when time.Time, ok bool) {
	if !c.Revoked() {
		return 0, "", time.Time{}, false
	}
	r := c.entity.Revocations[0]
	if r.RevocationReason != nil {
		reason = RevocationReason(*r.RevocationReason)
	}
	return reason, r.RevocationReasonText, r.CreationTime, true
}

// Expires is when the key expires by its newest self-signature; zero
// means never (RFC 4880 section 5.2.3.6).
func (c *Certificate) Expires() time.Time {
	if l := c.selfSignature().KeyLifetimeSecs; l != nil && *l != 0 {
		return c.Created().Add(time.Duration(*l) * time.Second)
	}
	return time.Time{}
}

// Certifiers are the fingerprints of the keys that certified the user ID
// besides the key itself (issuer fingerprint subpacket, or the issuer key
// ID in hex when that is all a signature names). They are not verified.
func (c *Certificate) Certifiers() []string {
	var out []string
	for _, s := range c.identity().Signatures {
		if s.CheckKeyIdOrFingerprint(c.key()) {
			continue
		}
		switch {
		case s.IssuerFingerprint != nil:
			out = append(out, fmt.Sprintf("%X", s.IssuerFingerprint))
		case s.IssuerKeyId != nil:
			out = append(out, fmt.Sprintf("%016X", *s.IssuerKeyId))
		}
	}
	return out
}

// Extend has key, the certificate's own, make a new self-signature over
// the user ID, at now, with expires as the key expiration (zero: never).
// It keeps the newest self-signature's other hashed subpackets (key
// flags, preferences, features) and drops a signature expiration. The
// older self-signatures stay, so what they covered stays valid.
func (c *Certificate) Extend(key crypto.Signer, expires, now time.Time, h crypto.Hash) error {
	if err := c.checkSelfSigner(key, now, h); err != nil {
		return fmt.Errorf("extend: %w", err)
	}
	lifetime, err := c.checkExtend(expires, now)
	if err != nil {
		return err
	}
	old := c.selfSignature()
	kept, err := keptSubpackets(old)
	if err != nil {
		return fmt.Errorf("extend: %w", err)
	}
	area := subpacket(nil, subCreationTime, false, unixTime(now))
	if lifetime != nil {
		area = subpacket(area, subKeyExpiration, false, binary.BigEndian.AppendUint32(nil, *lifetime))
	}
	area = subpacket(area, subIssuer, false, binary.BigEndian.AppendUint64(nil, c.KeyID()))
	area = append(area, kept...)
	area = subpacket(area, subIssuerFpr, false, append([]byte{4}, c.key().Fingerprint...))
	u := unsignedSig{packet.SigTypePositiveCert, c.key().PubKeyAlgo, h, area}
	sig, err := c.signUserID(key, u, c)
	if err != nil {
		return fmt.Errorf("extend: %w", err)
	}
	return c.addUserIDSignature(sig)
}

// CheckExtend says whether [Certificate.Extend] can make a self-signature
// at now that lets the key expire at expires (zero: never): not if expires
// is past, or if the newest self-signature is not older than now (the
// newest one is the one verifiers use, by its creation time in seconds).
func (c *Certificate) CheckExtend(expires, now time.Time) error {
	_, err := c.checkExtend(expires, now)
	return err
}

func (c *Certificate) checkExtend(expires, now time.Time) (*uint32, error) {
	if old := c.selfSignature().CreationTime; !now.After(old) {
		return nil, fmt.Errorf("extend: the newest self-signature is from %s; a new one must be later", old.UTC().Format(time.RFC3339))
	}
	if !expires.IsZero() && !expires.After(now) {
		return nil, fmt.Errorf("extend: expiry %s is not in the future", expires.UTC().Format(time.RFC3339))
	}
	lifetime, err := keyLifetime(c.Created(), expires)
	if err != nil {
		return nil, fmt.Errorf("extend: %w", err)
	}
	return lifetime, nil
}

// Revoke has key, the certificate's own, make a key revocation signature
// at now and adds it to the certificate.
func (c *Certificate) Revoke(key crypto.Signer, reason RevocationReason, message string, now time.Time, h crypto.Hash) error {
	sig, err := c.revocation(key, reason, message, now, h)
	if err != nil {
		return err
	}
	e := *c.entity
	e.Revocations = append(append([]*packet.Signature(nil), e.Revocations...), sig)
	return c.replace(&e)
}

// RevocationCertificate has key, the certificate's own, make a key
// revocation signature at now with reason 0 ("no reason specified", as
// gpg 2.2 writes into openpgp-revocs.d) and returns it armored, after the
// primary key packet: gpg and sq read that on its own, where gpg's own
// file (the bare signature) needs the key already in the keyring.
func (c *Certificate) RevocationCertificate(key crypto.Signer, now time.Time, h crypto.Hash) ([]byte, error) {
	sig, err := c.revocation(key, ReasonNone, "", now, h)
	if err != nil {
		return nil, err
	}
	var bin bytes.Buffer
	if err := c.key().Serialize(&bin); err != nil {
		return nil, fmt.Errorf("revocation certificate: %w", err)
	}
	if err := sig.Serialize(&bin); err != nil {
		return nil, fmt.Errorf("revocation certificate: %w", err)
	}
	return armored(openpgp.PublicKeyType, bin.Bytes())
}

// revocation makes and verifies a key revocation signature (RFC 4880
// section 5.2.4: the signed data is the key alone). The hashed area holds
// creation time, issuer, the reason (section 5.2.3.23) and issuer
// fingerprint.
func (c *Certificate) revocation(key crypto.Signer, reason RevocationReason, message string, now time.Time, h crypto.Hash) (*packet.Signature, error) {
	if err := c.checkSelfSigner(key, now, h); err != nil {
		return nil, fmt.Errorf("revoke: %w", err)
	}
	if len(message) > 1024 {
		return nil, errors.New("revoke: message longer than 1024 bytes")
	}
	area := subpacket(nil, subCreationTime, false, unixTime(now))
	area = subpacket(area, subIssuer, false, binary.BigEndian.AppendUint64(nil, c.KeyID()))
	area = subpacket(area, subRevocationReason, false, append([]byte{byte(reason)}, message...))
	area = subpacket(area, subIssuerFpr, false, append([]byte{4}, c.key().Fingerprint...))
	var data bytes.Buffer
	if err := c.key().SerializeForHash(&data); err != nil {
		return nil, fmt.Errorf("revoke: hash public key: %w", err)
	}
	raw, err := unsignedSig{packet.SigTypeKeyRevocation, c.key().PubKeyAlgo, h, area}.signBytes(key, data.Bytes())
	if err != nil {
		return nil, fmt.Errorf("revoke: %w", err)
	}
	sig, err := parseSignature(raw)
	if err != nil {
		return nil, fmt.Errorf("revoke: %w", err)
	}
	if err := c.key().VerifyRevocationSignature(sig); err != nil {
		return nil, fmt.Errorf("revoke: check the revocation: %w", err)
	}
	return sig, nil
}

// CertifyBy has key, certifier's key, certify the user ID of c at now: a
// generic certification (type 0x10, what gpg --sign-key makes), exportable,
// added to c. Who trusts certifier's key then finds c's user ID valid.
func (c *Certificate) CertifyBy(key crypto.Signer, certifier *Certificate, now time.Time, h crypto.Hash) error {
	if err := certifier.checkSelfSigner(key, now, h); err != nil {
		return fmt.Errorf("certify: %w", err)
	}
	if bytes.Equal(certifier.key().Fingerprint, c.key().Fingerprint) {
		return errors.New("certify: a key does not certify itself")
	}
	if certifier.Revoked() {
		return fmt.Errorf("certify: certifying key %s: %w", certifier.Fingerprint(), ErrRevoked)
	}
	area := subpacket(nil, subCreationTime, false, unixTime(now))
	area = subpacket(area, subIssuer, false, binary.BigEndian.AppendUint64(nil, certifier.KeyID()))
	area = subpacket(area, subIssuerFpr, false, append([]byte{4}, certifier.key().Fingerprint...))
	u := unsignedSig{packet.SigTypeGenericCert, certifier.key().PubKeyAlgo, h, area}
	sig, err := c.signUserID(key, u, certifier)
	if err != nil {
		return fmt.Errorf("certify: %w", err)
	}
	return c.addUserIDSignature(sig)
}

// checkSelfSigner refuses a key that is not the certificate's, and a time
// or hash the packets cannot carry.
func (c *Certificate) checkSelfSigner(key crypto.Signer, now time.Time, h crypto.Hash) error {
	if err := c.Matches(key.Public()); err != nil {
		return err
	}
	if err := checkHash(h); err != nil {
		return err
	}
	if err := checkKeyHash(c.key(), h); err != nil {
		return err
	}
	if now.Before(c.Created()) {
		return fmt.Errorf("time %s is before the key's creation", now.UTC().Format(time.RFC3339))
	}
	return checkKeyTime(now)
}

// signUserID has key (signer's) sign u over c's key and user ID (RFC 4880
// section 5.2.4) and verifies the result against signer's key.
func (c *Certificate) signUserID(key crypto.Signer, u unsignedSig, signer *Certificate) (*packet.Signature, error) {
	var data bytes.Buffer
	if err := c.key().SerializeForHash(&data); err != nil {
		return nil, fmt.Errorf("hash public key: %w", err)
	}
	uid := c.UserID()
	data.Write(binary.BigEndian.AppendUint32([]byte{0xb4}, uint32(len(uid))))
	data.WriteString(uid)
	raw, err := u.signBytes(key, data.Bytes())
	if err != nil {
		return nil, err
	}
	sig, err := parseSignature(raw)
	if err != nil {
		return nil, err
	}
	if err := signer.key().VerifyUserIdSignature(uid, c.key(), sig); err != nil {
		return nil, fmt.Errorf("check the signature over user id: %w", err)
	}
	return sig, nil
}

// addUserIDSignature appends sig after the user ID's signatures.
func (c *Certificate) addUserIDSignature(sig *packet.Signature) error {
	id := *c.identity()
	id.Signatures = append(append([]*packet.Signature(nil), id.Signatures...), sig)
	e := *c.entity
	e.Identities = map[string]*openpgp.Identity{id.Name: &id}
	return c.replace(&e)
}

// replace serializes e and reads it back, so that c holds what go-crypto
// makes of the bytes that will be stored, and only if it accepts them.
func (c *Certificate) replace(e *openpgp.Entity) error {
	var bin bytes.Buffer
	if err := e.Serialize(&bin); err != nil {
		return fmt.Errorf("serialize certificate: %w", err)
	}
	n, err := ReadStoredCertificate(&bin)
	if err != nil {
		return err
	}
	c.entity = n.entity
	return nil
}

func parseSignature(raw []byte) (*packet.Signature, error) {
	p, err := packet.Read(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("BUG: parse the signature just made: %v", err)
	}
	sig, ok := p.(*packet.Signature)
	if !ok {
		return nil, fmt.Errorf("BUG: parse the signature just made: got %T", p)
	}
	return sig, nil
}

// keptSubpackets returns the hashed subpackets of old that a new
// self-signature carries over as they are: all but creation time, key
// and signature expiration, issuer and issuer fingerprint, which it
// writes anew.
func keptSubpackets(old *packet.Signature) ([]byte, error) {
	s := old.HashSuffix
	if len(s) < 6 || s[0] != 4 {
		return nil, errors.New("the self-signature is not v4")
	}
	n := int(binary.BigEndian.Uint16(s[4:6]))
	if len(s) < 6+n {
		return nil, errors.New("BUG: truncated hashed subpacket area")
	}
	area := s[6 : 6+n]
	var kept []byte
	for len(area) > 0 {
		l, hdr, err := subpacketLength(area)
		if err != nil {
			return nil, err
		}
		sp := area[:hdr+l]
		switch sp[hdr] &^ 0x80 {
		case subCreationTime, subKeyExpiration, subSigExpiration, subIssuer, subIssuerFpr:
		default:
			kept = append(kept, sp...)
		}
		area = area[hdr+l:]
	}
	return kept, nil
}

// subpacketLength reads a subpacket's length (RFC 4880 section 5.2.3.1:
// one, two or five octets) and returns it with the octets it took.
func subpacketLength(b []byte) (l, hdr int, err error) {
	switch {
	case b[0] < 192:
		l, hdr = int(b[0]), 1
	case b[0] < 255 && len(b) >= 2:
		l, hdr = (int(b[0])-192)<<8+int(b[1])+192, 2
	case b[0] == 255 && len(b) >= 5:
		l, hdr = int(binary.BigEndian.Uint32(b[1:5])), 5
	default:
		return 0, 0, errors.New("malformed subpacket length")
	}
	if l < 1 || len(b) < hdr+l {
		return 0, 0, errors.New("malformed subpacket length")
	}
	return l, hdr, nil
}

// Clone returns a copy of c that the lifecycle methods can change while
// c stays as it is.
func (c *Certificate) Clone() *Certificate { return &Certificate{entity: c.entity} }
