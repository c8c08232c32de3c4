package pgp

// Several keys over one input, as a repository is signed during a key
// transition (gpg -u OLD -u NEW): the input is read once and hashed with
// SHA-256 and SHA-512 together, so each key signs the state of its own
// hash; nothing is read twice, and a client streams its upload once.

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// SignAll is [Signer.Sign] for several signers over one input, read once:
// it writes to w one detached output holding a signature by each signer,
// in the order of ss: the packets one after another, or, with o.Armor, one
// armor block holding them all, as gpg writes a signature by several keys
// (RFC 4880 section 11.4 allows any number of signature packets). Every
// signature is verified before anything is written. A [MessageSigner]
// cannot join several (its token must read the input itself): SignAll
// returns [ErrNeedsMessage] before reading r. The signature of ss[i]
// carries notations[i] (if notations is not nil) after o.Notations: each
// key has its own. One signer is [Signer.Sign].
func SignAll(w io.Writer, r io.Reader, ss []*Signer, o Options, notations [][]*packet.Notation) (Digest, error) {
	if len(ss) == 1 {
		return ss[0].Sign(w, r, optionsOf(o, notations, 0))
	}
	armor := o.Armor
	o.Armor = false
	d, bins, err := signAll(r, ss, o, notations, nil)
	if err != nil {
		return Digest{}, err
	}
	out := bytes.Join(bins, nil)
	if armor {
		if out, err = armored(openpgp.SignatureType, out); err != nil {
			return Digest{}, err
		}
	}
	if _, err := w.Write(out); err != nil {
		return Digest{}, fmt.Errorf("write signature: %w", err)
	}
	return d, nil
}

// ClearSignAll is [Signer.ClearSign] for several signers over one input,
// read once: one cleartext signed message whose armor block holds a
// signature by each signer, in the order of ss, and whose Hash header
// lists every hash they use (RFC 4880 section 7). The message is read
// back and each signature verified before anything is written. One signer
// is [Signer.ClearSign]. Notations are as in [SignAll].
func ClearSignAll(w io.Writer, r io.Reader, ss []*Signer, o Options, notations [][]*packet.Notation) (Digest, error) {
	if len(ss) == 1 {
		return ss[0].ClearSign(w, r, optionsOf(o, notations, 0))
	}
	return writeClear(w, func(msg *bytes.Buffer) (Digest, error) { return clearSignAll(msg, r, ss, o, notations) })
}

// optionsOf is o for the i-th signer: its own notations after o's.
func optionsOf(o Options, notations [][]*packet.Notation, i int) Options {
	if notations != nil {
		o.Notations = slices.Concat(o.Notations, notations[i])
	}
	return o
}

// clearSignAll appends the message to msg and checks it.
func clearSignAll(msg *bytes.Buffer, r io.Reader, ss []*Signer, o Options, notations [][]*packet.Notation) (Digest, error) {
	names, err := hashNames(ss)
	if err != nil {
		return Digest{}, err
	}
	start := msg.Len()
	fmt.Fprintf(msg, "-----BEGIN PGP SIGNED MESSAGE-----\nHash: %s\n\n", names)
	o.Armor, o.Text = false, true
	d, bins, err := signAll(&capReader{r: r, left: MaxClearText}, ss, o, notations, msg)
	if err != nil {
		return Digest{}, err
	}
	armor, err := armored(openpgp.SignatureType, bytes.Join(bins, nil))
	if err != nil {
		return Digest{}, err
	}
	msg.Write(armor)
	if err := checkClear(msg.Bytes()[start:], ss); err != nil {
		return Digest{}, fmt.Errorf("verify new cleartext signature: %w", err)
	}
	return d, nil
}

// signAll reads r once and has each signer sign it (unarmored, ss[i]
// with notations[i]), as text
// if o.Text is set, writing the shown text of a cleartext message to
// shown if it is not nil. The digest is of r as it is.
func signAll(r io.Reader, ss []*Signer, o Options, notations [][]*packet.Notation, shown io.Writer) (Digest, [][]byte, error) {
	if notations != nil && len(notations) != len(ss) {
		return Digest{}, nil, fmt.Errorf("BUG: %d signers, %d notation lists", len(ss), len(notations))
	}
	for _, s := range ss {
		if !s.SignsHashes() {
			return Digest{}, nil, fmt.Errorf("sign with several keys: %w", ErrNeedsMessage)
		}
	}
	// The digest is of r as it is. Without text mode the signed hashes
	// are those of r too, so one pair serves both; a text signature
	// hashes the canonical text, and r is hashed beside it.
	in := &input{r: r}
	var src io.Reader = in
	var raw256, raw512 hash.Hash
	if o.Text {
		raw256, raw512 = sha256.New(), sha512.New()
		in.r = io.TeeReader(r, io.MultiWriter(raw256, raw512))
		src = newTextReader(in, shown, shown != nil)
	}
	_, hs, err := hashBoth(src)
	if err != nil {
		return Digest{}, nil, err
	}
	if !o.Text {
		raw256, raw512 = hs[crypto.SHA256], hs[crypto.SHA512]
	}
	bins := make([][]byte, len(ss))
	for i, s := range ss {
		state, err := saveState(hs[s.hash])
		if err != nil {
			return Digest{}, nil, fmt.Errorf("BUG: %w", err)
		}
		if bins[i], err = s.signState(state, optionsOf(o, notations, i)); err != nil {
			return Digest{}, nil, err
		}
	}
	return Digest{Size: in.n, SHA256: raw256.Sum(nil), SHA512: raw512.Sum(nil)}, bins, nil
}

// hashBoth hashes all of r with SHA-256 and SHA-512 through one fixed
// buffer (wrapping r hides any WriterTo, so memory stays flat) and
// refuses empty input with [ErrEmptyInput].
func hashBoth(r io.Reader) (int64, map[crypto.Hash]hash.Hash, error) {
	hs := map[crypto.Hash]hash.Hash{crypto.SHA256: sha256.New(), crypto.SHA512: sha512.New()}
	n, err := io.CopyBuffer(io.MultiWriter(hs[crypto.SHA256], hs[crypto.SHA512]), struct{ io.Reader }{r}, make([]byte, bufSize))
	if err != nil {
		return 0, nil, fmt.Errorf("read input: %w", err)
	}
	if n == 0 {
		return 0, nil, ErrEmptyInput
	}
	return n, hs, nil
}

// hashNames is the Hash armor header's value for ss: each hash they use,
// once, in their order, separated by commas (RFC 4880 section 7).
func hashNames(ss []*Signer) (string, error) {
	var names []string
	for _, s := range ss {
		name, err := hashName(s.hash)
		if err != nil {
			return "", err
		}
		if !strings.Contains(","+strings.Join(names, ",")+",", ","+name+",") {
			names = append(names, name)
		}
	}
	return strings.Join(names, ","), nil
}

// checkClear reads msg back as a verifier does (RFC 4880 section 7.1, as
// go-crypto's clearsign.Decode reads it: undo the dash-escaping, drop
// trailing whitespace, join the lines with CRLF) and verifies that its
// signatures are, in order, one by each of ss over that text: what is
// checked is exactly what will be released. It hashes msg in place, so
// checking adds no copy of the text to memory; gpgv, gpg, sq and
// go-crypto's own reader check the same messages in the tests.
func checkClear(msg []byte, ss []*Signer) error {
	names, err := hashNames(ss)
	if err != nil {
		return err
	}
	rest, ok := bytes.CutPrefix(msg, []byte("-----BEGIN PGP SIGNED MESSAGE-----\nHash: "+names+"\n\n"))
	if !ok {
		return errors.New("message does not start with its header")
	}
	hs := map[crypto.Hash]hash.Hash{}
	for _, s := range ss {
		hs[s.hash] = s.hash.New()
	}
	all := make([]io.Writer, 0, len(hs))
	for _, h := range hs {
		all = append(all, h)
	}
	w := io.MultiWriter(all...)
	for first := true; ; first = false {
		line, next, found := bytes.Cut(rest, []byte("\n"))
		if !found {
			return errors.New("message has no signature block")
		}
		if string(line) == "-----BEGIN PGP SIGNATURE-----" {
			break
		}
		if !first {
			w.Write([]byte("\r\n"))
		}
		line, _ = bytes.CutPrefix(line, []byte("- "))
		w.Write(bytes.TrimRight(line, " \t\r"))
		rest = next
	}
	sigs, err := readSignatures(bytes.NewReader(rest))
	if err != nil {
		return err
	}
	if len(sigs) != len(ss) {
		return fmt.Errorf("%d signatures, want %d", len(sigs), len(ss))
	}
	for i, s := range ss {
		if sigs[i].Hash != s.hash {
			return fmt.Errorf("signature hash %v, want %v", sigs[i].Hash, s.hash)
		}
		h, err := cloneHash(hs[s.hash], s.hash)
		if err != nil {
			return err
		}
		if err := s.cert.verify(sigs[i], h, packet.SigTypeText); err != nil {
			return err
		}
	}
	return nil
}

// readSignatures reads the signature packets of one armor block (or
// binary stream), and nothing else.
func readSignatures(r io.Reader) ([]*packet.Signature, error) {
	body, err := dearmor(r, openpgp.SignatureType)
	if err != nil {
		return nil, fmt.Errorf("read signature: %w", err)
	}
	var sigs []*packet.Signature
	for {
		p, err := packet.Read(body)
		if err == io.EOF && len(sigs) > 0 {
			return sigs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read signature: %w", err)
		}
		sig, ok := p.(*packet.Signature)
		if !ok {
			return nil, fmt.Errorf("read signature: got %T, want a signature packet", p)
		}
		sigs = append(sigs, sig)
	}
}
