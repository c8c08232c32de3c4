package client

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"signstar/pkg/pgp"
)

// SignOne returns a signature only when it verifies against the input and
// the pinned certificate, from the first host that gives one.
func TestSignOne(t *testing.T) {
	cert, _ := testCerts(t)
	text := "Origin: test\n-dashed\nFrom here  \n"
	tests := []struct {
		name    string
		form    Form
		hosts   []string
		wantErr string // "" signs
	}{
		{"detached", Detached, []string{"ok"}, ""},
		{"detached after a host that is down", Detached, []string{"down", "ok"}, ""},
		{"text", DetachedText, []string{"ok"}, ""},
		{"cleartext", Cleartext, []string{"ok"}, ""},
		{"cleartext after a host that is down", Cleartext, []string{"down.1", "ok"}, ""},
		{"cleartext of other text", Cleartext, []string{"othertext"}, "does not show the text"},
		{"text signature of other text", DetachedText, []string{"othertext"}, "does not verify"},
		{"cleartext by another key", Cleartext, []string{"wrongkey"}, "not issued by"},
		{"refused", Cleartext, []string{"refuse"}, "server failed (exit 2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tempFile(t, text)
			sig, err := SignOne(context.Background(), f, tt.form, []Key{{Name: "repo", Cert: cert}}, Options{Hosts: tt.hosts, SSH: fakeSSH})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("SignOne = %v, want an error with %q", err, tt.wantErr)
				}
				if sig.Data != nil {
					t.Errorf("SignOne returned %d bytes with its error", len(sig.Data))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sig.Host != "ok" {
				t.Errorf("signed by %q, want ok", sig.Host)
			}
			if err := Verify(tt.form, []*pgp.Certificate{cert}, sig.Data, strings.NewReader(text)); err != nil {
				t.Error(err)
			}
			if tt.form == Cleartext && !bytes.Contains(sig.Data, []byte("\n- -dashed\n")) {
				t.Errorf("cleartext message does not dash-escape:\n%s", sig.Data)
			}
		})
	}
}

func tempFile(t *testing.T, data string) *os.File {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in")
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
