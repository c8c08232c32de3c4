package pgp

import (
	"bytes"
	"crypto"
	"fmt"
	"io"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// MaxClearText bounds the text of a cleartext signed message. The message
// shows the text itself, so it is held in memory until the signature is
// verified (and, in signstar, until the audit record is written); the
// shown text is at most twice the input (dash-escaping "-" lines). Larger
// text is refused with [ErrTooLarge]: a detached text signature streams.
const MaxClearText = 64 << 20

// ErrTooLarge is returned by [Signer.ClearSign] for text over
// [MaxClearText] bytes.
var ErrTooLarge = fmt.Errorf("text over %d MiB is too large for a cleartext signature", MaxClearText>>20)

// ClearSign reads the UTF-8 text in r and writes to w a cleartext signed
// message (RFC 4880 section 7): the text, dash-escaped and without
// trailing whitespace, above an armored canonical-text signature (type
// 0x01) over it. The hash and the shown text are made in one pass; the
// message is read back and its signature verified before anything is
// written, so on any error w is untouched. o.Armor does not apply (the message is always armored).
// Text that is not UTF-8 or holds NUL is refused with [ErrNotText], empty
// input with [ErrEmptyInput]. The digest is of r as it is.
func (s *Signer) ClearSign(w io.Writer, r io.Reader, o Options) (Digest, error) {
	return writeClear(w, func(msg *bytes.Buffer) (Digest, error) { return s.clearSign(msg, r, o) })
}

// writeClear has build append a cleartext message to a buffer and writes
// it to w, untouched on error. A caller that buffers the message itself
// (signstar holds it until the audit record is written) gets it built in
// place: one copy of the text in memory, not two.
func writeClear(w io.Writer, build func(*bytes.Buffer) (Digest, error)) (Digest, error) {
	msg, inPlace := w.(*bytes.Buffer)
	if !inPlace {
		msg = new(bytes.Buffer)
	}
	start := msg.Len()
	d, err := build(msg)
	if err != nil {
		msg.Truncate(start)
		return Digest{}, err
	}
	if inPlace {
		return d, nil
	}
	if _, err := w.Write(msg.Bytes()); err != nil {
		return Digest{}, fmt.Errorf("write signed message: %w", err)
	}
	return d, nil
}

// clearSign appends the message to msg and checks it.
func (s *Signer) clearSign(msg *bytes.Buffer, r io.Reader, o Options) (Digest, error) {
	name, err := hashName(s.hash)
	if err != nil {
		return Digest{}, err
	}
	start := msg.Len()
	fmt.Fprintf(msg, "-----BEGIN PGP SIGNED MESSAGE-----\nHash: %s\n\n", name)
	o.Armor = false
	d, sig, err := s.signText(&capReader{r: r, left: MaxClearText}, o, msg)
	if err != nil {
		return Digest{}, err
	}
	armor, err := armored(openpgp.SignatureType, sig)
	if err != nil {
		return Digest{}, err
	}
	msg.Write(armor)
	if err := checkClear(msg.Bytes()[start:], []*Signer{s}); err != nil {
		return Digest{}, fmt.Errorf("verify new cleartext signature: %w", err)
	}
	return d, nil
}

// hashName is the Hash armor header's name for h (RFC 4880 section 9.4).
func hashName(h crypto.Hash) (string, error) {
	switch h {
	case crypto.SHA256:
		return "SHA256", nil
	case crypto.SHA512:
		return "SHA512", nil
	}
	return "", fmt.Errorf("BUG: no hash name for %v", h)
}

// capReader ends the input with [ErrTooLarge] once more than left bytes
// have come.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.left -= int64(n); c.left < 0 {
		return 0, ErrTooLarge
	}
	return n, err
}
