package pgp

import (
	"bytes"
	"crypto"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
)

// FuzzClearSign holds the text signatures to independent readings of the
// input: what go-crypto's clearsign.Decode finds in a cleartext message is
// what was signed, a detached text signature signs the input with LF made
// CRLF, any split of the input into writes gives the same result, and
// exactly the input that is not UTF-8 text is refused.
func FuzzClearSign(f *testing.F) {
	for _, tc := range textCases {
		f.Add([]byte(tc.text), uint16(1))
	}
	f.Add([]byte("a\x00"), uint16(0))
	f.Add([]byte("\xe6\x97"), uint16(1))
	f.Add([]byte("  \r\n\t-\n"), uint16(3))
	_, s := newTestSigner(f, testKeys(f)[0].key, crypto.SHA512)
	f.Fuzz(func(t *testing.T, in []byte, split uint16) {
		text := utf8.Valid(in) && bytes.IndexByte(in, 0) < 0
		var msg bytes.Buffer
		_, err := s.ClearSign(&msg, bytes.NewReader(in), Options{Time: testSigTime})
		switch {
		case len(in) > 0 && text != (err == nil) && !errors.Is(err, ErrEmptyInput):
			t.Fatalf("text %v, ClearSign error %v", text, err)
		case err != nil:
			return
		}
		b, rest := clearsign.Decode(msg.Bytes())
		if b == nil || len(rest) != 0 {
			t.Fatalf("go-crypto cannot read the message:\n%s", msg.Bytes())
		}
		at := min(int(split), len(in))
		signed, shown := canonical(t, in, at, true)
		if !bytes.Equal(b.Bytes, signed) {
			t.Fatalf("go-crypto reads %q, signed %q", b.Bytes, signed)
		}
		if !bytes.Contains(msg.Bytes(), shown) {
			t.Fatalf("message lacks its shown text %q", shown)
		}
		if detached, _ := canonical(t, in, at, false); !bytes.Equal(detached, crlf(in)) {
			t.Fatalf("detached text signs %q, want %q", detached, crlf(in))
		}
	})
}

// canonical runs in through a canon in two writes split at at, and checks
// that one write gives the same.
func canonical(t *testing.T, in []byte, at int, clear bool) (signed, shown []byte) {
	t.Helper()
	var sig, out, sig1, out1 bytes.Buffer
	c, c1 := newCanon(&sig, &out, clear), newCanon(&sig1, &out1, clear)
	for _, w := range []func() error{
		func() error { _, err := c.Write(in[:at]); return err },
		func() error { _, err := c.Write(in[at:]); return err },
		c.Close,
		func() error { _, err := c1.Write(in); return err },
		c1.Close,
	} {
		if err := w(); err != nil {
			t.Fatalf("canon: %v", err)
		}
	}
	if !bytes.Equal(sig.Bytes(), sig1.Bytes()) || !bytes.Equal(out.Bytes(), out1.Bytes()) {
		t.Fatalf("split at %d changes the result", at)
	}
	return sig.Bytes(), out.Bytes()
}

// crlf is RFC 4880 section 5.2.1's canonical text as go-crypto makes it:
// every LF not already after a CR becomes CRLF.
func crlf(in []byte) []byte {
	var out []byte
	for i, c := range in {
		if c == '\n' && (i == 0 || in[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}
