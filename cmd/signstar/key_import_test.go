package main

// End-to-end tests of 'signstar key import': keys made by gpg (and the
// upstream Signstar edge cases, built with go-crypto), put on a SoftHSM2
// token, and signatures made afterwards checked by gpgv, sqv and
// pacman-key against the ORIGINAL certificate.

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"signstar/internal/testenv"
	"signstar/internal/verifytest"
)

// gpgKeys is a scratch GNUPGHOME for making keys to import.
type gpgKeys struct {
	t    *testing.T
	gpg  string
	home string
}

func newGPGKeys(t *testing.T) *gpgKeys {
	t.Helper()
	gpg := testenv.Tool(t, "gpg")
	// Short: gpg-agent's socket path must fit in sun_path.
	home, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(home, 0o700)
	g := &gpgKeys{t, gpg, home}
	t.Cleanup(func() {
		kill := exec.Command("gpgconf", "--kill", "gpg-agent")
		kill.Env = append(os.Environ(), "GNUPGHOME="+home)
		kill.Run()
		os.RemoveAll(home)
	})
	return g
}

// run runs gpg in batch mode with passphrase pass (loopback pinentry).
func (g *gpgKeys) run(pass string, args ...string) []byte {
	g.t.Helper()
	cmd := exec.Command(g.gpg, append([]string{"--homedir", g.home, "--batch", "--pinentry-mode", "loopback",
		"--passphrase", pass}, args...)...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		g.t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, errb.Bytes())
	}
	return out
}

// generate makes a key of algo for uid with passphrase pass ("" for
// none) and returns its fingerprint, its armored secret key and its
// armored certificate, as gpg exports them.
func (g *gpgKeys) generate(uid, algo, pass string) (fpr string, secret, cert []byte) {
	g.t.Helper()
	g.run(pass, "--quick-gen-key", uid, algo, "default", "never")
	colons := string(g.run(pass, "--with-colons", "--list-secret-keys", uid))
	for _, l := range strings.Split(colons, "\n") {
		if f := strings.Split(l, ":"); f[0] == "fpr" {
			fpr = f[9]
			break
		}
	}
	return fpr, g.run(pass, "--armor", "--export-secret-keys", uid), g.run("", "--armor", "--export", uid)
}

// subkeys lists the fingerprints of the subkeys of uid.
func (g *gpgKeys) subkeys(uid string) []string {
	g.t.Helper()
	var fprs []string
	sub := false
	for _, l := range strings.Split(string(g.run("", "--with-colons", "--list-keys", uid)), "\n") {
		f := strings.Split(l, ":")
		switch {
		case f[0] == "sub":
			sub = true
		case f[0] == "fpr" && sub:
			fprs = append(fprs, f[9])
			sub = false
		}
	}
	return fprs
}

// importKey runs key import with the secret key on standard input and
// returns the fingerprint it printed.
func (f *fixture) importKey(secret []byte, args ...string) string {
	f.t.Helper()
	out := f.ok(secret, append([]string{"key", "import"}, args...)...)
	return strings.TrimSpace(string(out))
}

// checkSigns signs data with key name and has gpgv, sqv and pacman-key
// check the signature against cert, the original certificate.
func (f *fixture) checkSigns(name string, cert []byte) {
	f.t.Helper()
	data := sample(f.t)
	sig := f.ok(data, "sign", "--key", name)
	verifytest.All(f.t, cert, data, sig)
}

// TestKeyImport imports keys gpg made (Ed25519, RSA 3072, ECDSA P-256 and
// P-384), and checks that signstar signs for the original certificate
// afterwards, that the stored certificate is gpg's, and the audit record.
func TestKeyImport(t *testing.T) {
	g := newGPGKeys(t)
	for _, algo := range []string{"ed25519", "rsa3072", "nistp256", "nistp384"} {
		t.Run(algo, func(t *testing.T) {
			f := newFixture(t)
			uid := "Imported " + algo + " <" + algo + "@example.org>"
			fpr, secret, cert := g.generate(uid, algo, "")
			if got := f.importKey(secret, "--name", "imp"); got != fpr {
				t.Fatalf("key import printed %q, want gpg's fingerprint %s", got, fpr)
			}
			if list := f.ok(nil, "key", "list"); !bytes.Contains(list, []byte(fpr)) {
				t.Errorf("key list does not show %s:\n%s", fpr, list)
			}
			stored := f.ok(nil, "key", "export", "--name", "imp")
			if got, want := showKey(t, stored), showKey(t, cert); got != want {
				t.Errorf("stored certificate differs from gpg's:\n%s\nwant\n%s", got, want)
			}
			if fi, err := os.Stat(filepath.Join(f.dir, "certs", "imp.rev")); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("certs/imp.rev: %v, mode %v; want mode 0600", err, fi)
			}
			f.checkSigns("imp", cert)
			recs := importRecords(t, f)
			if len(recs) != 1 {
				t.Fatalf("%d import records, want 1", len(recs))
			}
			recs[0].want(t, map[string]string{"SIGNSTAR_RESULT": "changed", "SIGNSTAR_KEY": "imp",
				"SIGNSTAR_KEY_FINGERPRINT": fpr, "SIGNSTAR_MODE": "cli", "SIGNSTAR_USER": "*", "SIGNSTAR_ERROR": "-"})
		})
	}
}

// importRecords are the audit records of key import in the fixture's
// audit file.
func importRecords(t *testing.T, f *fixture) []record {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(f.dir, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var recs []record
	for _, l := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var r record
		if err := json.Unmarshal(l, &r); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		if r["SIGNSTAR_EVENT"] == "import" {
			recs = append(recs, r)
		}
	}
	return recs
}

// showKey is what gpg says of the key in cert, and of every signature on
// it: key, creation time, user ID, self-signature times and key flags.
func showKey(t *testing.T, cert []byte) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "cert.asc")
	if err := os.WriteFile(path, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testenv.Tool(t, "gpg"), "--homedir", dir, "--batch", "--with-colons",
		"--list-options", "show-sig-subpackets", "--list-packets", path)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gpg --list-packets: %v", err)
	}
	// Packet framing (old or new format headers) is no part of the key.
	var keep []string
	for _, l := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(l, "# off=") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// TestKeyImportPassphrase imports a passphrase-protected key: refused
// without the passphrase and with a wrong one, taken with the right one.
func TestKeyImportPassphrase(t *testing.T) {
	g := newGPGKeys(t)
	f := newFixture(t)
	fpr, secret, cert := g.generate("Protected <protected@example.org>", "ed25519", "correct horse")
	wrong := writeSecretFile(t, f.dir, "wrong", "battery staple\n")
	right := writeSecretFile(t, f.dir, "right", "correct horse\n")
	before := f.state()
	assertError(t, f.run(secret, "key", "import", "--name", "p"), 2, "protected by a passphrase")
	f.assertUnchanged(before)
	assertError(t, f.run(secret, "key", "import", "--name", "p", "--passphrase-file", wrong), 2, "wrong passphrase")
	f.assertUnchanged(before)
	// From a file this time, as from standard input above.
	file := writeSecretFile(t, f.dir, "secret.asc", string(secret))
	if got := f.importKey(nil, "--name", "p", "--file", file, "--passphrase-file", right); got != fpr {
		t.Fatalf("key import printed %q, want %s", got, fpr)
	}
	f.checkSigns("p", cert)
}

func writeSecretFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tokenState is what a refused import must not change: the config, the
// files in certs/ and the objects on the token.
type tokenState struct{ config, certs, objects string }

func (f *fixture) state() tokenState {
	f.t.Helper()
	conf, err := os.ReadFile(f.conf)
	if err != nil {
		f.t.Fatal(err)
	}
	var certs strings.Builder
	entries, _ := os.ReadDir(filepath.Join(f.dir, "certs"))
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(f.dir, "certs", e.Name()))
		certs.WriteString(e.Name() + "\n" + string(b))
	}
	out, err := f.p11("--list-objects").run()
	if err != nil {
		f.t.Fatalf("pkcs11-tool --list-objects: %v\n%s", err, out)
	}
	return tokenState{string(conf), certs.String(), string(out)}
}

func (f *fixture) assertUnchanged(before tokenState) {
	f.t.Helper()
	after := f.state()
	if after.config != before.config {
		f.t.Errorf("config changed:\n%s", after.config)
	}
	if after.certs != before.certs {
		f.t.Errorf("certs/ changed:\n%s", after.certs)
	}
	if after.objects != before.objects {
		f.t.Errorf("token objects changed:\n%s\nwere\n%s", after.objects, before.objects)
	}
}

// TestKeyImportRefusals: each refusal exits 2 with one line and leaves
// config, certs/ and token as they were.
func TestKeyImportRefusals(t *testing.T) {
	g := newGPGKeys(t)
	f := newFixture(t)
	f.generate("gen", "ed25519")
	_, dsa, _ := g.generate("DSA <dsa@example.org>", "dsa2048", "")
	_, rsa1024, _ := g.generate("RSA 1024 <rsa1024@example.org>", "rsa1024", "")
	g.run("", "--quick-gen-key", "Default <default@example.org>", "future-default", "default", "never")
	withSub := g.run("", "--armor", "--export-secret-keys", "Default <default@example.org>")
	cv25519 := g.subkeys("Default <default@example.org>")[0]
	fpr, secret, cert := g.generate("Twice <twice@example.org>", "ed25519", "")
	f.importKey(secret, "--name", "first")

	// The same token under a second config, which does not know the key.
	other := filepath.Join(f.dir, "other.toml")
	f.ok(nil, "--config", other, "init", "--module", f.hsm.Module, "--token", f.hsm.Label,
		"--pin-file", filepath.Join(f.dir, "pin"), "--lock-file", filepath.Join(f.dir, "token.lock"),
		"--audit", "file:"+filepath.Join(f.dir, "audit.jsonl"))

	tests := []struct {
		name  string
		input []byte
		args  []string
		want  string
	}{
		{"dsa", dsa, []string{"--name", "d"}, "unsupported algorithm dsa2048"},
		{"rsa 1024", rsa1024, []string{"--name", "r"}, "unsupported algorithm: rsa1024"},
		{"curve25519 encryption subkey", withSub, []string{"--name", "c", "--subkey", cv25519}, "may not sign"},
		{"unknown subkey", withSub, []string{"--name", "c", "--subkey", strings.Repeat("AB", 20)}, "no key"},
		{"public certificate", cert, []string{"--name", "c"}, "armor block is \"PGP PUBLIC KEY BLOCK\""},
		{"not OpenPGP", []byte("hello\n"), []string{"--name", "c"}, "read secret key"},
		{"name in use", secret, []string{"--name", "gen"}, `key "gen" already exists`},
		{"fingerprint configured", secret, []string{"--name", "second"}, fpr + ` is already configured as key "first"`},
		{"key on the token", secret, []string{"--config", other, "--name", "second"}, "already on the token: the token holds this key under id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.state()
			args := append([]string{"key", "import"}, tt.args...)
			if tt.args[0] == "--config" {
				args = append(tt.args[:2:2], append([]string{"key", "import"}, tt.args[2:]...)...)
			}
			r := f.run(tt.input, args...)
			assertError(t, r, 2, tt.want)
			f.assertUnchanged(before)
			recs := importRecords(t, f)
			recs[len(recs)-1].want(t, map[string]string{"SIGNSTAR_RESULT": "refused", "SIGNSTAR_ERROR": "*",
				"SIGNSTAR_KEY_FINGERPRINT": "-"})
		})
	}
}

// TestKeyImportLeftovers: a revocation certificate left by an earlier key
// of the name is refused before the token is touched; a certificate
// directory that cannot be made fails the import after the token took
// the key, which is then taken off the token again.
func TestKeyImportLeftovers(t *testing.T) {
	g := newGPGKeys(t)
	f := newFixture(t)
	_, secret, _ := g.generate("Leftover <leftover@example.org>", "ed25519", "")
	certs := filepath.Join(f.dir, "certs")
	writeSecretFile(t, f.dir, "certs", "not a directory\n")
	before := f.state()
	r := f.run(secret, "key", "import", "--name", "k")
	if r.code != 1 || !bytes.Contains(r.stderr, []byte("create certificate directory")) {
		t.Errorf("exit %d, want 1 saying the directory could not be made: %s", r.code, r.stderr)
	}
	f.assertUnchanged(before)
	if recs := importRecords(t, f); len(recs) != 1 || recs[0]["SIGNSTAR_RESULT"] != "failed" {
		t.Errorf("import records %v, want one failed", recs)
	}

	if err := os.Remove(certs); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(certs, 0o755); err != nil {
		t.Fatal(err)
	}
	writeSecretFile(t, f.dir, "certs/k.rev", "an old revocation\n")
	before = f.state()
	assertError(t, f.run(secret, "key", "import", "--name", "k"), 2, "k.rev already exists")
	f.assertUnchanged(before)
}

// TestKeyImportGuardsMemory: by the time import reads the secret key,
// the process cannot dump core and its pages are locked in memory (so no
// copy of the key reaches a core file or swap), as /proc says of it.
func TestKeyImportGuardsMemory(t *testing.T) {
	g := newGPGKeys(t)
	f := newFixture(t)
	_, secret, cert := g.generate("Guarded <guarded@example.org>", "ed25519", "")
	cmd := exec.Command(binary, "key", "import", "--name", "k")
	cmd.Env = f.env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	proc := filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid))
	var limits, status string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		l, _ := os.ReadFile(filepath.Join(proc, "limits"))
		st, _ := os.ReadFile(filepath.Join(proc, "status"))
		limits, status = string(l), string(st)
		if coreLimitZero(limits) && !strings.Contains(status, "VmLck:\t       0 kB") {
			break
		}
	}
	stdin.Write(secret)
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("key import: %v\n%s", err, errb.Bytes())
	}
	if !coreLimitZero(limits) {
		t.Errorf("core dumps not turned off while reading the key:\n%s", limits)
	}
	if !strings.Contains(status, "VmLck:") || strings.Contains(status, "VmLck:\t       0 kB") {
		t.Errorf("no memory locked while reading the key:\n%s", status)
	}
	f.checkSigns("k", cert)
}

// coreLimitZero reports whether /proc/PID/limits says RLIMIT_CORE is 0.
func coreLimitZero(limits string) bool {
	for _, l := range strings.Split(limits, "\n") {
		if f := strings.Fields(strings.TrimPrefix(l, "Max core file size")); l != "" && len(f) >= 2 && strings.HasPrefix(l, "Max core file size") {
			return f[0] == "0" && f[1] == "0"
		}
	}
	return false
}

// TestKeyImportSubkeys imports a key with an encryption subkey: the
// primary key comes in, and stderr says what was left out.
func TestKeyImportSubkeys(t *testing.T) {
	g := newGPGKeys(t)
	f := newFixture(t)
	uid := "With Subkey <sub@example.org>"
	g.run("", "--quick-gen-key", uid, "future-default", "default", "never")
	secret := g.run("", "--armor", "--export-secret-keys", uid)
	cert := g.run("", "--armor", "--export", uid)
	sub := g.subkeys(uid)[0]
	r := f.run(secret, "key", "import", "--name", "k")
	if r.code != 0 {
		t.Fatalf("key import: exit %d\n%s", r.code, r.stderr)
	}
	if want := "signstar: warning: subkey " + sub + " (ecdh-curve25519, encrypt) not imported"; !bytes.Contains(r.stderr, []byte(want)) {
		t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
	}
	f.checkSigns("k", cert)

	// A signing subkey named with --subkey: signstar holds it as a key
	// of its own, certified by the token, and its signatures verify
	// against the original certificate, where it is a subkey.
	uid = "Signing Subkey <signsub@example.org>"
	fpr, _, _ := g.generate(uid, "rsa3072", "")
	g.run("", "--quick-add-key", fpr, "ed25519", "sign", "never")
	secret = g.run("", "--armor", "--export-secret-keys", uid)
	cert = g.run("", "--armor", "--export", uid)
	sub = g.subkeys(uid)[0]
	r = f.run(secret, "key", "import", "--name", "s", "--subkey", sub)
	if r.code != 0 || strings.TrimSpace(string(r.stdout)) != sub {
		t.Fatalf("key import --subkey: exit %d, printed %q, want %s\n%s", r.code, r.stdout, sub, r.stderr)
	}
	if want := "signstar: warning: primary key " + fpr + " not imported"; !bytes.Contains(r.stderr, []byte(want)) {
		t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
	}
	f.checkSigns("s", cert)
}

// TestKeyImportEdgeCases imports the keys upstream Signstar found hard:
// an Ed25519 key whose secret encodes in 31 bytes (RFC 4880 section 3.2
// strips the leading zero of an MPI) and an RSA key with e = 257.
func TestKeyImportEdgeCases(t *testing.T) {
	tests := []struct {
		name string
		key  func(t *testing.T) *openpgp.Entity
	}{
		{"ed25519 31-byte secret", ed25519LeadingZero},
		{"rsa e 257", rsaE257},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.key(t)
			f := newFixture(t)
			secret, cert := exportEntity(t, e)
			if got, want := f.importKey(secret, "--name", "edge"), verifytest.Fingerprint(t, cert); got != want {
				t.Fatalf("key import printed %q, want %s", got, want)
			}
			f.checkSigns("edge", cert)
		})
	}
}

// ed25519LeadingZero makes an Ed25519 key whose seed starts with a zero
// byte: seeds are drawn until one does, and go-crypto's key generation
// reads it as its randomness.
func ed25519LeadingZero(t *testing.T) *openpgp.Entity {
	t.Helper()
	seed := make([]byte, 32)
	for seed[0] = 1; seed[0] != 0; {
		rand.Read(seed)
	}
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519,
		Rand: io.MultiReader(bytes.NewReader(seed), rand.Reader)}
	e, err := openpgp.NewEntity("Leading Zero", "", "zero@example.org", cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.Subkeys = nil // the encryption subkey NewEntity adds
	return e
}

// rsaE257 builds a 2048-bit RSA key with public exponent 257 from two
// primes, which crypto/rsa's GenerateKey (e = 65537 only) cannot make.
func rsaE257(t *testing.T) *openpgp.Entity {
	t.Helper()
	e := big.NewInt(257)
	one := big.NewInt(1)
	var priv *rsa.PrivateKey
	for priv == nil {
		p, _ := rand.Prime(rand.Reader, 1024)
		q, _ := rand.Prime(rand.Reader, 1024)
		n := new(big.Int).Mul(p, q)
		phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
		d := new(big.Int).ModInverse(e, phi)
		if p.Cmp(q) == 0 || n.BitLen() != 2048 || d == nil {
			continue
		}
		priv = &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: 257}, D: d, Primes: []*big.Int{p, q}}
	}
	priv.Precompute()
	if err := priv.Validate(); err != nil {
		t.Skipf("crypto/rsa refuses an RSA key with e = 257: %v", err)
	}
	return entityFor(t, priv)
}

// entityFor certifies a user ID for signer, as a v4 primary key.
func entityFor(t *testing.T, signer crypto.Signer) *openpgp.Entity {
	t.Helper()
	created := time.Now().Add(-time.Hour).Truncate(time.Second)
	pk := packet.NewSignerPrivateKey(created, signer)
	e := &openpgp.Entity{PrimaryKey: &pk.PublicKey, PrivateKey: pk, Identities: map[string]*openpgp.Identity{}}
	if err := e.AddUserId("Edge Case", "", "edge@example.org", &packet.Config{DefaultHash: crypto.SHA256}); err != nil {
		t.Skipf("go-crypto cannot self-sign the key: %v", err)
	}
	return e
}

// exportEntity returns e's armored secret key and certificate.
func exportEntity(t *testing.T, e *openpgp.Entity) (secret, cert []byte) {
	t.Helper()
	arm := func(typ string, write func(io.Writer) error) []byte {
		var buf bytes.Buffer
		w, err := armor.Encode(&buf, typ, nil)
		if err == nil {
			err = write(w)
		}
		if err == nil {
			err = w.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
		return append(buf.Bytes(), '\n')
	}
	secret = arm(openpgp.PrivateKeyType, func(w io.Writer) error { return e.SerializePrivateWithoutSigning(w, nil) })
	cert = arm(openpgp.PublicKeyType, e.Serialize)
	return secret, cert
}
