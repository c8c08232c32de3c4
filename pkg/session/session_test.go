package session

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"signstar/internal/testenv"
	"strings"
	"testing"
)

// A real key and its fingerprint as ssh-keygen -lf prints it.
const (
	pub = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF0ba2QKr5PesBlgmaUV+QiEqdh/Y+rZZjHbNbCltrDc"
	fpr = "SHA256:EaGDxUxRfAkBX/ilGde0OsryzmcJfP8KCLcNqVIj5go"
)

func TestNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth")
	if err := os.WriteFile(path, []byte("publickey "+pub+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(Env{User: "signer", Connection: "192.0.2.7 51234 192.0.2.1 22", UserAuth: path})
	if err != nil {
		t.Fatal(err)
	}
	if s.User != "signer" || s.Client != "192.0.2.7 51234" || s.Key() != fpr {
		t.Fatalf("session = %+v", s)
	}
}

func TestFingerprintMatchesSSHKeygen(t *testing.T) {
	keygen := testenv.Tool(t, "ssh-keygen")
	path := filepath.Join(t.TempDir(), "k.pub")
	os.WriteFile(path, []byte(pub+"\n"), 0o600)
	out, err := exec.Command(keygen, "-lf", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(out))[1]; got != fpr {
		t.Fatalf("ssh-keygen says %s, the constant says %s", got, fpr)
	}
}

func TestAllowed(t *testing.T) {
	other := "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"
	tests := []struct {
		name    string
		keys    []string
		allow   []string
		wantErr string
	}{
		{"no list", nil, nil, ""},
		{"listed", []string{fpr}, []string{other, fpr}, ""},
		{"second method listed", []string{other, fpr}, []string{fpr}, ""},
		{"not listed", []string{fpr}, []string{other}, "is not allowed"},
		{"no auth info", nil, []string{fpr}, "ExposeAuthInfo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := (&Session{Keys: tt.keys}).Allowed(tt.allow)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Allowed = %v, want %q", err, tt.wantErr)
			}
		})
	}
	if err := (&Session{}).Allowed([]string{fpr}); !errors.Is(err, ErrNoAuthInfo) {
		t.Fatalf("Allowed without auth info = %v, want ErrNoAuthInfo", err)
	}
}

func TestParseUserAuth(t *testing.T) {
	keys, err := parseUserAuth(strings.NewReader("password\nkeyboard-interactive\npublickey " + pub + "\n"))
	if err != nil || len(keys) != 1 || keys[0] != fpr {
		t.Fatalf("parseUserAuth = %v, %v", keys, err)
	}
	if _, err := parseUserAuth(strings.NewReader("publickey ssh-ed25519 !!!\n")); err == nil {
		t.Fatal("bad base64 accepted")
	}
}
