package pgp

import (
	"bytes"
	"crypto"
	"errors"
	"io"
	"strings"
	"testing"

	"signstar/internal/verifytest"
)

// textCases are the texts that break naive cleartext code: trailing
// whitespace, lines that look like armor or mbox separators, CRLF, a last
// line without a line end, empty lines at the end.
var textCases = []struct {
	name       string
	text       string
	wantClear  string // the signed data of a cleartext message
	wantShown  string // the text the message shows, before the armor
	wantDetach string // the signed data of a detached text signature
}{
	{"plain", "a\nb\n", "a\r\nb\r\n", "a\nb\n\n", "a\r\nb\r\n"},
	{"trailing whitespace", "a  \t\nb \n", "a\r\nb\r\n", "a\nb\n\n", "a  \t\r\nb \r\n"},
	{"dash lines", "-----BEGIN PGP SIGNATURE-----\n- x\n-\n", "-----BEGIN PGP SIGNATURE-----\r\n- x\r\n-\r\n", "- -----BEGIN PGP SIGNATURE-----\n- - x\n- -\n\n", "-----BEGIN PGP SIGNATURE-----\r\n- x\r\n-\r\n"},
	{"from line", "From me\n", "From me\r\n", "From me\n\n", "From me\r\n"},
	{"crlf", "a\r\nb \r\n", "a\r\nb\r\n", "a\nb\n\n", "a\r\nb \r\n"},
	{"no final line end", "a\nlast", "a\r\nlast", "a\nlast\n", "a\r\nlast"},
	{"empty lines at end", "a\n\n\n", "a\r\n\r\n\r\n", "a\n\n\n\n", "a\r\n\r\n\r\n"},
	{"one empty line", "\n", "\r\n", "\n\n", "\r\n"},
	{"utf-8", "grüße — 日本\n", "grüße — 日本\r\n", "grüße — 日本\n\n", "grüße — 日本\r\n"},
	{"space inside", " a b \n", " a b\r\n", " a b\n\n", " a b \r\n"},
}

// TestCanon checks both canonical forms and the shown text, fed one byte at
// a time so every state crosses a write boundary.
func TestCanon(t *testing.T) {
	for _, tc := range textCases {
		t.Run(tc.name, func(t *testing.T) {
			for _, step := range []int{1, len(tc.text)} {
				var sig, shown bytes.Buffer
				c := newCanon(&sig, &shown, true)
				feed(t, c, tc.text, step)
				if sig.String() != tc.wantClear || shown.String() != tc.wantShown {
					t.Errorf("step %d: cleartext signs %q shows %q, want %q and %q", step, sig.String(), shown.String(), tc.wantClear, tc.wantShown)
				}
				sig.Reset()
				feed(t, newCanon(&sig, nil, false), tc.text, step)
				if sig.String() != tc.wantDetach {
					t.Errorf("step %d: detached text signs %q, want %q", step, sig.String(), tc.wantDetach)
				}
			}
		})
	}
}

func feed(t *testing.T, c *canon, text string, step int) {
	t.Helper()
	for i := 0; i < len(text); i += step {
		if _, err := c.Write([]byte(text[i:min(i+step, len(text))])); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}

// TestTextRefusals: binary input is refused with one line that says where.
func TestTextRefusals(t *testing.T) {
	_, s := newTestSigner(t, testKeys(t)[0].key, crypto.SHA512)
	for _, tc := range []struct {
		name, in string
		want     error
		wantMsg  string
	}{
		{"nul", "ab\x00c\n", ErrNotText, "input is not text: NUL byte at offset 2"},
		{"invalid utf-8", "ok\n\xff\n", ErrNotText, "input is not text: invalid UTF-8 at offset 3"},
		{"truncated utf-8", "gr\xc3", ErrNotText, "input is not text: invalid UTF-8 at offset 2"},
		{"empty", "", ErrEmptyInput, "refusing to sign empty input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, clear := range []bool{false, true} {
				var out bytes.Buffer
				var err error
				if clear {
					_, err = s.ClearSign(&out, strings.NewReader(tc.in), Options{Time: testSigTime})
				} else {
					_, err = s.Sign(&out, strings.NewReader(tc.in), Options{Text: true, Time: testSigTime})
				}
				if !errors.Is(err, tc.want) || !strings.HasSuffix(err.Error(), tc.wantMsg) {
					t.Errorf("clear %v: err %v, want %q", clear, err, tc.wantMsg)
				}
				if out.Len() != 0 {
					t.Errorf("clear %v: wrote %d bytes on error", clear, out.Len())
				}
			}
		})
	}
}

// TestClearSignTooLarge: cleartext output is held in memory, so its input
// is bounded.
func TestClearSignTooLarge(t *testing.T) {
	_, s := newTestSigner(t, testKeys(t)[0].key, crypto.SHA512)
	in := io.LimitReader(repeat('a'), MaxClearText+1)
	out := bytes.NewBufferString("kept")
	if _, err := s.ClearSign(out, in, Options{}); !errors.Is(err, ErrTooLarge) || out.String() != "kept" {
		t.Errorf("err %v, buffer holds %d bytes; want ErrTooLarge and the buffer as it was", err, out.Len())
	}
	d, err := s.ClearSign(io.Discard, io.LimitReader(repeat('a'), MaxClearText), Options{})
	if err != nil || d.Size != MaxClearText {
		t.Errorf("at the limit: size %d, err %v", d.Size, err)
	}
}

type repeat byte

func (r repeat) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// TestClearSignVerifiers has gpgv, gpg and sq verify every text case as a
// cleartext message, and gpgv and sqv the detached text signature over the
// original file; each must reject a one-byte change.
func TestClearSignVerifiers(t *testing.T) {
	for _, k := range testKeys(t) {
		if k.name != "ed25519" && k.name != "rsa3072" && k.name != "p384" {
			continue // one key per algorithm is enough here; TestVerifiers has all
		}
		t.Run(k.name, func(t *testing.T) {
			c := newTestCert(t, k.key)
			cert := armoredCert(t, c)
			h := k.hashes()[len(k.hashes())-1]
			if k.name == "ed25519" {
				h = crypto.SHA256
			}
			_, s := newTestSigner(t, k.key, h)
			for _, tc := range textCases {
				t.Run(tc.name, func(t *testing.T) {
					var msg bytes.Buffer
					d, err := s.ClearSign(&msg, strings.NewReader(tc.text), Options{Time: testSigTime})
					if err != nil {
						t.Fatal(err)
					}
					if d.Size != int64(len(tc.text)) {
						t.Errorf("digest size %d, want %d", d.Size, len(tc.text))
					}
					checkFrame(t, msg.String(), h, tc.wantShown)
					verifytest.AllClear(t, cert, msg.Bytes())
					got, err := verifytest.ClearSQ(t, cert, msg.Bytes())
					// sq 0.27 writes the text with the line end before the armor.
					if want := strings.ReplaceAll(tc.wantClear, "\r\n", "\n") + "\n"; err == nil && string(got) != want {
						t.Errorf("sq recovered %q, want %q", got, want)
					}
					detached := sign(t, s, []byte(tc.text), Options{Text: true, Armor: true, Time: testSigTime})
					if err := Verify(c, bytes.NewReader(detached), strings.NewReader(tc.text)); err != nil {
						t.Errorf("pgp.Verify: %v", err)
					}
					bad := "X" + tc.text
					for name, v := range map[string]func(testing.TB, []byte, []byte, []byte) error{"gpgv": verifytest.GPGV, "sqv": verifytest.SQV} {
						if err := v(t, cert, []byte(tc.text), detached); err != nil {
							t.Errorf("%s rejected the detached text signature: %v", name, err)
						}
						if err := v(t, cert, []byte(bad), detached); err == nil {
							t.Errorf("%s accepted the detached text signature over changed text", name)
						}
					}
				})
			}
		})
	}
}

// checkFrame checks the message's framing: start line, Hash header, empty
// line, the shown text, the armored signature.
func checkFrame(t *testing.T, msg string, h crypto.Hash, shown string) {
	t.Helper()
	name, _ := hashName(h)
	head := "-----BEGIN PGP SIGNED MESSAGE-----\nHash: " + name + "\n\n"
	rest, ok := strings.CutPrefix(msg, head)
	if !ok {
		t.Fatalf("message does not start with %q:\n%s", head, msg)
	}
	text, sig, ok := strings.Cut("\n"+rest, "\n-----BEGIN PGP SIGNATURE-----\n")
	if !ok || text[1:]+"\n" != shown || !strings.HasSuffix(sig, "-----END PGP SIGNATURE-----\n") {
		t.Errorf("shown text %q, want %q; signature block %q", text, shown, sig)
	}
}

// TestTextMessageSigner: a token that hashes the input itself gets the
// canonical text and gives the very bytes a digest-signing key gives,
// detached and cleartext; the digest is of the input as it is.
func TestTextMessageSigner(t *testing.T) {
	msg, digest := newMessageKey(t)
	text := strings.Repeat("line with trailing space \r\n- dash\n", 3*bufSize/30)
	_, ms := newTestSigner(t, msg, crypto.SHA512)
	_, ds := newTestSigner(t, digest, crypto.SHA512)
	for _, clear := range []bool{false, true} {
		var got, want bytes.Buffer
		signText := func(s *Signer, w io.Writer) (Digest, error) {
			if clear {
				return s.ClearSign(w, strings.NewReader(text), Options{Time: testSigTime})
			}
			return s.Sign(w, strings.NewReader(text), Options{Text: true, Time: testSigTime})
		}
		gotD, err := signText(ms, &got)
		if err != nil {
			t.Fatalf("clear %v: message key: %v", clear, err)
		}
		if _, err := signText(ds, &want); err != nil {
			t.Fatalf("clear %v: digest key: %v", clear, err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) || gotD.Size != int64(len(text)) {
			t.Errorf("clear %v: outputs differ, or size %d, want %d", clear, gotD.Size, len(text))
		}
	}
}

// TestCheckClear: the check made before release reads the message as a
// verifier does, so a message whose text or framing differs from what was
// signed is caught.
func TestCheckClear(t *testing.T) {
	_, s := newTestSigner(t, testKeys(t)[0].key, crypto.SHA512)
	var msg bytes.Buffer
	if _, err := s.ClearSign(&msg, strings.NewReader("- a \nb\n"), Options{Time: testSigTime}); err != nil {
		t.Fatal(err)
	}
	good := msg.String()
	if err := checkClear([]byte(good), []*Signer{s}); err != nil {
		t.Fatalf("good message: %v", err)
	}
	for _, tc := range []struct{ name, old, new string }{
		{"text changed", "\nb\n", "\nc\n"},
		{"escape dropped", "- - a", "- a"},
		{"trailing line added", "b\n\n", "b\n\n\n"},
		{"hash header", "Hash: SHA512", "Hash: SHA256"},
		{"no signature", "-----BEGIN PGP SIGNATURE-----", "-----BEGIN PGP SIGNATURE----"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(good, tc.old, tc.new, 1)
			if bad == good {
				t.Fatal("BUG: the test did not change the message")
			}
			if err := checkClear([]byte(bad), []*Signer{s}); err == nil {
				t.Error("checkClear accepted a changed message")
			}
		})
	}
}
