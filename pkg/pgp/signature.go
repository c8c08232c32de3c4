package pgp

// signstar writes its v4 signature packets itself (RFC 4880 section 5.2.3)
// rather than through go-crypto's Signature.Sign, for two reasons found on
// real verifiers and tokens:
//
//   - go-crypto signs legacy EdDSA (algorithm 22, the only Ed25519 encoding
//     gpgv 2.2 and sqv 1.1 accept in v4 keys) only with its own in-memory key
//     type, never through a crypto.Signer;
//   - go-crypto marks the key expiration subpacket critical, and rpm 4.18
//     refuses to import a certificate with a critical subpacket it does not
//     know, so an expiring certificate would not load into rpm.
//
// Building the packet is a few lines per RFC section, and every packet is
// parsed and verified by go-crypto, an independent implementation, before it
// leaves the package. Subpackets are written in go-crypto's order and none is
// critical, as GnuPG writes them: older rpm and yum refuse critical
// subpackets they do not know (go-crypto's InsecureGenerateNonCritical*
// options exist for the same reason).

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/big"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Packet tags (RFC 4880 section 4.3) and signature subpacket types (section
// 5.2.3.1).
const (
	tagSignature = 2
	tagPublicKey = 6

	subCreationTime  = 2
	subKeyExpiration = 9
	subIssuer        = 16
	subNotation      = 20
	subPreferredHash = 21
	subKeyFlags      = 27
	subIssuerFpr     = 33
)

// unsignedSig is a v4 signature before the token has signed it.
type unsignedSig struct {
	sigType packet.SignatureType
	algo    packet.PublicKeyAlgorithm
	hash    crypto.Hash
	hashed  []byte // the hashed subpacket area
}

// sign finishes h, which has absorbed the signed data, with u's suffix,
// has key sign the digest, and returns the serialized signature packet.
func (u unsignedSig) sign(key crypto.Signer, h hash.Hash) ([]byte, error) {
	fields, suffix, err := u.suffix()
	if err != nil {
		return nil, err
	}
	h.Write(suffix)
	digest := h.Sum(nil)
	values, err := signDigest(key, u.algo, u.hash, digest)
	if err != nil {
		return nil, err
	}
	return u.packet(fields, digest, values), nil
}

// signMessage has ms sign data followed by u's suffix, the token hashing
// all of it itself, and returns the serialized signature packet. h, a
// fresh hash of u's type, absorbs data as the token reads it and is left
// holding exactly data; the packet's hash prefix comes from a copy.
func (u unsignedSig) signMessage(ms MessageSigner, data io.Reader, h hash.Hash) ([]byte, error) {
	if u.algo != packet.PubKeyAlgoRSA {
		return nil, fmt.Errorf("BUG: message signing with public-key algorithm %d", u.algo)
	}
	fields, suffix, err := u.suffix()
	if err != nil {
		return nil, err
	}
	sig, err := ms.SignMessage(io.MultiReader(io.TeeReader(data, h), bytes.NewReader(suffix)), u.hash)
	if err != nil {
		return nil, fmt.Errorf("token rsa signature: %w", err)
	}
	d, err := cloneHash(h, u.hash)
	if err != nil {
		return nil, fmt.Errorf("BUG: %w", err)
	}
	d.Write(suffix)
	return u.packet(fields, d.Sum(nil), mpi(sig)), nil
}

// signBytes signs data, whichever way key signs.
func (u unsignedSig) signBytes(key crypto.Signer, data []byte) ([]byte, error) {
	h := u.hash.New()
	if ms, ok := key.(MessageSigner); ok {
		return u.signMessage(ms, bytes.NewReader(data), h)
	}
	h.Write(data)
	return u.sign(key, h)
}

// suffix returns the hashed fields and what follows the signed data into
// the hash: those fields and the v4 trailer (RFC 4880 section 5.2.4).
func (u unsignedSig) suffix() (fields, suffix []byte, err error) {
	fields, err = u.fields()
	if err != nil {
		return nil, nil, err
	}
	suffix = append(bytes.Clone(fields), 4, 0xff)
	return fields, binary.BigEndian.AppendUint32(suffix, uint32(len(fields))), nil
}

// packet is the signature packet: the hashed fields, no unhashed
// subpackets, the digest's left 16 bits, the signature values.
func (u unsignedSig) packet(fields, digest, values []byte) []byte {
	body := append(fields, 0, 0, digest[0], digest[1])
	return packetBytes(tagSignature, append(body, values...))
}

// fields is the hashed part of the packet body: version, type, algorithms
// and the hashed subpacket area with its two-octet length.
func (u unsignedSig) fields() ([]byte, error) {
	id, err := hashID(u.hash)
	if err != nil {
		return nil, err
	}
	if len(u.hashed) > 0xffff {
		return nil, fmt.Errorf("hashed subpackets of %d bytes exceed 65535", len(u.hashed))
	}
	f := []byte{4, byte(u.sigType), byte(u.algo), id}
	f = binary.BigEndian.AppendUint16(f, uint16(len(u.hashed)))
	return append(f, u.hashed...), nil
}

// hashID is the hash algorithm ID (RFC 4880 section 9.4).
func hashID(h crypto.Hash) (byte, error) {
	switch h {
	case crypto.SHA256:
		return hashIDSHA256, nil
	case crypto.SHA512:
		return hashIDSHA512, nil
	}
	return 0, fmt.Errorf("BUG: no hash id for %v", h)
}

// signDigest has the token sign digest and returns the algorithm-specific
// signature fields (RFC 4880 section 5.2.3).
func signDigest(key crypto.Signer, algo packet.PublicKeyAlgorithm, h crypto.Hash, digest []byte) ([]byte, error) {
	switch algo {
	case packet.PubKeyAlgoRSA:
		// PKCS#1 v1.5 over the DigestInfo for h (RFC 4880 section 5.2.2).
		sig, err := key.Sign(rand.Reader, digest, h)
		if err != nil {
			return nil, fmt.Errorf("token rsa signature: %w", err)
		}
		return mpi(sig), nil
	case packet.PubKeyAlgoECDSA:
		return signECDSA(key, h, digest)
	case packet.PubKeyAlgoEdDSA:
		return signEdDSA(key, digest)
	}
	return nil, fmt.Errorf("BUG: cannot sign with public-key algorithm %d", algo)
}

// signECDSA returns MPI r and MPI s (RFC 6637 section 5) from the token's
// ASN.1 DER signature.
func signECDSA(key crypto.Signer, h crypto.Hash, digest []byte) ([]byte, error) {
	der, err := key.Sign(rand.Reader, digest, h)
	if err != nil {
		return nil, fmt.Errorf("token ecdsa signature: %w", err)
	}
	var v struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &v)
	if err != nil || len(rest) != 0 || v.R.Sign() <= 0 || v.S.Sign() <= 0 {
		return nil, errors.New("token returned a malformed ecdsa signature")
	}
	return append(mpi(v.R.Bytes()), mpi(v.S.Bytes())...), nil
}

// signEdDSA returns MPI R and MPI S of a legacy EdDSA signature, which signs
// the OpenPGP digest itself as the message (draft-koch-eddsa-for-openpgp-04;
// EdDSALegacy in RFC 9580): pure Ed25519 over the digest bytes, asked for
// with crypto.Hash(0) (RFC 8032 section 5.1.6).
func signEdDSA(key crypto.Signer, digest []byte) ([]byte, error) {
	sig, err := key.Sign(rand.Reader, digest, crypto.Hash(0))
	if err != nil {
		return nil, fmt.Errorf("token ed25519 signature: %w", err)
	}
	if len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("token returned a %d-byte ed25519 signature, want %d", len(sig), ed25519.SignatureSize)
	}
	return append(mpi(sig[:32]), mpi(sig[32:])...), nil
}

// documentArea is the hashed area of a binary-document signature: creation
// time, issuer key ID, the caller's notations, issuer fingerprint.
func documentArea(c *Certificate, t time.Time, notations []*packet.Notation) ([]byte, error) {
	area := subpacket(nil, subCreationTime, false, unixTime(t))
	area = subpacket(area, subIssuer, false, binary.BigEndian.AppendUint64(nil, c.KeyID()))
	for _, n := range notations {
		data, err := notationData(n)
		if err != nil {
			return nil, err
		}
		area = subpacket(area, subNotation, n.IsCritical, data)
	}
	return subpacket(area, subIssuerFpr, false, append([]byte{4}, c.key().Fingerprint...)), nil
}

// certificationArea is the hashed area of the self-signature: creation
// time, key expiration (if any), issuer, hash preferences (SHA-512,
// SHA-256), key flags (certify and sign, RFC 4880 section 5.2.3.21) and
// issuer fingerprint.
func certificationArea(pub *packet.PublicKey, created time.Time, lifetime *uint32) []byte {
	area := subpacket(nil, subCreationTime, false, unixTime(created))
	if lifetime != nil {
		area = subpacket(area, subKeyExpiration, false, binary.BigEndian.AppendUint32(nil, *lifetime))
	}
	area = subpacket(area, subIssuer, false, binary.BigEndian.AppendUint64(nil, pub.KeyId))
	area = subpacket(area, subPreferredHash, false, []byte{hashIDSHA512, hashIDSHA256})
	area = subpacket(area, subKeyFlags, false, []byte{packet.KeyFlagCertify | packet.KeyFlagSign})
	return subpacket(area, subIssuerFpr, false, append([]byte{4}, pub.Fingerprint...))
}

func unixTime(t time.Time) []byte {
	return binary.BigEndian.AppendUint32(nil, uint32(t.Unix()))
}

// notationData encodes a notation (RFC 4880 section 5.2.3.16): four flag
// octets (0x80 in the first: human-readable), name and value lengths, name,
// value.
func notationData(n *packet.Notation) ([]byte, error) {
	if n == nil || n.Name == "" || len(n.Name) > 0xffff || len(n.Value) > 0xffff {
		return nil, errors.New("notation needs a name and at most 65535 bytes of name and value")
	}
	flags := []byte{0, 0, 0, 0}
	if n.IsHumanReadable {
		flags[0] = 0x80
	}
	d := binary.BigEndian.AppendUint16(flags, uint16(len(n.Name)))
	d = binary.BigEndian.AppendUint16(d, uint16(len(n.Value)))
	return append(append(d, n.Name...), n.Value...), nil
}

// subpacket appends one subpacket to area: length (counting the type
// octet), type with the critical bit 0x80, data (RFC 4880 section
// 5.2.3.1).
func subpacket(area []byte, typ byte, critical bool, data []byte) []byte {
	if critical {
		typ |= 0x80
	}
	area = appendLength(area, 1+len(data))
	return append(append(area, typ), data...)
}

// packetBytes frames body as a new-format packet (RFC 4880 section 4.2).
func packetBytes(tag byte, body []byte) []byte {
	return append(appendLength([]byte{0xc0 | tag}, len(body)), body...)
}

// appendLength appends a one-, two- or five-octet length (RFC 4880 section
// 4.2.2), the encoding shared by new-format packets and subpackets.
func appendLength(b []byte, n int) []byte {
	switch {
	case n < 192:
		return append(b, byte(n))
	case n < 8384:
		n -= 192
		return append(b, byte(n>>8)+192, byte(n))
	default:
		return binary.BigEndian.AppendUint32(append(b, 0xff), uint32(n))
	}
}
