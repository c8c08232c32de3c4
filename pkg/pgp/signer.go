package pgp

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Signer makes detached signatures with a token key for its [Certificate].
type Signer struct {
	cert *Certificate
	key  crypto.Signer
	hash crypto.Hash
}

// Options tune one signature.
type Options struct {
	// Armor selects ASCII armor (RFC 4880 section 6.2) over binary.
	Armor bool
	// Time is the signature creation time; zero means time.Now().
	Time time.Time
	// Notations are added to the hashed area (RFC 4880 section 5.2.3.16).
	Notations []*packet.Notation
	// BeforeSign, if set, runs once Sign has read all its input and before
	// the key signs: a caller that let go of the token while the input
	// streamed in takes it back here.
	BeforeSign func() error
}

// Digest describes the signed input, hashed in the same pass as the
// signature's own hash.
type Digest struct {
	Size   int64
	SHA256 []byte
	SHA512 []byte
}

// NewSigner returns a signer for cert whose private half is key. It refuses
// a key that is not the certificate's ([ErrMismatch]), a certificate whose
// key flags forbid signing, hashes other than SHA-256 and SHA-512, and
// SHA-256 with a P-384 key (gpgv rejects it).
func NewSigner(cert *Certificate, key crypto.Signer, h crypto.Hash) (*Signer, error) {
	if err := checkHash(h); err != nil {
		return nil, fmt.Errorf("new signer: %w", err)
	}
	if err := cert.Matches(key.Public()); err != nil {
		return nil, fmt.Errorf("new signer: %w", err)
	}
	if err := checkKeyHash(cert.key(), h); err != nil {
		return nil, fmt.Errorf("new signer: %w", err)
	}
	// Key flags, RFC 4880 section 5.2.3.21; no flags at all means no limit.
	if sig := cert.selfSignature(); sig.FlagsValid && !sig.FlagSign {
		return nil, errors.New("new signer: certificate key flags do not allow signing")
	}
	return &Signer{cert: cert, key: key, hash: h}, nil
}

// Sign streams r through SHA-256 and SHA-512 with one fixed buffer and
// writes one detached v4 binary-document signature (type 0x00, RFC 4880
// section 5.2.1) to w. The signature is verified against the certificate
// before anything is written, so on any error w is untouched. Empty input
// is refused with [ErrEmptyInput].
func (s *Signer) Sign(w io.Writer, r io.Reader, o Options) (Digest, error) {
	d, state, err := s.absorb(r)
	if err != nil {
		return Digest{}, err
	}
	if o.BeforeSign != nil {
		if err := o.BeforeSign(); err != nil {
			return Digest{}, err
		}
	}
	out, err := s.signState(state, o)
	if err != nil {
		return Digest{}, err
	}
	if _, err := w.Write(out); err != nil {
		return Digest{}, fmt.Errorf("write signature: %w", err)
	}
	return d, nil
}

// absorb hashes all of r and returns its digest and the saved state of the
// signer's hash. Wrapping r hides any WriterTo, so io.CopyBuffer really uses
// the one buffer and memory stays flat.
func (s *Signer) absorb(r io.Reader) (Digest, []byte, error) {
	h256, h512 := sha256.New(), sha512.New()
	n, err := io.CopyBuffer(io.MultiWriter(h256, h512), struct{ io.Reader }{r}, make([]byte, bufSize))
	if err != nil {
		return Digest{}, nil, fmt.Errorf("read input: %w", err)
	}
	if n == 0 {
		return Digest{}, nil, ErrEmptyInput
	}
	h := h512
	if s.hash == crypto.SHA256 {
		h = h256
	}
	state, err := saveState(h)
	if err != nil {
		return Digest{}, nil, fmt.Errorf("BUG: %w", err)
	}
	return Digest{Size: n, SHA256: h256.Sum(nil), SHA512: h512.Sum(nil)}, state, nil
}

// SignHash signs the data already absorbed by h, which must be a hash of the
// signer's type (for example one rebuilt from a client's serialized SHA-512
// state; the standard library refuses a state of another type). h itself is
// not changed. The result is verified before it is returned.
func (s *Signer) SignHash(h hash.Hash, o Options) ([]byte, error) {
	state, err := saveState(h)
	if err != nil {
		return nil, fmt.Errorf("sign hash: %w", err)
	}
	return s.signState(state, o)
}

// signState signs the data whose hash state is state, verifies the exact
// bytes it made, and returns them, armored if asked.
func (s *Signer) signState(state []byte, o Options) ([]byte, error) {
	u, err := s.unsigned(o)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	h, err := restoreState(s.hash, state)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	bin, err := u.sign(s.key, h)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	if err := s.check(bin, state); err != nil {
		return nil, fmt.Errorf("verify new signature (token fault?): %w", err)
	}
	if !o.Armor {
		return bin, nil
	}
	return armored(openpgp.SignatureType, bin)
}

// unsigned is the binary-document signature (type 0x00, RFC 4880 section
// 5.2.1) for o, before signing.
func (s *Signer) unsigned(o Options) (unsignedSig, error) {
	t := o.Time
	if t.IsZero() {
		t = time.Now()
	}
	if err := s.cert.validAt(t); err != nil {
		return unsignedSig{}, err
	}
	if err := checkNotations(o.Notations); err != nil {
		return unsignedSig{}, err
	}
	area, err := documentArea(s.cert, t, o.Notations)
	if err != nil {
		return unsignedSig{}, err
	}
	return unsignedSig{packet.SigTypeBinary, s.cert.key().PubKeyAlgo, s.hash, area}, nil
}

// checkNotations refuses the salt notation go-crypto would add: signstar
// signatures are deterministic on purpose (golden tests, reproducible
// output). The salt's other purpose, blunting fault attacks on Ed25519, is
// served by verifying every signature before it is released.
func checkNotations(ns []*packet.Notation) error {
	for _, n := range ns {
		if n != nil && n.Name == packet.SaltNotationName {
			return fmt.Errorf("notation %s is reserved", n.Name)
		}
	}
	return nil
}

// check parses bin back and verifies it over state: what is checked is
// exactly what will be released.
func (s *Signer) check(bin, state []byte) error {
	sig, err := readSignature(bytes.NewReader(bin))
	if err != nil {
		return err
	}
	h, err := restoreState(sig.Hash, state)
	if err != nil {
		return err
	}
	return s.cert.verify(sig, h)
}
