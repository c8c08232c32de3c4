package translog

import (
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// algEd25519 is the signature type byte of an Ed25519 key in a signed
// note's key ID and verifier key (golang.org/x/mod/sumdb/note, C2SP
// signed-note "Signature types").
const algEd25519 = 0x01

// signer is a note.Signer whose key is a crypto.Signer (the log key on
// the token), so the private key never leaves it.
type signer struct {
	name string
	hash uint32
	key  crypto.Signer
}

// NewSigner returns the note signer for the log whose origin is name,
// signing with key, an Ed25519 key (a token key made with key generate
// --type ed25519). key.Sign gets the whole message and crypto.Hash(0):
// pure Ed25519, RFC 8032 section 5.1.6. Signing goes through key, so a
// key that takes the token lock before it signs keeps the lock rule.
func NewSigner(name string, key crypto.Signer) (note.Signer, error) {
	pub, ok := key.Public().(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("log key: want an Ed25519 key, have %T", key.Public())
	}
	if !validName(name) {
		return nil, fmt.Errorf("log origin %q: must be non-empty, without spaces or '+'", name)
	}
	return &signer{name: name, hash: keyHash(name, pub), key: key}, nil
}

func (s *signer) Name() string    { return s.name }
func (s *signer) KeyHash() uint32 { return s.hash }

func (s *signer) Sign(msg []byte) ([]byte, error) {
	sig, err := s.key.Sign(nil, msg, crypto.Hash(0))
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint: %v", err)
	}
	return sig, nil
}

// keyHash is the key ID of a signed note's signature: the first four
// bytes, big-endian, of SHA-256(name || "\n" || 0x01 || pubkey), as
// golang.org/x/mod/sumdb/note's keyHash computes it.
func keyHash(name string, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write([]byte{algEd25519})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// validName is note's rule for a key name: non-empty, valid UTF-8, no
// Unicode space, no '+'.
func validName(name string) bool {
	return name != "" && !strings.ContainsAny(name, "+") &&
		strings.IndexFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f || r == 0x85 || r == 0xa0 || r > 0x7e }) < 0
}

// VerifierKey is the verifier key of the log whose origin is name and
// whose key is pub, in the signed-note format
// <name>+<hex key hash>+<base64(0x01 || pub)>: what `signstar log
// verifier` prints and `--log-key` takes.
func VerifierKey(name string, pub crypto.PublicKey) (string, error) {
	ed, ok := pub.(ed25519.PublicKey)
	if !ok {
		return "", fmt.Errorf("log key: want an Ed25519 key, have %T", pub)
	}
	return note.NewEd25519VerifierKey(name, ed)
}

// ParseVerifier reads a verifier key: s itself, or, if s is not one, the
// first line of the file s names (a --log-key argument).
func ParseVerifier(s string) (note.Verifier, error) {
	if v, err := note.NewVerifier(s); err == nil {
		return v, nil
	}
	b, err := os.ReadFile(s)
	if err != nil {
		return nil, fmt.Errorf("log key %q: neither a verifier key (NAME+HASH+KEY) nor a readable file", s)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	v, err := note.NewVerifier(strings.TrimSpace(line))
	if err != nil {
		return nil, fmt.Errorf("log key file %s: %v", s, err)
	}
	return v, nil
}
