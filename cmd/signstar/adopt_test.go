package main

// End-to-end tests of 'signstar key adopt': key pairs made on the token by
// another tool (OpenSC's pkcs11-tool, as an admin would with the vendor's
// tool), taken over, signed with and checked by gpgv, sqv and pacman-key.

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"signstar/internal/testenv"
	"signstar/internal/verifytest"
)

// keypairgen makes a key pair with CKA_ID id on the fixture's token with
// pkcs11-tool. keyTypes are spellings of one --key-type, tried in order,
// since OpenSC releases spell Ed25519 differently.
func (f *fixture) keypairgen(id string, keyTypes []string, flags ...string) {
	f.t.Helper()
	var out []byte
	for _, kt := range keyTypes {
		var err error
		out, err = f.p11("--keypairgen", "--key-type", kt, "--id", id, "--label", "adopt-"+id, "--usage-sign").run(flags...)
		if err == nil {
			return
		}
	}
	f.t.Fatalf("pkcs11-tool --keypairgen --key-type %s --id %s: %s", strings.Join(keyTypes, "|"), id, out)
}

// onToken reports whether the token holds a private key with CKA_ID id,
// as pkcs11-tool lists it.
func (f *fixture) onToken(id string) bool {
	f.t.Helper()
	out, err := f.p11("--list-objects", "--type", "privkey").run()
	if err != nil {
		f.t.Fatalf("pkcs11-tool --list-objects: %v\n%s", err, out)
	}
	return bytes.Contains(out, []byte("ID:         "+id+"\n"))
}

type p11Cmd struct {
	f    *fixture
	args []string
}

// p11 is a logged-in pkcs11-tool command on the fixture's token.
func (f *fixture) p11(args ...string) p11Cmd {
	tool := testenv.Tool(f.t, "pkcs11-tool")
	return p11Cmd{f, append([]string{tool, "--module", f.hsm.Module, "--token-label", f.hsm.Label,
		"--login", "--pin", f.hsm.PIN}, args...)}
}

func (c p11Cmd) run(more ...string) ([]byte, error) {
	cmd := exec.Command(c.args[0], append(c.args[1:], more...)...)
	cmd.Env = c.f.env
	return cmd.CombinedOutput()
}

var (
	p256Type      = []string{"EC:prime256v1"}
	ed25519Type   = []string{"EC:edwards25519", "EC:Ed25519"}
	rsa3072Type   = []string{"rsa:3072"}
	adoptUID      = "Adopted Key <adopted@example.org>"
	decryptWarned = "signstar: warning: key \"k\" (id 0a): the token also lets it decrypt (CKA_DECRYPT), unwrap keys (CKA_UNWRAP)"
)

// TestAdoptAndSign adopts keys made by pkcs11-tool, signs with them and
// has every verifier check the signatures.
func TestAdoptAndSign(t *testing.T) {
	data := sample(t)
	tests := []struct {
		name    string
		keyType []string
		want    string // the config's type
	}{
		{"p256", p256Type, "p256"},
		{"rsa3072", rsa3072Type, "rsa3072"},
		{"ed25519", ed25519Type, "ed25519"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.keypairgen("0a", tt.keyType)
			r := f.run(nil, "key", "adopt", "--name", "k", "--id", "0a", "--uid", adoptUID)
			if r.code != 0 {
				t.Fatalf("key adopt: exit %d\n%s", r.code, r.stderr)
			}
			// SoftHSM2 lets pkcs11-tool's keys decrypt and unwrap too.
			for _, want := range []string{decryptWarned, `signstar: adopted ` + tt.want + ` key "k" (id 0a)`} {
				if !strings.Contains(string(r.stderr), want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			cert := f.ok(nil, "key", "export", "--name", "k")
			if got, want := strings.TrimSpace(string(r.stdout)), verifytest.Fingerprint(t, cert); got != want {
				t.Errorf("key adopt printed %q, want the certificate's fingerprint %s", got, want)
			}
			conf, _ := os.ReadFile(f.conf)
			if !strings.Contains(string(conf), "[keys.k]\ntype = '"+tt.want+"'\nid = '0a'\ncert = 'certs/k.asc'\ndefault = true\n") {
				t.Errorf("config lacks the adopted key:\n%s", conf)
			}
			for _, args := range [][]string{{"sign"}, {"sign", "--key", "k", "--armor"}} {
				verifytest.All(t, cert, data, f.ok(data, args...))
			}
			if out := string(f.ok(nil, "check")); !strings.Contains(out, "k (default): "+tt.want) {
				t.Errorf("check:\n%s", out)
			}
		})
	}
}

// TestAdoptCreated: --created sets the key's creation time, and with it
// the fingerprint, so adopting the same key again with the same time (say,
// after losing the certificate) gives the same fingerprint.
func TestAdoptCreated(t *testing.T) {
	f := newFixture(t)
	f.keypairgen("0a", p256Type)
	args := []string{"key", "adopt", "--name", "k", "--id", "0a", "--uid", adoptUID,
		"--created", "2024-01-01T12:00:00+02:00", "--expires", "2y"}
	fpr := f.ok(nil, args...)
	list := string(f.ok(nil, "key", "list"))
	if !strings.Contains(list, "2024-01-01") {
		t.Errorf("key list does not show the creation date 2024-01-01:\n%s", list)
	}
	data := []byte("signed with a key created in 2024\n")
	verifytest.All(t, f.ok(nil, "key", "export"), data, f.ok(data, "sign"))

	// Another config, in its own directory: its certs/ is its own.
	other := filepath.Join(t.TempDir(), "other.toml")
	f.ok(nil, "init", "--config", other, "--module", f.hsm.Module, "--token", f.hsm.Label,
		"--pin-file", filepath.Join(f.dir, "pin"), "--audit", "stderr")
	if again := f.ok(nil, append([]string{"--config", other}, args...)...); !bytes.Equal(again, fpr) {
		t.Errorf("adopted again: fingerprint %s, first %s", again, fpr)
	}
}

// TestAdoptRefuses: every refusal exits 1 with one error line, writes
// nothing to the config or certs/, and leaves the key on the token.
func TestAdoptRefuses(t *testing.T) {
	f := newFixture(t)
	f.keypairgen("0a", p256Type)
	f.keypairgen("0b", p256Type, "--extractable")
	f.keypairgen("0c", p256Type, "--always-auth")
	f.keypairgen("0d", []string{"rsa:2048"})
	f.keypairgen("0e", []string{"EC:secp384r1"})
	f.ok(nil, "key", "adopt", "--name", "k", "--id", "0a", "--uid", adoptUID)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown id", []string{"--name", "x", "--id", "99"}, exitFailed, `find key 99: not on token "signstar"; list the private keys with 'pkcs11-tool`},
		{"extractable", []string{"--name", "x", "--id", "0b"}, exitFailed, "the token lets its private key be exported (CKA_EXTRACTABLE true)"},
		{"always authenticate", []string{"--name", "x", "--id", "0c"}, exitFailed, "(CKA_ALWAYS_AUTHENTICATE), which signstar does not do; on a YubiKey that is PIV slot 9c"},
		{"rsa2048", []string{"--name", "x", "--id", "0d"}, exitFailed, "the key is RSA 2048; signstar signs with ed25519, rsa3072, rsa4096, p256, p384"},
		{"name taken", []string{"--name", "k", "--id", "0e"}, exitFailed, `key "k" already exists`},
		{"id taken", []string{"--name", "x", "--id", "0A"}, exitFailed, `key id 0a is already configured as key "k"`},
		{"empty user ID", []string{"--name", "x", "--id", "0e", "--uid", ""}, exitFailed, "user id must be non-empty"},
		{"id not hex", []string{"--name", "x", "--id", "0x0e"}, exitFailed, `--id "0x0e": want the key's CKA_ID in hex`},
		{"created in the future", []string{"--name", "x", "--id", "0e", "--created", "2999-01-01T00:00:00Z"}, exitFailed, "in the future"},
		{"created not RFC 3339", []string{"--name", "x", "--id", "0e", "--created", "2024-01-01"}, exitFailed, "want an RFC 3339 time"},
		{"no id", []string{"--name", "x"}, exitRefused, "--id"},
	}
	conf, _ := os.ReadFile(f.conf)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"key", "adopt"}, tt.args...)
			if !strings.Contains(strings.Join(tt.args, " "), "--uid") {
				args = append(args, "--uid", adoptUID)
			}
			assertError(t, f.run(nil, args...), tt.code, tt.want)
			if after, _ := os.ReadFile(f.conf); !bytes.Equal(after, conf) {
				t.Errorf("config changed:\n%s", after)
			}
			certs, err := os.ReadDir(filepath.Join(f.dir, "certs"))
			if err != nil || len(certs) != 2 || certs[0].Name() != "k.asc" || certs[1].Name() != "k.rev" {
				t.Errorf("certs/ holds %v (%v), want k.asc and its revocation certificate k.rev only", certs, err)
			}
		})
	}
	for _, id := range []string{"0a", "0b", "0c", "0d", "0e"} {
		if !f.onToken(id) {
			t.Errorf("key %s is gone from the token", id)
		}
	}
	// The key refused for its name is fine under another one.
	f.ok(nil, "key", "adopt", "--name", "p384", "--id", "0e", "--uid", adoptUID)
}
