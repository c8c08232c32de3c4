package pgp

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"math"
	"math/bits"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Curve OIDs as they appear in key packets, without the DER tag and length:
// RFC 6637 section 11 for the NIST curves, draft-koch-eddsa-for-openpgp-04
// for the legacy Ed25519 OID 1.3.6.1.4.1.11591.15.1.
var (
	oidP256    = []byte{0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07}
	oidP384    = []byte{0x2B, 0x81, 0x04, 0x00, 0x22}
	oidEd25519 = []byte{0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01}
)

// minRSABits is the smallest RSA modulus accepted for a new certificate.
const minRSABits = 2048

// checkKeyTime refuses creation times a v4 key packet cannot hold: they are
// four-octet unsigned seconds since 1970 (RFC 4880 section 5.5.2).
func checkKeyTime(t time.Time) error {
	if t.Unix() <= 0 || t.Unix() > math.MaxUint32 {
		return fmt.Errorf("key creation time %s cannot be stored in a v4 key", t.UTC().Format(time.RFC3339))
	}
	return nil
}

// publicKey converts the token's public key into a v4 OpenPGP public key
// created at created. Ed25519 uses the legacy EdDSA encoding (algorithm 22):
// gpgv 2.2 and sqv 1.1 reject RFC 9580 Ed25519 (algorithm 27) in v4 keys.
func publicKey(pub crypto.PublicKey, created time.Time) (*packet.PublicKey, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("rsa key of %d bits is too small (want at least %d)", k.N.BitLen(), minRSABits)
		}
		return packet.NewRSAPublicKey(created, k), nil
	case *ecdsa.PublicKey:
		return ecdsaKey(k, created)
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("ed25519 public key of %d bytes, want %d", len(k), ed25519.PublicKeySize)
		}
		// 0x40 marks the native point format (draft-koch-eddsa-for-openpgp-04, appendix B).
		return eccKey(created, packet.PubKeyAlgoEdDSA, oidEd25519, append([]byte{0x40}, k...))
	default:
		return nil, fmt.Errorf("unsupported public key type %T", pub)
	}
}

// ecdsaKey converts a P-256 or P-384 key; the point is the uncompressed SEC1
// encoding 0x04||X||Y (RFC 6637 section 6).
func ecdsaKey(k *ecdsa.PublicKey, created time.Time) (*packet.PublicKey, error) {
	var oid []byte
	switch k.Curve {
	case elliptic.P256():
		oid = oidP256
	case elliptic.P384():
		oid = oidP384
	default:
		return nil, fmt.Errorf("unsupported ecdsa curve %s (want P-256 or P-384)", k.Curve.Params().Name)
	}
	point, err := k.ECDH()
	if err != nil {
		return nil, fmt.Errorf("encode ecdsa point: %w", err)
	}
	return eccKey(created, packet.PubKeyAlgoECDSA, oid, point.Bytes())
}

// eccKey builds an elliptic-curve key packet (RFC 4880 section 5.5.2, RFC
// 6637 section 9) and hands it to go-crypto's parser. go-crypto keeps its
// curve types in an internal package, so parsing is the one public way in;
// the parser also checks that the point is on the curve.
func eccKey(created time.Time, algo packet.PublicKeyAlgorithm, oid, point []byte) (*packet.PublicKey, error) {
	t := uint32(created.Unix())
	body := []byte{4, byte(t >> 24), byte(t >> 16), byte(t >> 8), byte(t), byte(algo), byte(len(oid))}
	body = append(append(body, oid...), mpi(point)...)
	p, err := packet.Read(bytes.NewReader(packetBytes(tagPublicKey, body)))
	if err != nil {
		return nil, fmt.Errorf("parse %v public key: %w", algo, err)
	}
	pk, ok := p.(*packet.PublicKey)
	if !ok {
		return nil, fmt.Errorf("BUG: key packet parsed as %T", p)
	}
	return pk, nil
}

// mpi encodes b, a big-endian unsigned integer, as an OpenPGP multiprecision
// integer: a two-octet bit count, then the bytes without leading zeros (RFC
// 4880 section 3.2).
func mpi(b []byte) []byte {
	b = bytes.TrimLeft(b, "\x00")
	n := 0
	if len(b) > 0 {
		n = 8*(len(b)-1) + bits.Len8(b[0])
	}
	return append([]byte{byte(n >> 8), byte(n)}, b...)
}
