package pgp

// Text signatures. A canonical-text signature (type 0x01) signs text with
// its line ends made CRLF (RFC 4880 section 5.2.1, RFC 9580 section
// 5.2.1.2). A cleartext signed message (RFC 4880 section 7, RFC 9580
// section 7) shows the text itself above a type 0x01 signature over that
// text with the trailing spaces and tabs of each line removed (section
// 7.1); its lines are dash-escaped so none can pass for the armor line.
//
// The two canonical forms differ on purpose. A detached text signature
// is checked against the file as it is: sqv and go-crypto only make line
// ends CRLF, and gpgv accepts either form, so only converting line ends
// verifies everywhere. A cleartext message is checked against the text
// it shows, which is written here without the trailing whitespace it
// does not sign (as go-crypto's clearsign package writes it): what a
// reader sees is exactly what was signed.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// ErrNotText is returned for a text signature over input that is not
// valid UTF-8 or holds a NUL byte: such input is a binary file given by
// mistake, and canonicalizing it would sign something other than the file.
var ErrNotText = errors.New("input is not text")

// canon turns text into the data a text signature signs, as it streams.
// For a cleartext message (clear) it strips trailing whitespace and writes
// the dash-escaped text to out.
type canon struct {
	sig   io.Writer // the signed data
	out   io.Writer // the shown text (clear only)
	clear bool

	n       int64  // input bytes seen
	pending []byte // an incomplete UTF-8 sequence at the end of the last write
	ws      []byte // trailing whitespace not yet known to be inside its line (clear)
	bol     bool   // at the beginning of a line
	cr      bool   // the last byte was CR (detached)
}

func newCanon(sig, out io.Writer, clear bool) *canon {
	return &canon{sig: sig, out: out, clear: clear, bol: true}
}

// Write checks that p continues valid UTF-8 text and canonicalizes it.
func (c *canon) Write(p []byte) (int, error) {
	data := p
	if len(c.pending) > 0 {
		data = append(c.pending, p...)
	}
	cut := len(data)
	for i := len(data) - 1; i >= 0 && i >= len(data)-utf8.UTFMax; i-- {
		if utf8.RuneStart(data[i]) {
			if !utf8.FullRune(data[i:]) {
				cut = i
			}
			break
		}
	}
	if err := c.check(data[:cut]); err != nil {
		return 0, err
	}
	c.pending = append([]byte(nil), data[cut:]...)
	c.n += int64(len(p))
	if err := c.text(data[:cut]); err != nil {
		return 0, err
	}
	return len(p), nil
}

// check refuses invalid UTF-8 and NUL bytes, saying where, counting from
// the start of the input.
func (c *canon) check(b []byte) error {
	base := c.n - int64(len(c.pending))
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return fmt.Errorf("%w: NUL byte at offset %d", ErrNotText, base+int64(i))
	}
	if !utf8.Valid(b) {
		i := 0
		for i < len(b) {
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			i += size
		}
		return fmt.Errorf("%w: invalid UTF-8 at offset %d", ErrNotText, base+int64(i))
	}
	return nil
}

// text canonicalizes b, which holds whole UTF-8 sequences, line by line.
func (c *canon) text(b []byte) error {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return c.segment(b)
		}
		if err := c.segment(b[:i]); err != nil {
			return err
		}
		if err := c.endLine(); err != nil {
			return err
		}
		b = b[i+1:]
	}
	return nil
}

// segment is part of a line, without its line end.
func (c *canon) segment(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if !c.clear {
		c.cr = b[len(b)-1] == '\r'
		_, err := c.sig.Write(b)
		return err
	}
	if c.bol && b[0] == '-' {
		// Dash-escaping is shown, not signed (RFC 4880 section 7.1).
		if _, err := c.out.Write([]byte("- ")); err != nil {
			return err
		}
	}
	c.bol = false
	k := len(bytes.TrimRight(b, " \t\r"))
	if k == 0 {
		c.ws = append(c.ws, b...)
		return nil
	}
	if err := c.both(c.ws); err != nil {
		return err
	}
	c.ws = append(c.ws[:0], b[k:]...)
	return c.both(b[:k])
}

// endLine ends a line: CRLF in the signed data (a CR already there is
// kept), LF in the shown text, its trailing whitespace dropped.
func (c *canon) endLine() error {
	c.ws, c.bol = c.ws[:0], true
	if !c.clear {
		end := []byte("\r\n")
		if c.cr {
			end = end[1:]
		}
		c.cr = false
		_, err := c.sig.Write(end)
		return err
	}
	if _, err := c.sig.Write([]byte("\r\n")); err != nil {
		return err
	}
	_, err := c.out.Write([]byte("\n"))
	return err
}

// both writes b to the signed data and the shown text.
func (c *canon) both(b []byte) error {
	if _, err := c.sig.Write(b); err != nil {
		return err
	}
	_, err := c.out.Write(b)
	return err
}

// Close checks that the text did not stop inside a UTF-8 sequence and
// ends the shown text's last line: the line end before the armor is not
// part of the message (RFC 4880 section 7.1).
func (c *canon) Close() error {
	if len(c.pending) > 0 {
		return fmt.Errorf("%w: invalid UTF-8 at offset %d", ErrNotText, c.n-int64(len(c.pending)))
	}
	if !c.clear {
		return nil
	}
	_, err := c.out.Write([]byte("\n"))
	return err
}

// textReader reads text from r and yields its canonical form (see
// [canon]): the signed data of a text signature, for the hash or for a
// token that hashes the input itself.
type textReader struct {
	r   io.Reader
	c   *canon
	buf bytes.Buffer
	in  []byte
	eof bool
}

func newTextReader(r io.Reader, out io.Writer, clear bool) *textReader {
	t := &textReader{r: r, in: make([]byte, bufSize)}
	t.c = newCanon(&t.buf, out, clear)
	return t
}

func (t *textReader) Read(p []byte) (int, error) {
	for t.buf.Len() == 0 && !t.eof {
		n, err := t.r.Read(t.in)
		if _, werr := t.c.Write(t.in[:n]); werr != nil {
			return 0, werr
		}
		switch {
		case err == io.EOF:
			t.eof = true
			if err := t.c.Close(); err != nil {
				return 0, err
			}
		case err != nil:
			return 0, err
		}
	}
	if t.buf.Len() == 0 {
		return 0, io.EOF
	}
	return t.buf.Read(p)
}
