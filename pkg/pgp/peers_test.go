package pgp

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"signstar/internal/testenv"
	"strings"
	"testing"
	"time"
)

// TestVerifiers checks signatures with the verifiers signstar's users run:
// gpgv (apt, pacman-key) with a dearmored keyring, and sqv (Sequoia, rpm)
// with the armored certificate.
func TestVerifiers(t *testing.T) {
	gpg, gpgv, sqv := testenv.Tool(t, "gpg"), testenv.Tool(t, "gpgv"), testenv.Tool(t, "sqv")
	for _, k := range testKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			dir := t.TempDir()
			c := newTestCert(t, k.key)
			asc := writeFile(t, dir, "cert.asc", armoredCert(t, c))
			ring := filepath.Join(dir, "ring.gpg")
			run(t, true, gpg, "--homedir", gnupgHome(t), "--batch", "--dearmor", "--output", ring, asc)
			data := writeFile(t, dir, "data", testData)
			bad := writeFile(t, dir, "bad", append(bytes.Clone(testData), '!'))
			for _, h := range k.hashes() {
				_, s := newTestSigner(t, k.key, h)
				for _, armor := range []bool{false, true} {
					sig := writeFile(t, dir, fmt.Sprintf("sig-%d-%v", h, armor), sign(t, s, testData, Options{Armor: armor, Time: testSigTime}))
					run(t, true, gpgv, "--homedir", gnupgHome(t), "--keyring", ring, sig, data)
					out := run(t, true, sqv, "--keyring", asc, sig, data)
					if !strings.Contains(out, c.Fingerprint()) {
						t.Errorf("sqv output %q does not name %s", out, c.Fingerprint())
					}
					run(t, false, gpgv, "--homedir", gnupgHome(t), "--keyring", ring, sig, bad)
					run(t, false, sqv, "--keyring", asc, sig, bad)
				}
			}
		})
	}
}

// TestGPGImport imports each certificate into a fresh GnuPG home and checks
// what gpg makes of it: algorithm, capabilities, fingerprint and user ID
// (gpg drops a user ID whose self-signature does not verify).
func TestGPGImport(t *testing.T) {
	gpg := testenv.Tool(t, "gpg")
	for _, k := range testKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			c := newTestCert(t, k.key)
			home := gnupgHome(t)
			asc := writeFile(t, t.TempDir(), "cert.asc", armoredCert(t, c))
			run(t, true, gpg, "--homedir", home, "--batch", "--import", asc)
			out := run(t, true, gpg, "--homedir", home, "--batch", "--with-colons", "--fixed-list-mode", "--list-keys", c.Fingerprint())
			checkColons(t, out, c, k.wantAlgo)
		})
	}
}

// checkColons reads gpg's --with-colons listing (doc/DETAILS in GnuPG).
func checkColons(t *testing.T, out string, c *Certificate, algo byte) {
	t.Helper()
	var fpr, uid string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, ":")
		switch {
		case f[0] == "pub" && len(f) > 11:
			if f[3] != fmt.Sprint(algo) || f[11] != "scSC" || f[6] != "" {
				t.Errorf("gpg pub record algo %s caps %q expiry %q, want %d, scSC, none", f[3], f[11], f[6], algo)
			}
		case f[0] == "fpr" && fpr == "" && len(f) > 9:
			fpr = f[9]
		case f[0] == "uid" && len(f) > 9:
			uid = f[9]
		}
	}
	if fpr != c.Fingerprint() || uid != testUID {
		t.Errorf("gpg lists fingerprint %q uid %q, want %q %q\n%s", fpr, uid, c.Fingerprint(), testUID, out)
	}
}

func gnupgHome(t *testing.T) string {
	t.Helper()
	home := filepath.Join(t.TempDir(), "gnupg")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	return home
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// run runs a tool and checks that it succeeds (wantOK) or fails; it returns
// the combined output.
func run(t *testing.T, wantOK bool, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if (err == nil) != wantOK {
		t.Errorf("%s %s: err = %v, want ok=%v\n%s", filepath.Base(name), strings.Join(args, " "), err, wantOK, out)
	}
	return string(out)
}

// TestPacmanKey verifies with pacman-key in a private keyring, as pacman
// does: the certificate is added and locally signed, then each signature is
// checked, and a tampered file must fail.
func TestPacmanKey(t *testing.T) {
	pacmanKey := testenv.Tool(t, "pacman-key")
	dir := t.TempDir()
	gpgdir := filepath.Join(dir, "gnupg")
	run(t, true, pacmanKey, "--gpgdir", gpgdir, "--init")
	data := writeFile(t, dir, "data", testData)
	bad := writeFile(t, dir, "bad", append(bytes.Clone(testData), '!'))
	for _, k := range testKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			c, s := newTestSigner(t, k.key, crypto.SHA512)
			run(t, true, pacmanKey, "--gpgdir", gpgdir, "--add", writeFile(t, dir, k.name+".asc", armoredCert(t, c)))
			run(t, true, pacmanKey, "--gpgdir", gpgdir, "--lsign-key", c.Fingerprint())
			sig := writeFile(t, dir, k.name+".sig", sign(t, s, testData, Options{Time: testSigTime}))
			run(t, true, pacmanKey, "--gpgdir", gpgdir, "--verify", sig, data)
			run(t, false, pacmanKey, "--gpgdir", gpgdir, "--verify", sig, bad)
		})
	}
}

// helperKeyEnv carries a PKCS#8 key (hex) to this test binary when rpmsign
// runs it as its signing command; see TestMain.
const helperKeyEnv = "SIGNSTAR_PGP_TEST_HELPER_KEY"

func TestMain(m *testing.M) {
	if key := os.Getenv(helperKeyEnv); key != "" {
		if err := rpmSignHelper(key, os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "rpm sign helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// rpmSignHelper plays gpg for rpmsign: it signs the plaintext file (or
// stdin, "-") into the signature file with the key in keyHex, whose
// certificate is rebuilt from the same fixed creation time.
func rpmSignHelper(keyHex string, args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("want PLAINTEXT SIGNATURE, got %q", args)
	}
	key, err := parseHelperKey(keyHex)
	if err != nil {
		return err
	}
	c, err := NewCertificate(key, testUID, testCreated, time.Time{}, crypto.SHA512)
	if err != nil {
		return err
	}
	s, err := NewSigner(c, key, crypto.SHA512)
	if err != nil {
		return err
	}
	in := os.Stdin
	if args[0] != "-" {
		if in, err = os.Open(args[0]); err != nil {
			return err
		}
		defer in.Close()
	}
	var sig bytes.Buffer
	if _, err := s.Sign(&sig, in, Options{}); err != nil {
		return err
	}
	return os.WriteFile(args[1], sig.Bytes(), 0o600)
}

func parseHelperKey(keyHex string) (crypto.Signer, error) {
	der, err := hex.DecodeString(keyHex)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	if ed, ok := k.(ed25519.PrivateKey); ok {
		return tokenEd25519{ed}, nil
	}
	return tokenKey{k.(crypto.Signer)}, nil
}

// TestRPM builds a package with rpmbuild, signs it with rpmsign using this
// test binary as the signing command, imports the certificate with rpmkeys
// and checks the package signature. ECDSA is left out: rpm 4.18 built on
// libgcrypt refuses ECDSA certificates, GnuPG's own included.
func TestRPM(t *testing.T) {
	rpmbuild, rpmsign, rpmkeys := testenv.Tool(t, "rpmbuild"), testenv.Tool(t, "rpmsign"), testenv.Tool(t, "rpmkeys")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pkg := buildRPM(t, rpmbuild)
	for _, k := range testKeys(t)[:3] {
		t.Run(k.name, func(t *testing.T) {
			dir := t.TempDir()
			signed := writeFile(t, dir, "signed.rpm", readFile(t, pkg))
			der, err := x509.MarshalPKCS8PrivateKey(unwrapKey(k.key))
			must(err)
			cmd := exec.Command(rpmsign, "--addsign", "--define", "_gpg_name signstar",
				"--define", "__gpg_sign_cmd "+self+" signstar %{__plaintext_filename} %{__signature_filename}", signed)
			cmd.Env = append(os.Environ(), helperKeyEnv+"="+hex.EncodeToString(der))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("rpmsign: %v\n%s", err, out)
			}
			db := filepath.Join(dir, "rpmdb")
			run(t, false, rpmkeys, "--dbpath", db, "--checksig", signed) // NOKEY before import
			c, err := NewCertificate(k.key, testUID, testCreated, testCreated.AddDate(10, 0, 0), crypto.SHA512)
			must(err)
			run(t, true, rpmkeys, "--dbpath", db, "--import", writeFile(t, dir, "cert.asc", armoredCert(t, c)))
			out := run(t, true, rpmkeys, "--dbpath", db, "--checksig", "-v", signed)
			if want := fmt.Sprintf("key ID %08x: OK", c.KeyID()&0xffffffff); !strings.Contains(out, want) {
				t.Errorf("rpmkeys --checksig output lacks %q:\n%s", want, out)
			}
		})
	}
}

func buildRPM(t *testing.T, rpmbuild string) string {
	t.Helper()
	top := t.TempDir()
	spec := writeFile(t, top, "test.spec", []byte(`Name: signstar-test
Version: 1
Release: 1
Summary: signstar pgp test package
License: Apache-2.0
BuildArch: noarch

%description
Signed by the signstar pgp tests.

%files
`))
	run(t, true, rpmbuild, "-bb", "--define", "_topdir "+top, "--define", "_build_id_links none", spec)
	return filepath.Join(top, "RPMS", "noarch", "signstar-test-1-1.noarch.rpm")
}

func unwrapKey(k crypto.Signer) any {
	switch k := k.(type) {
	case tokenEd25519:
		return k.priv
	case tokenKey:
		return k.s
	}
	panic(fmt.Sprintf("unknown test key %T", k))
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
