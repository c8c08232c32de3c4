package pgp

import (
	"bytes"
	"crypto"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Certificate is a v4 transferable public key (RFC 4880 section 11.1) as
// signstar uses it: one primary key that certifies and signs, one user ID,
// and its self-signature. It holds no secret material.
type Certificate struct {
	entity *openpgp.Entity
}

// Hash algorithm IDs for the preferences subpacket (RFC 4880 section 9.4).
const (
	hashIDSHA256 = 8
	hashIDSHA512 = 10
)

// NewCertificate builds a v4 certificate for key and self-certifies uid
// through key (a positive certification, RFC 4880 section 5.2.1, type 0x13).
// The key may certify and sign; it prefers SHA-512, then SHA-256. created is
// part of the fingerprint (section 12.2), so callers store it and pass the
// same value again; it is also the self-signature's time, which makes the
// certificate reproducible. A zero expires means the key never expires. The
// self-signature is verified before the certificate is returned.
func NewCertificate(key crypto.Signer, uid string, created, expires time.Time, h crypto.Hash) (*Certificate, error) {
	bin, err := certificateBytes(key, uid, created, expires, h)
	if err != nil {
		return nil, fmt.Errorf("new certificate: %w", err)
	}
	c, err := ReadCertificate(bytes.NewReader(bin))
	if err != nil {
		return nil, fmt.Errorf("new certificate: check self-signature: %w", err)
	}
	return c, nil
}

// certificateBytes returns the serialized key, user ID and self-signature
// (RFC 4880 section 11.1).
func certificateBytes(key crypto.Signer, uid string, created, expires time.Time, h crypto.Hash) ([]byte, error) {
	if err := checkNewCertificate(uid, created, h); err != nil {
		return nil, err
	}
	pub, err := publicKey(key.Public(), created)
	if err != nil {
		return nil, err
	}
	if err := checkKeyHash(pub, h); err != nil {
		return nil, err
	}
	sig, err := certify(key, pub, uid, created, expires, h)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := pub.Serialize(&buf); err != nil {
		return nil, fmt.Errorf("serialize public key: %w", err)
	}
	if err := (&packet.UserId{Id: uid}).Serialize(&buf); err != nil {
		return nil, fmt.Errorf("serialize user id: %w", err)
	}
	return append(buf.Bytes(), sig...), nil
}

func checkNewCertificate(uid string, created time.Time, h crypto.Hash) error {
	if err := checkHash(h); err != nil {
		return err
	}
	if uid == "" || !utf8.ValidString(uid) || len(uid) > 0xffff {
		return errors.New("user id must be non-empty UTF-8 (RFC 4880 section 5.11)")
	}
	return checkKeyTime(created)
}

// certify has key certify uid: the signed data is the key packet
// framed as 0x99, two-octet length, body, then 0xB4, four-octet length, the
// user ID (RFC 4880 section 5.2.4).
func certify(key crypto.Signer, pub *packet.PublicKey, uid string, created, expires time.Time, h crypto.Hash) ([]byte, error) {
	lifetime, err := keyLifetime(created, expires)
	if err != nil {
		return nil, err
	}
	var data bytes.Buffer
	if err := pub.SerializeForHash(&data); err != nil {
		return nil, fmt.Errorf("hash public key: %w", err)
	}
	data.Write(binary.BigEndian.AppendUint32([]byte{0xb4}, uint32(len(uid))))
	data.WriteString(uid)
	u := unsignedSig{packet.SigTypePositiveCert, pub.PubKeyAlgo, h, certificationArea(pub, created, lifetime)}
	sig, err := u.signBytes(key, data.Bytes())
	if err != nil {
		return nil, fmt.Errorf("self-certify user id: %w", err)
	}
	return sig, nil
}

// keyLifetime is the key expiration subpacket's value: seconds after key
// creation, absent meaning never (RFC 4880 section 5.2.3.6).
func keyLifetime(created, expires time.Time) (*uint32, error) {
	if expires.IsZero() {
		return nil, nil
	}
	secs := expires.Unix() - created.Unix()
	if secs <= 0 || secs > math.MaxUint32 {
		return nil, fmt.Errorf("expiry %s must be after creation %s and within 136 years",
			expires.UTC().Format(time.RFC3339), created.UTC().Format(time.RFC3339))
	}
	lifetime := uint32(secs)
	return &lifetime, nil
}

// ReadCertificate reads one certificate, armored or binary. It refuses
// secret keys, more than one certificate, and anything signstar would not
// have made or should not sign with: a key version other than 4, other
// than exactly one self-signed user ID, subkeys, revocations (see
// [ReadStoredCertificate] for a revoked one).
func ReadCertificate(r io.Reader) (*Certificate, error) {
	c, err := ReadStoredCertificate(r)
	if err != nil {
		return nil, err
	}
	if c.Revoked() {
		return nil, fmt.Errorf("read certificate: %w", ErrRevoked)
	}
	return c, nil
}

func (c *Certificate) check() error {
	e := c.entity
	switch {
	case e.PrivateKey != nil:
		return errors.New("refusing secret key material: give the public certificate")
	case e.PrimaryKey.Version != 4:
		return fmt.Errorf("key version %d, want 4", e.PrimaryKey.Version)
	case len(e.Identities) != 1:
		return fmt.Errorf("%d self-signed user ids, want exactly 1", len(e.Identities))
	case len(e.Subkeys) != 0:
		return fmt.Errorf("%d subkeys, want none", len(e.Subkeys))
	case len(c.identity().Revocations) != 0:
		return errors.New("user id is revoked")
	}
	return nil
}

// WriteArmored writes the certificate in ASCII armor (RFC 4880 section 6.2).
func (c *Certificate) WriteArmored(w io.Writer) error {
	var bin bytes.Buffer
	if err := c.entity.Serialize(&bin); err != nil {
		return fmt.Errorf("write certificate: %w", err)
	}
	asc, err := armored(openpgp.PublicKeyType, bin.Bytes())
	if err != nil {
		return fmt.Errorf("write certificate: %w", err)
	}
	if _, err := w.Write(asc); err != nil {
		return fmt.Errorf("write certificate: %w", err)
	}
	return nil
}

// Fingerprint is the v4 fingerprint (RFC 4880 section 12.2) as 40 upper-case
// hex digits.
func (c *Certificate) Fingerprint() string { return fmt.Sprintf("%X", c.key().Fingerprint) }

// KeyID is the low 64 bits of the fingerprint.
func (c *Certificate) KeyID() uint64 { return c.key().KeyId }

// Created is the key creation time.
func (c *Certificate) Created() time.Time { return c.key().CreationTime }

// UserID is the certificate's one user ID.
func (c *Certificate) UserID() string { return c.identity().Name }

// Algorithm names the key: "ed25519", "rsa3072", "rsa4096", "p256", "p384",
// or a descriptive name for keys signstar does not make.
func (c *Certificate) Algorithm() string {
	k := c.key()
	switch k.PubKeyAlgo {
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSASignOnly:
		bits, _ := k.BitLength()
		return fmt.Sprintf("rsa%d", bits)
	case packet.PubKeyAlgoECDSA, packet.PubKeyAlgoEdDSA:
		return curveName(k)
	case packet.PubKeyAlgoEd25519:
		return "ed25519-rfc9580"
	default:
		return fmt.Sprintf("pubkey-algorithm-%d", k.PubKeyAlgo)
	}
}

func curveName(k *packet.PublicKey) string {
	curve, err := k.Curve()
	switch {
	case err != nil:
		return fmt.Sprintf("pubkey-algorithm-%d-unknown-curve", k.PubKeyAlgo)
	case k.PubKeyAlgo == packet.PubKeyAlgoEdDSA && curve == packet.Curve25519:
		return "ed25519"
	case k.PubKeyAlgo == packet.PubKeyAlgoECDSA && (curve == packet.CurveNistP256 || curve == packet.CurveNistP384):
		return strings.ToLower(string(curve))
	case k.PubKeyAlgo == packet.PubKeyAlgoEdDSA:
		return "eddsa-" + strings.ToLower(string(curve))
	default:
		return "ecdsa-" + strings.ToLower(string(curve))
	}
}

// Matches returns an error wrapping [ErrMismatch] when pub, the token's
// public key, is not the certificate's key. It compares fingerprints, which
// cover algorithm and key material (RFC 4880 section 12.2).
func (c *Certificate) Matches(pub crypto.PublicKey) error {
	pk, err := publicKey(pub, c.Created())
	if err != nil {
		return fmt.Errorf("compare token key with certificate: %w", err)
	}
	if !bytes.Equal(pk.Fingerprint, c.key().Fingerprint) {
		return fmt.Errorf("%w: token key %X, certificate %s", ErrMismatch, pk.Fingerprint, c.Fingerprint())
	}
	return nil
}

func (c *Certificate) key() *packet.PublicKey { return c.entity.PrimaryKey }

// identity is the one identity [Certificate.check] guarantees.
func (c *Certificate) identity() *openpgp.Identity {
	for _, id := range c.entity.Identities {
		return id
	}
	panic("BUG: certificate without a user id")
}

// selfSignature is the newest self-signature over the user ID.
func (c *Certificate) selfSignature() *packet.Signature { return c.identity().SelfSignature }

// validAt refuses times at which verifiers reject the key's signatures:
// before the key was created, or after it expired (RFC 4880 section 5.2.3.6).
func (c *Certificate) validAt(t time.Time) error {
	if c.key().KeyExpired(c.selfSignature(), t) {
		return fmt.Errorf("key %s is not valid at %s (created %s%s)", c.Fingerprint(),
			t.UTC().Format(time.RFC3339), c.Created().UTC().Format(time.RFC3339), c.expiry())
	}
	return nil
}

func (c *Certificate) expiry() string {
	if l := c.selfSignature().KeyLifetimeSecs; l != nil && *l != 0 {
		return ", expires " + c.Created().Add(time.Duration(*l)*time.Second).UTC().Format(time.RFC3339)
	}
	return ""
}
