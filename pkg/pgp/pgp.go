// Package pgp holds the OpenPGP side of signstar: a v4 [Certificate] for a key
// that can only be reached through a [crypto.Signer] (a PKCS#11 token), and
// what a [Signer] makes with it: detached binary-document and canonical-text
// signatures, and cleartext signed messages (RFC 4880 section 7).
//
// It promises three things. Signatures are accepted by gpgv, sqv, pacman-key,
// apt and rpm (v4 packets, legacy EdDSA for Ed25519, RSA PKCS#1 v1.5, ECDSA on
// P-256 and P-384). Nothing leaves [Signer.Sign], [Signer.SignHash] or
// [Signer.ClearSign] before the exact bytes have been verified against the
// certificate, so a faulty token cannot publish a bad signature. And signatures are reproducible: they depend
// only on key, input and the caller's clock, never on a random salt.
package pgp

import (
	"bufio"
	"bytes"
	"crypto"
	"encoding"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

var (
	// ErrMismatch is returned when the token's public key is not the
	// certificate's key.
	ErrMismatch = errors.New("token public key does not match the certificate")
	// ErrEmptyInput is returned instead of signing zero bytes: an empty
	// input is almost always a broken pipe upstream, not a document.
	ErrEmptyInput = errors.New("refusing to sign empty input")
)

// bufSize is the single buffer input is streamed through, so memory stays
// flat whatever the size of the input.
const bufSize = 64 << 10

// checkHash admits the two hashes the certificate advertises (RFC 4880
// section 5.2.3.8) and every verifier we target accepts.
func checkHash(h crypto.Hash) error {
	if h != crypto.SHA256 && h != crypto.SHA512 {
		return fmt.Errorf("hash %v is not allowed (use SHA-256 or SHA-512)", h)
	}
	return nil
}

// checkKeyHash applies GnuPG's rule that an ECDSA signature's hash is at
// least as long as the curve order: gpgv 2.2 fails P-384 with SHA-256
// ("ECDSA key requires a 384 bit or larger hash").
func checkKeyHash(pub *packet.PublicKey, h crypto.Hash) error {
	if pub.PubKeyAlgo != packet.PubKeyAlgoECDSA {
		return nil
	}
	if curve, err := pub.Curve(); err == nil && curve == packet.CurveNistP384 && h.Size() < 48 {
		return fmt.Errorf("hash %v is too short for a P-384 key (use SHA-512)", h)
	}
	return nil
}

// dearmor returns the binary packets in r, decoding ASCII armor (RFC 4880
// section 6.2) when present. Binary packets start with a tag octet whose top
// bit is set (section 4.2); armor starts with text.
func dearmor(r io.Reader, blockType string) (io.Reader, error) {
	br := bufio.NewReader(r)
	first, err := br.Peek(1)
	if err == io.EOF {
		return nil, errors.New("input is empty")
	}
	if err != nil {
		return nil, err
	}
	if first[0]&0x80 != 0 {
		return br, nil
	}
	block, err := armor.Decode(br)
	if err == io.EOF {
		return nil, errors.New("neither OpenPGP packets nor ASCII armor")
	}
	if err != nil {
		return nil, fmt.Errorf("decode armor: %w", err)
	}
	if block.Type != blockType {
		return nil, fmt.Errorf("armor block is %q, want %q", block.Type, blockType)
	}
	return block.Body, nil
}

// armored wraps body in ASCII armor with a CRC-24 line (RFC 9580 makes it
// optional, but older verifiers still expect it) and a final newline, which
// go-crypto's encoder leaves out.
func armored(blockType string, body []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, blockType, nil)
	if err != nil {
		return nil, fmt.Errorf("armor %s: %w", blockType, err)
	}
	if _, err := w.Write(body); err != nil {
		return nil, fmt.Errorf("armor %s: %w", blockType, err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("armor %s: %w", blockType, err)
	}
	return append(buf.Bytes(), '\n'), nil
}

// saveState serializes the state of h, so the same absorbed data can be
// finished more than once (sign, then verify) without reading it again.
func saveState(h hash.Hash) ([]byte, error) {
	m, ok := h.(encoding.BinaryMarshaler)
	if !ok {
		return nil, fmt.Errorf("hash state of %T cannot be copied", h)
	}
	return m.MarshalBinary()
}

// restoreState returns a fresh hash of type t holding state. The standard
// library refuses a state saved by another hash type, which is how a hash of
// the wrong type handed to [Signer.SignHash] is caught.
func restoreState(t crypto.Hash, state []byte) (hash.Hash, error) {
	h := t.New()
	u, ok := h.(encoding.BinaryUnmarshaler)
	if !ok {
		return nil, fmt.Errorf("BUG: %v hash state cannot be restored", t)
	}
	if err := u.UnmarshalBinary(state); err != nil {
		return nil, fmt.Errorf("hash state is not %v: %w", t, err)
	}
	return h, nil
}

// cloneHash returns an independent copy of h, a hash of type t.
func cloneHash(h hash.Hash, t crypto.Hash) (hash.Hash, error) {
	state, err := saveState(h)
	if err != nil {
		return nil, err
	}
	return restoreState(t, state)
}
