package pgp

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
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
	// A caller that buffers the message itself (signstar holds it until
	// the audit record is written) gets it built in place: one copy of
	// the text in memory, not two.
	msg, inPlace := w.(*bytes.Buffer)
	if !inPlace {
		msg = new(bytes.Buffer)
	}
	start := msg.Len()
	d, err := s.clearSign(msg, r, o)
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
	if err := s.checkClear(msg.Bytes()[start:]); err != nil {
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

// checkClear reads msg back as a verifier does (RFC 4880 section 7.1, as
// go-crypto's clearsign.Decode reads it: undo the dash-escaping, drop
// trailing whitespace, join the lines with CRLF) and verifies its one
// signature over that text: what is checked is exactly what will be
// released. It hashes msg in place, so checking adds no copy of the text
// to memory; gpgv, gpg, sq and go-crypto's own reader check the same
// messages in the tests.
func (s *Signer) checkClear(msg []byte) error {
	name, err := hashName(s.hash)
	if err != nil {
		return err
	}
	rest, ok := bytes.CutPrefix(msg, []byte("-----BEGIN PGP SIGNED MESSAGE-----\nHash: "+name+"\n\n"))
	if !ok {
		return errors.New("message does not start with its header")
	}
	h := s.hash.New()
	for first := true; ; first = false {
		line, next, found := bytes.Cut(rest, []byte("\n"))
		if !found {
			return errors.New("message has no signature block")
		}
		if string(line) == "-----BEGIN PGP SIGNATURE-----" {
			break
		}
		if !first {
			h.Write([]byte("\r\n"))
		}
		line, _ = bytes.CutPrefix(line, []byte("- "))
		h.Write(bytes.TrimRight(line, " \t\r"))
		rest = next
	}
	sig, err := readSignature(bytes.NewReader(rest))
	if err != nil {
		return err
	}
	if sig.Hash != s.hash {
		return fmt.Errorf("signature hash %v, want %v", sig.Hash, s.hash)
	}
	return s.cert.verify(sig, h, packet.SigTypeText)
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
