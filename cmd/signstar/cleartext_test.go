package main

// Text signatures as a user and an SSH client make them: cleartext signed
// messages checked by gpgv, gpg and sq, detached text signatures by gpgv
// and sqv over the file as it is, binary input and contradicting flags
// refused, and the form named in the audit record.

import (
	"strconv"
	"strings"
	"testing"

	"signstar/internal/verifytest"
)

// clearText has what cleartext framing must get right: trailing
// whitespace, lines that look like armor or mbox separators, CRLF, an
// empty line at the end.
const clearText = "Origin: signstar\r\nLabel: test  \n-----BEGIN PGP SIGNATURE-----\n- dash\nFrom here\n\tindented\t\n\n"

func TestClearsign(t *testing.T) {
	f := newFixture(t)
	cert := f.generate("repo", "ed25519")
	text := []byte(clearText)
	lastLine := []byte("no line end at the end")
	type signer func(t *testing.T, stdin []byte, words ...string) []byte
	cli := func(t *testing.T, stdin []byte, words ...string) []byte {
		return f.ok(stdin, append([]string{"sign"}, words...)...)
	}
	shell := func(t *testing.T, stdin []byte, words ...string) []byte {
		t.Helper()
		r := f.shell(strings.Join(append([]string{"sign"}, words...), " "), stdin)
		if r.code != 0 {
			t.Fatalf("login shell %v: exit %d\n%s", words, r.code, r.stderr)
		}
		return r.stdout
	}
	var want []string // SIGNSTAR_FORMAT of each record, in order
	for name, sign := range map[string]signer{"cli": cli, "shell": shell} {
		t.Run(name, func(t *testing.T) {
			for _, in := range [][]byte{text, lastLine} {
				msg := sign(t, in, "--clearsign", "--key", "repo")
				if !strings.HasPrefix(string(msg), "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n") {
					t.Errorf("message starts %q", msg[:min(len(msg), 60)])
				}
				verifytest.AllClear(t, cert, msg)
				for _, words := range [][]string{{"--text"}, {"--text", "--armor"}} {
					sig := sign(t, in, words...)
					for v, verify := range map[string]func(testing.TB, []byte, []byte, []byte) error{"gpgv": verifytest.GPGV, "sqv": verifytest.SQV} {
						if err := verify(t, cert, in, sig); err != nil {
							t.Errorf("%s %v: %v", v, words, err)
						}
						if err := verify(t, cert, append([]byte("X"), in...), sig); err == nil {
							t.Errorf("%s %v accepted a changed text", v, words)
						}
					}
				}
			}
		})
		want = append(want, "cleartext", "detached-text", "detached-text", "cleartext", "detached-text", "detached-text")
	}
	recs := readAuditFile(t, f)
	var got []string
	for _, r := range recs {
		got = append(got, r["SIGNSTAR_FORMAT"])
		if size := r["SIGNSTAR_INPUT_SIZE"]; size != strconv.Itoa(len(text)) && size != strconv.Itoa(len(lastLine)) {
			t.Errorf("SIGNSTAR_INPUT_SIZE = %q, want the size of the text as sent", r["SIGNSTAR_INPUT_SIZE"])
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("SIGNSTAR_FORMAT of the records: %v, want %v", got, want)
	}
}

// TestClearsignRefusals: contradicting flags and input that is not text
// are refused (exit 2) with one line saying why, at the command line and
// in the login shell, and recorded as refused.
func TestClearsignRefusals(t *testing.T) {
	f := newFixture(t)
	f.generate("repo", "ed25519")
	tests := []struct {
		name  string
		words []string
		stdin string
		want  string
	}{
		{"clearsign armor", []string{"--clearsign", "--armor"}, "text\n", "--armor does not apply to --clearsign"},
		{"clearsign text", []string{"--clearsign", "--text"}, "text\n", "--text does not apply to --clearsign"},
		{"nul", []string{"--clearsign"}, "a\x00b\n", "input is not text: NUL byte at offset 1"},
		{"not utf-8", []string{"--text"}, "caf\xe9\n", "input is not text: invalid UTF-8 at offset 3"},
	}
	n := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertError(t, f.run([]byte(tt.stdin), append([]string{"sign"}, tt.words...)...), exitRefused, tt.want)
			r := f.shell("sign "+strings.Join(tt.words, " "), []byte(tt.stdin))
			if r.code != exitRefused || len(r.stdout) != 0 || strings.Count(string(r.stderr), "\n") != 1 ||
				!strings.Contains(string(r.stderr), tt.want) {
				t.Errorf("login shell: exit %d, %d bytes out, stderr %q; want exit %d and one line with %q",
					r.code, len(r.stdout), r.stderr, exitRefused, tt.want)
			}
		})
		n += 2
	}
	for _, r := range readAuditFile(t, f) {
		r.want(t, map[string]string{"SIGNSTAR_RESULT": "refused", "SIGNSTAR_FORMAT": "-"})
	}
	if got := len(readAuditFile(t, f)); got != n {
		t.Errorf("%d records, want %d", got, n)
	}
}
