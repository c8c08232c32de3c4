package client

import (
	"bytes"
	"strings"
	"testing"

	"signstar/pkg/request"
)

// FuzzReadAnswer: an answer line from a batch server is untrusted. What
// readAnswer accepts is exactly what request.ReadResponse accepts, and
// what it refuses is said in one printable line (a server's error text
// reaches the user's terminal).
func FuzzReadAnswer(f *testing.F) {
	armored := "-----BEGIN PGP SIGNATURE-----\n\nwnUEABYKAB0WIQQ=\n-----END PGP SIGNATURE-----\n"
	resp, err := request.Response([]byte(armored))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(resp),
		`{"version":"1.0.0","error":"key \"repo\" is not allowed (request 0123)"}`,
		`{"version":"1.0.0","error":"\u001b[2J\nspoofed line"}`,
		`{"version":"1.0.0","error":7}`,
		`{"version":"1.0.0"}`,
		`{"error":"a","error":"b"}`,
		"HTTP/1.1 200 OK\r",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		sig, err := readAnswer(line)
		want, wantErr := request.ReadResponse(bytes.NewReader(line))
		switch {
		case err == nil && (wantErr != nil || !bytes.Equal(sig, want)):
			t.Fatalf("readAnswer accepted %q, ReadResponse: %q, %v", line, want, wantErr)
		case err != nil && wantErr == nil:
			t.Fatalf("readAnswer refused %q (%v), ReadResponse accepts it", line, err)
		case err != nil && strings.ContainsFunc(err.Error(), func(r rune) bool { return r < 0x20 || r == 0x7f }):
			t.Fatalf("error holds a control character: %q", err)
		}
	})
}
