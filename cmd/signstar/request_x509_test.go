package main

// X.509 digest-only signing end to end: 'signstar request --format' on the
// client, the login shell behind a real sshd with keys whose certificates
// 'signstar key x509 self-sign' made, and the tools that check kernel
// modules (modinfo, openssl cms), UEFI images (sbverify, osslsigncode) and
// detached CMS (openssl cms) on what the client wrote.

import (
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"signstar/internal/testenv"
	"signstar/pkg/authenticode"
	"signstar/pkg/kmod"
)

// request runs 'signstar request --format format --key key' against x's
// server, pinning the key's certificate unless pin is false. Words of
// files that start with "--" are flags.
func (x *x509Fixture) request(t *testing.T, format, key string, pin bool, files ...string) result {
	t.Helper()
	args := []string{"request", "--format", format, "--key", key, "--host", x.srv.Target()}
	if pin {
		args = append(args, "--x509-cert", x.certs[key])
	}
	for _, o := range x.srv.Options(x.srv.Key) {
		args = append(args, "--ssh-option="+o)
	}
	args = append(args, "--ssh-option=-p", "--ssh-option="+strconv.Itoa(x.srv.Port))
	return x.run(nil, append(args, files...)...)
}

// mustSign fails unless r is a signed file's result.
func mustSign(t *testing.T, r result) {
	t.Helper()
	if r.code != 0 || !strings.Contains(string(r.stderr), "signstar: signed ") {
		t.Fatalf("request: exit %d: %s", r.code, r.stderr)
	}
}

// TestRequestX509Kmod: a module signed digest-only is signed in place;
// modinfo names the signer, openssl cms -verify accepts the signature over
// the module and refuses it over the module with one byte changed; the
// block is byte for byte the one 'sign --format kmod' returns for the whole
// module (RSA is deterministic), and signing the signed module again
// changes nothing.
func TestRequestX509Kmod(t *testing.T) {
	modinfo := testenv.Tool(t, "modinfo")
	x := newX509Fixture(t)
	module := buildModule(t)
	file := filepath.Join(t.TempDir(), "hello.ko")
	writeFile(t, file, module, 0o644)
	mustSign(t, x.request(t, "kmod", "kmod", true, file))

	signed := readFile(t, file)
	if out, err := exec.Command(modinfo, file).CombinedOutput(); err != nil || !strings.Contains(string(out), "signer:         Signstar test kmod") ||
		!strings.Contains(string(out), "sig_hashalgo:   sha256") {
		t.Errorf("modinfo: %v\n%s", err, out)
	}
	sig, err := kmod.Parse(signed)
	if err != nil || sig == nil || !bytes.Equal(signed[:sig.Start], module) {
		t.Fatalf("the module is not the module plus one signature: %v", err)
	}
	assertCMSVerifies(t, sig.CMS, module, x.certs["kmod"], true)
	changed := bytes.Clone(module)
	changed[len(changed)/2] ^= 1
	assertCMSVerifies(t, sig.CMS, changed, x.certs["kmod"], false)

	digest, err := kmod.Digest(x509Hash, module)
	if err != nil {
		t.Fatal(err)
	}
	x.lastRecord(t).want(t, map[string]string{"SIGNSTAR_RESULT": "signed", "SIGNSTAR_FORMAT": "kmod", "SIGNSTAR_KEY": "kmod",
		"SIGNSTAR_SIGNED_DIGEST": hex.EncodeToString(digest), "SIGNSTAR_INPUT_SIZE": "-"})

	whole := x.ssh(t, module, "sign", "--format", "kmod", "--key", "kmod")
	if !bytes.Equal(signed[len(module):], whole) {
		t.Error("the digest-only block differs from the one 'sign --format kmod' makes of the module")
	}
	mustSign(t, x.request(t, "kmod", "kmod", true, file))
	if !bytes.Equal(readFile(t, file), signed) {
		t.Error("signing the signed module again changed it")
	}

	// --keyid: the signer named by subject key identifier, as sign-file
	// -k does; the client checks it against the pinned certificate, and
	// the block is the one the whole module gets.
	mustSign(t, x.request(t, "kmod", "kmod", true, "--keyid", file))
	byKeyID := readFile(t, file)
	sig, err = kmod.Parse(byKeyID)
	if err != nil || sig == nil || bytes.Equal(byKeyID, signed) {
		t.Fatalf("--keyid: %v; or the same block as by issuer and serial", err)
	}
	assertCMSVerifies(t, sig.CMS, module, x.certs["kmod"], true)
	if whole := x.ssh(t, module, "sign", "--format", "kmod", "--keyid", "--key", "kmod"); !bytes.Equal(byKeyID[len(module):], whole) {
		t.Error("the --keyid digest-only block differs from sign --format kmod --keyid's")
	}
	assertError(t, x.run(nil, "request", "--format", "cms", "--keyid", "--host", "h", file), exitRefused, "--keyid applies to --format kmod only")
}

// TestRequestX509Authenticode: an EFI image signed digest-only is signed
// in place, keeping its mode; sbverify and osslsigncode accept it and
// refuse it with one byte of the image changed; signing it again is
// refused and leaves it as it was.
func TestRequestX509Authenticode(t *testing.T) {
	x := newX509Fixture(t)
	image := readFile(t, efiBinary(t))
	dir := t.TempDir()
	file := filepath.Join(dir, "bootx64.efi")
	writeFile(t, file, image, 0o755)
	mustSign(t, x.request(t, "authenticode", "uefi", true, file))
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("the signed image's mode: %v, %v; want 0755", fi.Mode(), err)
	}
	signed := readFile(t, file)
	assertImageSigned(t, x, image, signed)

	r := x.request(t, "authenticode", "uefi", true, file)
	if r.code != 1 || !strings.Contains(string(r.stderr), "already") || !bytes.Equal(readFile(t, file), signed) {
		t.Errorf("signing a signed image: exit %d, %s; want exit 1, the image unchanged", r.code, r.stderr)
	}
	// --append adds a second WIN_CERTIFICATE, which sbverify checks
	// (osslsigncode 2.9 reads only a table of one entry).
	mustSign(t, x.request(t, "authenticode", "uefi", true, "--append", file))
	im, err := authenticode.Parse(readFile(t, file))
	if err != nil || len(im.Signatures()) != 2 {
		t.Fatalf("appended image: %v", err)
	}
	if b, err := exec.Command(testenv.Tool(t, "sbverify"), "--cert", x.certs["uefi"], file).CombinedOutput(); err != nil {
		t.Errorf("sbverify of the image signed twice: %v\n%s", err, b)
	}
}

// TestRequestX509CMS: a detached CMS signature goes to FILE.p7s, which
// openssl cms -verify accepts over the file and refuses over the file
// with one byte changed. Without --x509-cert the server's certificate is
// trusted on first use, announced with the fingerprint openssl prints.
func TestRequestX509CMS(t *testing.T) {
	openssl := testenv.Tool(t, "openssl")
	x := newX509Fixture(t)
	data := sample(t)
	file := filepath.Join(t.TempDir(), "core.db.tar.gz")
	writeFile(t, file, data, 0o644)
	r := x.request(t, "cms", "uefi", false, file)
	mustSign(t, r)

	p7s := readFile(t, file+".p7s")
	assertCMSVerifies(t, p7s, data, x.certs["uefi"], true)
	changed := bytes.Clone(data)
	changed[0] ^= 1
	assertCMSVerifies(t, p7s, changed, x.certs["uefi"], false)
	if !bytes.Equal(readFile(t, file), data) {
		t.Error("the file itself changed")
	}
	out, err := exec.Command(openssl, "x509", "-in", x.certs["uefi"], "-noout", "-fingerprint", "-sha256").Output()
	if err != nil {
		t.Fatal(err)
	}
	fpr := strings.TrimPrefix(strings.TrimSpace(string(out)), "sha256 Fingerprint=")
	if !strings.Contains(string(r.stderr), "trusting the one it serves on first use: "+fpr) {
		t.Errorf("no trust-on-first-use warning naming %s:\n%s", fpr, r.stderr)
	}

	// An ECDSA P-256 key on the token: the client checks its DER
	// signature, openssl too.
	x.generate("ec", "p256")
	x.ok(nil, "key", "x509", "self-sign", "--name", "ec", "--subject", "CN=Signstar test ec")
	x.srv.Grant(x.hsm.Dir)
	x.certs["ec"] = filepath.Join(x.dir, "certs", "ec.pem")
	mustSign(t, x.request(t, "cms", "ec", true, file))
	assertCMSVerifies(t, readFile(t, file+".p7s"), data, x.certs["ec"], true)
	assertCMSVerifies(t, readFile(t, file+".p7s"), changed, x.certs["ec"], false)
}

// TestRequestX509Refusals: the wrong certificate pinned leaves the file as
// it was; flags of the other kind of signature are refused before ssh.
func TestRequestX509Refusals(t *testing.T) {
	x := newX509Fixture(t)
	module := buildModule(t)
	file := filepath.Join(t.TempDir(), "hello.ko")
	writeFile(t, file, module, 0o644)
	x.certs["kmod"] = x.certs["uefi"] // pin another key's certificate
	r := x.request(t, "kmod", "kmod", true, file)
	if r.code != 1 || !strings.Contains(string(r.stderr), "not the certificate") || !bytes.Equal(readFile(t, file), module) {
		t.Errorf("wrong certificate pinned: exit %d, %s; want exit 1, the module unchanged", r.code, r.stderr)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"request", "--format", "kmod", "--cert", file, "--host", "h", file}, "--cert and --armor are OpenPGP flags"},
		{[]string{"request", "--format", "cms", "--armor", "--host", "h", file}, "--cert and --armor are OpenPGP flags"},
		{[]string{"request", "--x509-cert", file, "--host", "h", file}, "--x509-cert needs --format"},
		{[]string{"request", "--format", "kmod", "--append", "--host", "h", file}, "--append applies to --format authenticode only"},
		{[]string{"request", "--format", "jar", "--host", "h", file}, "--format must be one of"},
	} {
		r := x.run(nil, tt.args...)
		if r.code != exitRefused || !strings.Contains(string(r.stderr), tt.want) {
			t.Errorf("%q: exit %d, %s; want exit 2 and %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
}
