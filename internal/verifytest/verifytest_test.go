package verifytest

import (
	"fmt"
	"path/filepath"
	"signstar/internal/testenv"
	"strings"
	"testing"
)

// testKey is a throwaway gpg key in its own home directory.
type testKey struct {
	t    testing.TB
	gpg  string
	home string
	fpr  string // from the revocation certificate's file name, not from gpg's listing
	cert []byte // armored
}

func newTestKey(t testing.TB, uid string) *testKey {
	t.Helper()
	k := &testKey{t: t, gpg: testenv.Tool(t, "gpg"), home: t.TempDir()}
	gpgconf := testenv.Tool(t, "gpgconf")
	t.Cleanup(func() { run(k.home, gpgconf, "--homedir", k.home, "--kill", "all") })
	k.must("--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never")
	revs, err := filepath.Glob(filepath.Join(k.home, "openpgp-revocs.d", "*.rev"))
	if err != nil || len(revs) != 1 {
		t.Fatalf("find revocation certificate: %v %v", revs, err)
	}
	k.fpr = strings.TrimSuffix(filepath.Base(revs[0]), ".rev")
	k.cert = k.must("--armor", "--export", k.fpr)
	return k
}

// sign returns a detached signature over data, armored if armor is set.
func (k *testKey) sign(data []byte, armor bool) []byte {
	k.t.Helper()
	in := write(k.t, k.t.TempDir(), "data", data)
	args := []string{"--local-user", k.fpr, "--output", "-", "--detach-sign", in}
	if armor {
		args = append([]string{"--armor"}, args...)
	}
	return k.must(args...)
}

func (k *testKey) must(args ...string) []byte {
	k.t.Helper()
	args = append([]string{"--homedir", k.home, "--batch", "--yes"}, args...)
	out, err := output(k.home, k.gpg, args...)
	if err != nil {
		k.t.Fatal(err)
	}
	return out
}

// recorder collects Errorf calls that would otherwise fail the test.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestAllAccepts(t *testing.T) {
	key := newTestKey(t, "Signer <signer@example.org>")
	tests := []struct {
		name  string
		data  []byte
		armor bool
	}{
		{"binary", []byte("signstar sample\n"), false},
		{"armored", []byte("signstar sample\n"), true},
		{"empty data", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			All(t, key.cert, tt.data, key.sign(tt.data, tt.armor))
		})
	}
}

func TestRejectsOtherKey(t *testing.T) {
	want := newTestKey(t, "Wanted <wanted@example.org>")
	other := newTestKey(t, "Other <other@example.org>")
	data := []byte("signed by the wrong key\n")
	sig := other.sign(data, false)
	for _, v := range verifiers {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			if err := v.verify(t, other.cert, data, sig); err != nil {
				t.Fatalf("control: signer's own cert rejected: %v", err)
			}
			if err := v.verify(t, want.cert, data, sig); err == nil {
				t.Errorf("%s accepted a signature from another key", v.name)
			}
		})
	}
	t.Run("All", func(t *testing.T) {
		t.Parallel()
		r := &recorder{TB: t}
		All(r, want.cert, data, sig)
		if len(r.errors) != len(verifiers) {
			t.Errorf("All reported %d errors, want one per verifier (%d): %q", len(r.errors), len(verifiers), r.errors)
		}
	})
}

func TestFingerprint(t *testing.T) {
	key := newTestKey(t, "Fingerprint <fpr@example.org>")
	if got := Fingerprint(t, key.cert); got != key.fpr {
		t.Errorf("Fingerprint = %q, want %q", got, key.fpr)
	}
}

func TestParseFingerprint(t *testing.T) {
	tests := []struct {
		name   string
		colons string
		want   string
	}{
		{"primary", "pub:u:255:22:AAAA:1::::::scSC:::::ed25519:::0:\nfpr:::::::::AAAA1111:\nuid:u::::1::X::T <t@x>::::::::::0:\n", "AAAA1111"},
		{"subkey fpr first", "sub:u:255:18:BBBB:1:::::e:::::cv25519::\nfpr:::::::::BBBB2222:\npub:u:255:22:AAAA:1::::::scSC:::::ed25519:::0:\nfpr:::::::::AAAA1111:\n", "AAAA1111"},
		{"first of two keys", "pub:::\nfpr:::::::::ONE:\npub:::\nfpr:::::::::TWO:\n", "ONE"},
		{"no pub", "sec:::\nfpr:::::::::SECRET:\n", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseFingerprint(tt.colons); got != tt.want {
				t.Errorf("parseFingerprint = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTamper(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string
	}{
		{"empty", "", "\x00"},
		{"one byte", "a", "\x9e"},
		{"last byte", "abc", "ab\x9c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.data)
			if got := string(tamper(data)); got != tt.want {
				t.Errorf("tamper(%q) = %q, want %q", tt.data, got, tt.want)
			}
			if string(data) != tt.data {
				t.Errorf("tamper modified its input")
			}
		})
	}
}
