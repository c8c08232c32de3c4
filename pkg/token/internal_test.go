package token

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/miekg/pkcs11"
)

func TestParseEdPoint(t *testing.T) {
	key := bytes.Repeat([]byte{0x42}, 32)
	tests := []struct {
		name    string
		in      []byte
		wantErr bool
	}{
		{"raw", key, false},
		{"DER OCTET STRING", append([]byte{0x04, 0x20}, key...), false},
		{"wrong tag", append([]byte{0x03, 0x20}, key...), true},
		{"wrong length byte", append([]byte{0x04, 0x21}, key...), true},
		{"short", key[:31], true},
		{"Ed448 point", append([]byte{0x04, 0x39}, bytes.Repeat([]byte{1}, 57)...), true},
		{"empty", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseEdPoint(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parseEdPoint(%x) = %x, want error", tt.in, got)
				}
				return
			}
			if err != nil || !bytes.Equal(got, key) {
				t.Fatalf("parseEdPoint(%x) = %x, %v; want %x", tt.in, got, err, key)
			}
		})
	}
}

func TestParseKeyType(t *testing.T) {
	for _, k := range KeyTypes() {
		if got, err := ParseKeyType(string(k)); got != k || err != nil {
			t.Errorf("ParseKeyType(%q) = %q, %v", k, got, err)
		}
	}
	_, err := ParseKeyType("RSA2048")
	want := `unknown key type "RSA2048" (valid: ed25519, rsa3072, rsa4096, p256, p384)`
	if err == nil || err.Error() != want {
		t.Errorf("ParseKeyType(RSA2048): error %v, want %q", err, want)
	}
}

func TestLoginError(t *testing.T) {
	tests := []struct {
		rv      uint
		wantPIN bool
		wantMsg string
	}{
		{pkcs11.CKR_PIN_INCORRECT, true, `log in to token "t": wrong PIN (CKR_PIN_INCORRECT)`},
		{pkcs11.CKR_PIN_LEN_RANGE, true, `log in to token "t": PIN too short or too long (CKR_PIN_LEN_RANGE)`},
		{pkcs11.CKR_PIN_LOCKED, true, `log in to token "t": PIN locked (CKR_PIN_LOCKED)`},
		{pkcs11.CKR_PIN_EXPIRED, true, `log in to token "t": PIN expired (CKR_PIN_EXPIRED)`},
		{pkcs11.CKR_USER_PIN_NOT_INITIALIZED, false, `log in to token "t": CKR_USER_PIN_NOT_INITIALIZED`},
		{0x202, false, `log in to token "t": CKR 0x202`},
	}
	for _, tt := range tests {
		t.Run(tt.wantMsg, func(t *testing.T) {
			err := loginError(`token "t"`, pkcs11.Error(tt.rv))
			if errors.Is(err, ErrPIN) != tt.wantPIN {
				t.Errorf("errors.Is(%v, ErrPIN) = %v, want %v", err, !tt.wantPIN, tt.wantPIN)
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("error %q, want %q", err, tt.wantMsg)
			}
		})
	}
}

// TestUnserialized: the errors SoftHSM2 gives when another process rewrote
// its store at the wrong moment say so when there is no lock file, and
// only then; TestNotFoundWithoutLockFile makes the not-found one for real,
// while CKR_GENERAL_ERROR only turns up under contention.
func TestUnserialized(t *testing.T) {
	const (
		softhsm = "/usr/lib/softhsm/libsofthsm2.so"
		cause   = "; concurrent signstar processes without a lock file (token.lock-file) can make SoftHSM2 miss the token"
	)
	notFound := errorf(ErrTokenNotFound, `find token "signstar": no token with that label (1 slot)`)
	general := fmt.Errorf(`find token "signstar": read token in slot 7: %w`, rvError{pkcs11.Error(pkcs11.CKR_GENERAL_ERROR)})
	pinless := fmt.Errorf(`open token "signstar": %w`, rvError{pkcs11.Error(pkcs11.CKR_USER_PIN_NOT_INITIALIZED)})
	other := fmt.Errorf(`open session on token "signstar": %w`, rvError{pkcs11.Error(pkcs11.CKR_DEVICE_MEMORY)})
	tests := []struct {
		name   string
		o      Options
		err    error
		want   string
		wantIs error
	}{
		{"not found", Options{Module: softhsm}, notFound, notFound.Error() + cause, ErrTokenNotFound},
		{"general error", Options{Module: softhsm}, general,
			`find token "signstar": read token in slot 7: CKR_GENERAL_ERROR` + cause + " or fail to read it", nil},
		{"user PIN not initialized", Options{Module: softhsm}, pinless,
			`open token "signstar": CKR_USER_PIN_NOT_INITIALIZED` + cause + " or fail to read it", nil},
		{"other error", Options{Module: softhsm}, other, other.Error(), nil},
		{"with a lock file", Options{Module: softhsm, LockFile: "/run/signstar/config.lock"}, notFound, notFound.Error(), ErrTokenNotFound},
		{"module needing none", Options{Module: "/usr/lib/x86_64-linux-gnu/libykcs11.so"}, general, general.Error(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.unserialized(tt.err)
			if err.Error() != tt.want {
				t.Errorf("error %q, want %q", err, tt.want)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
		})
	}
}
