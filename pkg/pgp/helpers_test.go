package pgp

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"
)

// Fixed clocks, so certificates and Ed25519 signatures are reproducible.
var (
	testCreated = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	testSigTime = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
)

const testUID = "signstar test <test@signstar.invalid>"

// testKey is one key type under test: the key, a second key of the same type
// (for mismatch tests), and what the certificate should report.
type testKey struct {
	name      string
	key       crypto.Signer
	other     crypto.Signer
	wantAlgo  byte // public-key algorithm octet, RFC 4880 section 9.1
	algorithm string
}

// hashes are the signature hashes the key type allows: gpgv refuses P-384
// with SHA-256.
func (k testKey) hashes() []crypto.Hash {
	if k.name == "p384" {
		return []crypto.Hash{crypto.SHA512}
	}
	return []crypto.Hash{crypto.SHA256, crypto.SHA512}
}

var (
	keysOnce sync.Once
	keys     []testKey
)

// testKeys generates the keys once per test binary: RSA 4096 takes seconds.
func testKeys(t testing.TB) []testKey {
	t.Helper()
	keysOnce.Do(func() {
		keys = []testKey{
			{"ed25519", newEd25519(), newEd25519(), 22, "ed25519"},
			{"rsa3072", newRSA(3072), newRSA(3072), 1, "rsa3072"},
			{"rsa4096", newRSA(4096), newRSA(4096), 1, "rsa4096"},
			{"p256", newECDSA(elliptic.P256()), newECDSA(elliptic.P256()), 19, "p256"},
			{"p384", newECDSA(elliptic.P384()), newECDSA(elliptic.P384()), 19, "p384"},
		}
	})
	return keys
}

// tokenKey hides the concrete key type, as a PKCS#11 signer does.
type tokenKey struct{ s crypto.Signer }

func (k tokenKey) Public() crypto.PublicKey { return k.s.Public() }

func (k tokenKey) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.s.Sign(rand, digest, opts)
}

// tokenEd25519 signs like the token: pure Ed25519 over exactly the bytes it
// is given, and only when asked with crypto.Hash(0).
type tokenEd25519 struct{ priv ed25519.PrivateKey }

func (k tokenEd25519) Public() crypto.PublicKey { return k.priv.Public() }

func (k tokenEd25519) Sign(_ io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts.HashFunc() != 0 {
		return nil, fmt.Errorf("token ed25519 signs pure messages, was asked for %v", opts.HashFunc())
	}
	return ed25519.Sign(k.priv, msg), nil
}

// corruptToken returns signatures with their last byte flipped: a token fault.
type corruptToken struct{ crypto.Signer }

func (k corruptToken) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := k.Signer.Sign(rand, digest, opts)
	if err == nil {
		sig[len(sig)-1] ^= 0x01
	}
	return sig, err
}

func newEd25519() crypto.Signer {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	must(err)
	return tokenEd25519{priv}
}

func newRSA(bits int) crypto.Signer {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	must(err)
	return tokenKey{k}
}

func newECDSA(c elliptic.Curve) crypto.Signer {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	must(err)
	return tokenKey{k}
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func newTestCert(t testing.TB, key crypto.Signer) *Certificate {
	t.Helper()
	c, err := NewCertificate(key, testUID, testCreated, time.Time{}, crypto.SHA512)
	if err != nil {
		t.Fatalf("NewCertificate: %v", err)
	}
	return c
}

func newTestSigner(t testing.TB, key crypto.Signer, h crypto.Hash) (*Certificate, *Signer) {
	t.Helper()
	c := newTestCert(t, key)
	s, err := NewSigner(c, key, h)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return c, s
}

func sign(t testing.TB, s *Signer, data []byte, o Options) []byte {
	t.Helper()
	var out bytes.Buffer
	if _, err := s.Sign(&out, bytes.NewReader(data), o); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return out.Bytes()
}

func armoredCert(t testing.TB, c *Certificate) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := c.WriteArmored(&buf); err != nil {
		t.Fatalf("WriteArmored: %v", err)
	}
	return buf.Bytes()
}

// writeCounter records whether anything was written.
type writeCounter struct{ writes int }

func (w *writeCounter) Write(p []byte) (int, error) {
	w.writes++
	return len(p), nil
}

// parsedSubpacket is one signature subpacket (RFC 4880 section 5.2.3.1).
type parsedSubpacket struct {
	typ      byte
	critical bool
	data     []byte
}

// sigPacket is the fixed part and hashed area of a v4 signature packet,
// parsed here independently of go-crypto (RFC 4880 sections 4.2, 5.2.3).
type sigPacket struct {
	version, sigType, algo, hash byte
	hashed                       []parsedSubpacket
}

func parseSigPacket(t testing.TB, bin []byte) sigPacket {
	t.Helper()
	tag, body, err := packetBody(bin)
	if err != nil || tag != 2 || len(body) < 6 {
		t.Fatalf("not a signature packet (tag %d, %d bytes): %v", tag, len(body), err)
	}
	p := sigPacket{version: body[0], sigType: body[1], algo: body[2], hash: body[3]}
	n := int(binary.BigEndian.Uint16(body[4:6]))
	if 6+n > len(body) {
		t.Fatalf("hashed area of %d bytes overruns the packet", n)
	}
	p.hashed, err = subpackets(body[6 : 6+n])
	if err != nil {
		t.Fatalf("hashed area: %v", err)
	}
	return p
}

func packetBody(b []byte) (tag byte, body []byte, err error) {
	if len(b) < 2 || b[0]&0x80 == 0 {
		return 0, nil, errors.New("no packet tag")
	}
	if b[0]&0x40 == 0 { // old format, RFC 4880 section 4.2.1
		tag = (b[0] >> 2) & 0x0f
		l := []int{1, 2, 4}[b[0]&3]
		var n uint64
		for _, c := range b[1 : 1+l] {
			n = n<<8 | uint64(c)
		}
		return tag, b[1+l : 1+l+int(n)], nil
	}
	tag = b[0] & 0x3f
	n, off := newLength(b[1:])
	return tag, b[1+off : 1+off+n], nil
}

// newLength decodes a new-format or subpacket length (RFC 4880 section 4.2.2).
func newLength(b []byte) (n, off int) {
	switch {
	case b[0] < 192:
		return int(b[0]), 1
	case b[0] < 255:
		return (int(b[0])-192)<<8 + int(b[1]) + 192, 2
	default:
		return int(binary.BigEndian.Uint32(b[1:5])), 5
	}
}

func subpackets(area []byte) ([]parsedSubpacket, error) {
	var out []parsedSubpacket
	for len(area) > 0 {
		n, off := newLength(area)
		if n < 1 || off+n > len(area) {
			return nil, fmt.Errorf("bad subpacket length %d", n)
		}
		sp := area[off : off+n]
		out = append(out, parsedSubpacket{typ: sp[0] & 0x7f, critical: sp[0]&0x80 != 0, data: sp[1:]})
		area = area[off+n:]
	}
	return out, nil
}

// notationName returns the name in a notation subpacket's data (RFC 4880
// section 5.2.3.16).
func notationName(d []byte) string {
	n := int(binary.BigEndian.Uint16(d[4:6]))
	return string(d[8 : 8+n])
}
