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
	// Text makes [Signer.Sign] sign the input as canonical text (type
	// 0x01, RFC 4880 section 5.2.1, gpg -t) rather than as a binary
	// document: line ends become CRLF, and input that is not UTF-8 text
	// is refused with [ErrNotText]. [Signer.ClearSign] always sets it.
	Text bool
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

// MessageSigner is a key whose token hashes what it signs itself and signs
// only whole messages, never a digest (RSA keys on tpm2-pkcs11, see package
// token). Only RSA keys may be MessageSigners. [Signer.Sign] streams the
// input through the token; [Signer.SignHash] refuses them with
// [ErrNeedsMessage].
type MessageSigner interface {
	crypto.Signer
	// SignMessage reads r to its end and returns the PKCS#1 v1.5
	// signature of its h hash. It returns the first error r returns.
	// [Signer.Sign] reads none of its input before it calls SignMessage.
	SignMessage(r io.Reader, h crypto.Hash) ([]byte, error)
}

// ErrNeedsMessage is returned by [Signer.SignHash] for a [MessageSigner].
var ErrNeedsMessage = errors.New("the key's token must hash the whole input itself and cannot finish a hash started elsewhere")

// Sign streams r through SHA-256 and SHA-512 with one fixed buffer and
// writes one detached v4 binary-document signature (type 0x00, RFC 4880
// section 5.2.1) to w, or a canonical-text signature (type 0x01) if
// o.Text is set. The signature is verified against the certificate
// before anything is written, so on any error w is untouched. Empty input
// is refused with [ErrEmptyInput]. The digest is always of r as it is.
func (s *Signer) Sign(w io.Writer, r io.Reader, o Options) (Digest, error) {
	sign := s.signAny
	if o.Text {
		sign = func(r io.Reader, o Options) (Digest, []byte, error) { return s.signText(r, o, nil) }
	}
	d, out, err := sign(r, o)
	if err != nil {
		return Digest{}, err
	}
	if _, err := w.Write(out); err != nil {
		return Digest{}, fmt.Errorf("write signature: %w", err)
	}
	return d, nil
}

// signAny signs what r yields, whichever way the key signs.
func (s *Signer) signAny(r io.Reader, o Options) (Digest, []byte, error) {
	if ms, ok := s.key.(MessageSigner); ok {
		return s.signMessage(ms, r, o)
	}
	return s.signDigest(r, o)
}

// signText signs the canonical form of the text in r (see [canon]),
// writing the shown text of a cleartext message to shown if it is not
// nil. The digest is of r as it is, as the caller's own tools see it.
func (s *Signer) signText(r io.Reader, o Options, shown io.Writer) (Digest, []byte, error) {
	h256, h512 := sha256.New(), sha512.New()
	raw := &input{r: io.TeeReader(r, io.MultiWriter(h256, h512))}
	o.Text = true
	_, out, err := s.signAny(newTextReader(raw, shown, shown != nil), o)
	if err != nil {
		return Digest{}, nil, err
	}
	return Digest{Size: raw.n, SHA256: h256.Sum(nil), SHA512: h512.Sum(nil)}, out, nil
}

// signDigest hashes all of r, then has the key sign the digest.
func (s *Signer) signDigest(r io.Reader, o Options) (Digest, []byte, error) {
	d, state, err := s.absorb(r)
	if err != nil {
		return Digest{}, nil, err
	}
	out, err := s.signState(state, o)
	return d, out, err
}

// signMessage streams r through the token, which hashes it itself, and
// through SHA-256 and SHA-512 here. Nothing reads r before ms.SignMessage
// does: a caller that let go of the token while it waited takes it back
// there (see package keyring).
func (s *Signer) signMessage(ms MessageSigner, r io.Reader, o Options) (Digest, []byte, error) {
	u, err := s.unsigned(o)
	if err != nil {
		return Digest{}, nil, fmt.Errorf("sign: %w", err)
	}
	h256, h512 := sha256.New(), sha512.New()
	h, other := h512, h256
	if s.hash == crypto.SHA256 {
		h, other = h256, h512
	}
	in := &input{r: io.TeeReader(r, other)}
	bin, err := u.signMessage(ms, in, h)
	switch {
	case errors.Is(in.err, ErrEmptyInput):
		return Digest{}, nil, ErrEmptyInput
	case in.err != nil:
		return Digest{}, nil, fmt.Errorf("read input: %w", in.err)
	case err != nil:
		return Digest{}, nil, fmt.Errorf("sign: %w", err)
	}
	state, err := saveState(h)
	if err != nil {
		return Digest{}, nil, fmt.Errorf("BUG: %w", err)
	}
	out, err := s.finish(bin, state, o)
	return Digest{Size: in.n, SHA256: h256.Sum(nil), SHA512: h512.Sum(nil)}, out, err
}

// input is the document on its way to a token that hashes it: it counts
// it, keeps its first error, and ends an empty one with [ErrEmptyInput] so
// the token never signs nothing.
type input struct {
	r   io.Reader
	n   int64
	err error
}

func (in *input) Read(p []byte) (int, error) {
	n, err := in.r.Read(p)
	in.n += int64(n)
	switch {
	case err == io.EOF && in.n == 0:
		err = ErrEmptyInput
		in.err = err
	case err != nil && err != io.EOF && in.err == nil:
		in.err = err
	}
	return n, err
}

// absorb hashes all of r and returns its digest and the saved state of the
// signer's hash. Wrapping r hides any WriterTo, so io.CopyBuffer really uses
// the one buffer and memory stays flat.
func (s *Signer) absorb(r io.Reader) (Digest, []byte, error) {
	n, hs, err := hashBoth(r)
	if err != nil {
		return Digest{}, nil, err
	}
	state, err := saveState(hs[s.hash])
	if err != nil {
		return Digest{}, nil, fmt.Errorf("BUG: %w", err)
	}
	return Digest{Size: n, SHA256: hs[crypto.SHA256].Sum(nil), SHA512: hs[crypto.SHA512].Sum(nil)}, state, nil
}

// SignsHashes reports whether [Signer.SignHash] can work: false for a
// [MessageSigner].
func (s *Signer) SignsHashes() bool {
	_, ok := s.key.(MessageSigner)
	return !ok
}

// SignHash signs the data already absorbed by h, which must be a hash of the
// signer's type (for example one rebuilt from a client's serialized SHA-512
// state; the standard library refuses a state of another type). h itself is
// not changed. The result is verified before it is returned.
func (s *Signer) SignHash(h hash.Hash, o Options) ([]byte, error) {
	if _, ok := s.key.(MessageSigner); ok {
		return nil, fmt.Errorf("sign hash: %w", ErrNeedsMessage)
	}
	if o.Text {
		return nil, errors.New("sign hash: BUG: a text signature needs the text itself")
	}
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
	return s.finish(bin, state, o)
}

// finish verifies bin, a signature over the data whose hash state is
// state, and returns it, armored if asked.
func (s *Signer) finish(bin, state []byte, o Options) ([]byte, error) {
	if err := s.check(bin, state, sigType(o)); err != nil {
		return nil, fmt.Errorf("verify new signature (token fault?): %w", err)
	}
	if !o.Armor {
		return bin, nil
	}
	return armored(openpgp.SignatureType, bin)
}

// unsigned is the document signature (type 0x00, or 0x01 for text, RFC
// 4880 section 5.2.1) for o, before signing.
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
	return unsignedSig{sigType(o), s.cert.key().PubKeyAlgo, s.hash, area}, nil
}

// sigType is the signature type o asks for (RFC 4880 section 5.2.1).
func sigType(o Options) packet.SignatureType {
	if o.Text {
		return packet.SigTypeText
	}
	return packet.SigTypeBinary
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
func (s *Signer) check(bin, state []byte, want packet.SignatureType) error {
	sig, err := readSignature(bytes.NewReader(bin))
	if err != nil {
		return err
	}
	h, err := restoreState(sig.Hash, state)
	if err != nil {
		return err
	}
	return s.cert.verify(sig, h, want)
}
