package main

// The X.509 formats end to end: keys on a SoftHSM2 token with X.509
// certificates made by 'signstar key x509 self-sign', signatures asked for
// over ssh through the real sshd, and checked by the tools that check them
// in real life: modinfo and openssl cms for kernel modules, sbverify and
// osslsigncode for UEFI images, openssl cms for detached CMS.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"signstar/internal/sshdtest"
	"signstar/internal/testenv"
	"signstar/pkg/authenticode"
	"signstar/pkg/kmod"
	"signstar/pkg/request"
)

// x509Fixture is an sshFixture with two more keys, each with a
// self-signed X.509 certificate: "kmod" (RSA 3072, module signing) and
// "uefi" (RSA 3072, code signing).
type x509Fixture struct {
	*sshFixture
	certs map[string]string // key name: its certificate file (PEM)
}

func newX509Fixture(t *testing.T) *x509Fixture {
	t.Helper()
	s := newSSHFixture(t, "")
	x := &x509Fixture{sshFixture: s, certs: map[string]string{}}
	for _, k := range []struct{ name, typ, usage string }{
		{"kmod", "rsa3072", "kmod"}, {"uefi", "rsa3072", "codesign"},
	} {
		s.generate(k.name, k.typ)
		s.ok(nil, "key", "x509", "self-sign", "--name", k.name, "--subject", "CN=Signstar test "+k.name, "--usage", k.usage)
		x.certs[k.name] = filepath.Join(s.dir, "certs", k.name+".pem")
	}
	s.srv.Grant(s.hsm.Dir) // the keys made as root, for the signing account
	return x
}

// TestX509KeyList: key list shows each key's X.509 certificate, "-" for
// a key without one.
func TestX509KeyList(t *testing.T) {
	x := newX509Fixture(t)
	list := string(x.ok(nil, "key", "list"))
	for _, want := range []string{"X.509", "CN=Signstar test kmod (until ", "CN=Signstar test uefi (until "} {
		if !strings.Contains(list, want) {
			t.Errorf("key list lacks %q:\n%s", want, list)
		}
	}
	for _, line := range strings.Split(list, "\n") {
		if strings.HasPrefix(line, "repo") && !strings.HasSuffix(strings.TrimSpace(line), " -") {
			t.Errorf("key repo has no X.509 certificate, key list shows:\n%s", line)
		}
	}
}

// ssh runs the remote command words with stdin and fails unless it signs.
func (x *x509Fixture) ssh(t *testing.T, stdin []byte, words ...string) []byte {
	t.Helper()
	r := sshdtest.Run(t, x.srv.SSH(words...), stdin)
	if r.Code != 0 || len(r.Stdout) == 0 {
		t.Fatalf("ssh %s: exit %d, %d bytes out: %s\naudit: %v", strings.Join(words, " "), r.Code, len(r.Stdout), r.Stderr, x.lastRecord(t))
	}
	return r.Stdout
}

// lastRecord is the newest audit record.
func (x *x509Fixture) lastRecord(t *testing.T) record {
	t.Helper()
	recs := readAuditFile(t, x.fixture)
	if len(recs) == 0 {
		t.Fatal("no audit record")
	}
	return recs[len(recs)-1]
}

func TestX509Kmod(t *testing.T) {
	modinfo := testenv.Tool(t, "modinfo")
	x := newX509Fixture(t)
	module := buildModule(t)
	block := x.ssh(t, module, "sign", "--format", "kmod", "--key", "kmod")
	signed := filepath.Join(t.TempDir(), "hello.ko")
	writeFile(t, signed, append(bytes.Clone(module), block...), 0o644)

	out, err := exec.Command(modinfo, signed).CombinedOutput()
	if err != nil {
		t.Fatalf("modinfo: %v\n%s", err, out)
	}
	for _, want := range []string{"signer:         Signstar test kmod", "sig_hashalgo:   sha256", "sig_key:"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("modinfo lacks %q:\n%s", want, out)
		}
	}
	sig, err := kmod.Parse(append(bytes.Clone(module), block...))
	if err != nil || sig == nil {
		t.Fatalf("the block is no module signature: %v", err)
	}
	assertCMSVerifies(t, sig.CMS, module, x.certs["kmod"], true)
	changed := bytes.Clone(module)
	changed[len(changed)/2] ^= 1
	assertCMSVerifies(t, sig.CMS, changed, x.certs["kmod"], false)

	digest := sha256.Sum256(module)
	x.lastRecord(t).want(t, map[string]string{"SIGNSTAR_RESULT": "signed", "SIGNSTAR_FORMAT": "kmod", "SIGNSTAR_KEY": "kmod",
		"SIGNSTAR_SIGNED_DIGEST": hex.EncodeToString(digest[:])})

	// Signed again, the signed module gets the same block: the digest
	// is over the module without its old signature.
	again := x.ssh(t, append(bytes.Clone(module), block...), "sign", "--format", "kmod", "--key", "kmod")
	if !bytes.Equal(again, block) {
		t.Error("re-signing a signed module gave another block (RSA PKCS#1 v1.5 is deterministic)")
	}
}

func TestX509Authenticode(t *testing.T) {
	x := newX509Fixture(t)
	image := readFile(t, efiBinary(t))
	signed := x.ssh(t, image, "sign", "--format", "authenticode", "--key", "uefi")
	assertImageSigned(t, x, image, signed)

	// A signed image is refused unless --append asks for a second
	// signature.
	r := sshdtest.Run(t, x.srv.SSH("sign", "--format", "authenticode", "--key", "uefi"), signed)
	if r.Code != exitRefused || !strings.Contains(string(r.Stderr), "--append") || len(r.Stdout) != 0 {
		t.Errorf("signing a signed image: exit %d, stdout %d bytes, stderr %s; want exit 2 naming --append", r.Code, len(r.Stdout), r.Stderr)
	}
}

func TestX509CMS(t *testing.T) {
	x := newX509Fixture(t)
	data := sample(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "core.db.tar.gz")
	writeFile(t, file, data, 0o644)
	der := x.ssh(t, data, "sign", "--format", "cms", "--key", "uefi")
	assertCMSVerifies(t, der, data, x.certs["uefi"], true)
	changed := append(bytes.Clone(data), 0)
	assertCMSVerifies(t, der, changed, x.certs["uefi"], false)
	pemSig := x.ssh(t, data, "sign", "--format", "cms", "--key", "uefi", "--armor")
	if !bytes.HasPrefix(pemSig, []byte("-----BEGIN CMS-----\n")) {
		t.Errorf("--armor wrote %.30q, want PEM", pemSig)
	}
	x.lastRecord(t).want(t, map[string]string{"SIGNSTAR_RESULT": "signed", "SIGNSTAR_FORMAT": "cms", "SIGNSTAR_SIGNED_DIGEST": "-"})

	cert := x.ssh(t, nil, "cert", "--x509", "--key", "uefi")
	if want := readFile(t, x.certs["uefi"]); !bytes.Equal(cert, want) {
		t.Errorf("cert --x509 printed\n%s\nwant the key's certificate file\n%s", cert, want)
	}
}

// TestX509SignRefusals: what an X.509 signature cannot be made of or with is
// refused in one line, with nothing on stdout, and recorded.
func TestX509SignRefusals(t *testing.T) {
	x := newX509Fixture(t)
	module := buildModule(t)
	tests := []struct {
		name  string
		words []string
		stdin []byte
		code  int
		want  string
	}{
		{"key without an X.509 certificate", []string{"sign", "--format", "kmod", "--key", "repo"}, module, exitRefused, "no X.509 certificate"},
		{"cert of a key without one", []string{"cert", "--x509", "--key", "pkg"}, nil, exitRefused, "no X.509 certificate"},
		{"not a module", []string{"sign", "--format", "kmod", "--key", "kmod"}, []byte("not an ELF file"), exitRefused, "ELF"},
		{"not a PE image", []string{"sign", "--format", "authenticode", "--key", "uefi"}, module, exitRefused, "PE"},
		{"empty input", []string{"sign", "--format", "cms", "--key", "uefi"}, nil, exitFailed, "empty"},
		{"armor for kmod", []string{"sign", "--format", "kmod", "--armor"}, module, exitRefused, "--armor does not apply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sshdtest.Run(t, x.srv.SSH(tt.words...), tt.stdin)
			if r.Code != tt.code || len(r.Stdout) != 0 || !strings.Contains(string(r.Stderr), tt.want) {
				t.Errorf("exit %d, %d bytes out, stderr %q; want exit %d and %q", r.Code, len(r.Stdout), r.Stderr, tt.code, tt.want)
			}
			if got := x.lastRecord(t)["SIGNSTAR_RESULT"]; got == "signed" {
				t.Errorf("recorded as %s", got)
			}
		})
	}

	// Another key's certificate in the key's file: the token shows it
	// is not the key's, and nothing is signed.
	writeFile(t, x.certs["uefi"], readFile(t, x.certs["kmod"]), 0o644)
	r := sshdtest.Run(t, x.srv.SSH("sign", "--format", "cms", "--key", "uefi"), module)
	if r.Code != exitFailed || len(r.Stdout) != 0 {
		t.Errorf("another key's certificate: exit %d, %d bytes out, stderr %q; want exit 1 and nothing", r.Code, len(r.Stdout), r.Stderr)
	}
	x.lastRecord(t).want(t, map[string]string{"SIGNSTAR_RESULT": "failed"})
	if rec := x.lastRecord(t); !strings.Contains(rec["SIGNSTAR_ERROR"], "does not match the token") {
		t.Errorf("the record says %q, want the mismatch", rec["SIGNSTAR_ERROR"])
	}
}

// assertImageSigned checks image signed by x's key "uefi": sbverify and
// osslsigncode accept it and refuse it with one byte of the image changed
// (its middle is section data; the signature is appended after it), and
// the last record holds its Authenticode hash.
func assertImageSigned(t *testing.T, x *x509Fixture, image, signed []byte) {
	t.Helper()
	hash, err := authenticode.Digest(image, x509Hash)
	if err != nil {
		t.Fatal(err)
	}
	x.lastRecord(t).want(t, map[string]string{"SIGNSTAR_RESULT": "signed", "SIGNSTAR_FORMAT": "authenticode",
		"SIGNSTAR_SIGNED_DIGEST": hex.EncodeToString(hash)})
	assertEFIVerifies(t, signed, x.certs["uefi"], true)
	changed := bytes.Clone(signed)
	changed[len(image)/2] ^= 1
	assertEFIVerifies(t, changed, x.certs["uefi"], false)
}

// assertEFIVerifies checks a signed image with sbverify and osslsigncode
// against the certificate cert; with want false, both must refuse it.
func assertEFIVerifies(t *testing.T, image []byte, cert string, want bool) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "image.efi")
	writeFile(t, file, image, 0o644)
	for _, cmd := range [][]string{
		{testenv.Tool(t, "sbverify"), "--cert", cert, file},
		{testenv.Tool(t, "osslsigncode"), "verify", "-CAfile", cert, "-in", file},
	} {
		out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput()
		switch {
		case want && err != nil:
			t.Errorf("%s refused the image: %v\n%s", filepath.Base(cmd[0]), err, out)
		case !want && err == nil:
			t.Errorf("%s accepted a changed image:\n%s", filepath.Base(cmd[0]), out)
		}
	}
}

// assertCMSVerifies checks a detached DER CMS signature over content with
// openssl cms -verify against the certificate cert, and that a wanted
// failure fails.
func assertCMSVerifies(t *testing.T, der, content []byte, cert string, want bool) {
	t.Helper()
	openssl := testenv.Tool(t, "openssl")
	dir := t.TempDir()
	sig, data := filepath.Join(dir, "sig.der"), filepath.Join(dir, "data")
	writeFile(t, sig, der, 0o644)
	writeFile(t, data, content, 0o644)
	out, err := exec.Command(openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", sig, "-content", data,
		"-certfile", cert, "-CAfile", cert, "-purpose", "any", "-out", os.DevNull).CombinedOutput()
	switch {
	case want && err != nil:
		t.Errorf("openssl cms -verify refused the signature: %v\n%s", err, out)
	case !want && err == nil:
		t.Errorf("openssl cms -verify accepted the signature over changed data:\n%s", out)
	}
}

// buildModule is a kernel module as far as modinfo and the module
// signature are concerned: an ELF relocatable object with a .modinfo
// section, compiled here rather than taken from a kernel package.
func buildModule(t *testing.T) []byte {
	t.Helper()
	gcc := testenv.Tool(t, "gcc")
	dir := t.TempDir()
	src := filepath.Join(dir, "hello.c")
	writeFile(t, src, `static const char license[] __attribute__((section(".modinfo"), used, aligned(1))) = "license=GPL";
static const char name[] __attribute__((section(".modinfo"), used, aligned(1))) = "name=hello";
int init_module(void) { return 0; }
`, 0o644)
	ko := filepath.Join(dir, "hello.ko")
	if out, err := exec.Command(gcc, "-c", "-o", ko, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	return readFile(t, ko)
}

// efiBinary is systemd-boot's EFI binary, a real PE32+ image (Debian's
// systemd-boot-efi, Arch's systemd).
func efiBinary(t *testing.T) string {
	t.Helper()
	const p = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"
	if _, err := os.Stat(p); err != nil {
		testenv.SkipOrFatal(t, "%s not found (scripts/deps installs systemd-boot-efi)", p)
	}
	return p
}

// TestX509Request: an X.509 digest-only request (request format 1.1)
// gets the same module signature block as the module itself sent with
// sign --format kmod (RSA PKCS#1 v1.5 is deterministic), and the record
// holds the signed digest and no input; a request sent to the wrong
// command is refused.
func TestX509Request(t *testing.T) {
	x := newX509Fixture(t)
	module := buildModule(t)
	block := x.ssh(t, module, "sign", "--format", "kmod", "--key", "kmod")
	digest, err := kmod.Digest(x509Hash, module)
	if err != nil {
		t.Fatal(err)
	}
	req, err := request.NewDigestRequest("kmod", digest)
	if err != nil {
		t.Fatal(err)
	}
	resp := x.ssh(t, req, "sign", "--request", "--format", "kmod", "--key", "kmod")
	got, err := request.ReadOutput(bytes.NewReader(resp), "kmod")
	if err != nil {
		t.Fatalf("read response: %v\n%s", err, resp)
	}
	if !bytes.Equal(got, block) {
		t.Error("the digest-only block differs from the one made of the module")
	}
	x.lastRecord(t).want(t, map[string]string{"SIGNSTAR_RESULT": "signed", "SIGNSTAR_FORMAT": "kmod",
		"SIGNSTAR_SIGNED_DIGEST": hex.EncodeToString(digest), "SIGNSTAR_INPUT_SHA512": "-", "SIGNSTAR_INPUT_SIZE": "-"})

	for _, tt := range []struct {
		name  string
		words []string
		want  string
	}{
		{"to the OpenPGP request command", []string{"sign", "--request", "--key", "kmod"}, "send it with 'sign --request --format kmod'"},
		{"to another format", []string{"sign", "--request", "--format", "cms", "--key", "kmod"}, `want "signstar-cms"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := sshdtest.Run(t, x.srv.SSH(tt.words...), req)
			if r.Code != exitRefused || len(r.Stdout) != 0 || !strings.Contains(string(r.Stderr), tt.want) {
				t.Errorf("exit %d, %d bytes out, stderr %q; want exit 2 and %q", r.Code, len(r.Stdout), r.Stderr, tt.want)
			}
		})
	}
}

// TestX509SignCLI: signstar sign --format on the signing host itself
// makes the signatures the login shell makes, recorded the same way.
func TestX509SignCLI(t *testing.T) {
	f := newFixture(t)
	f.generate("sb", "rsa3072")
	f.ok(nil, "key", "x509", "self-sign", "--name", "sb", "--subject", "CN=Signstar test sb")
	cert := filepath.Join(f.dir, "certs", "sb.pem")
	data := sample(t)
	assertCMSVerifies(t, f.ok(data, "sign", "--format", "cms", "--key", "sb"), data, cert, true)
	module := buildModule(t)
	block := f.ok(module, "sign", "--format", "kmod", "--key", "sb")
	sig, err := kmod.Parse(append(bytes.Clone(module), block...))
	if err != nil || sig == nil {
		t.Fatalf("the block is no module signature: %v", err)
	}
	assertCMSVerifies(t, sig.CMS, module, cert, true)
	recs := readAuditFile(t, f)
	recs[len(recs)-1].want(t, map[string]string{"SIGNSTAR_MODE": "cli", "SIGNSTAR_FORMAT": "kmod", "SIGNSTAR_KEY": "sb"})
	assertError(t, f.run(module, "sign", "--format", "kmod", "--armor"), exitRefused, "--armor does not apply to --format kmod")
}

// README's Secure Boot and kernel module recipes, run as written: the
// certificate made by the admin's command, the three signatures asked for
// through sshd with signstar as the login shell.
const (
	x509SelfSignRecipe = `signstar key x509 self-sign --name sb --subject "CN=Example Secure Boot 2026,O=Example"`
	x509KmodRecipe     = `ssh signer@sign.example.org sign --format kmod --key sb < hello.ko > hello.ko.sig
cat hello.ko hello.ko.sig > hello.signed.ko && modinfo hello.signed.ko`
	x509EFIRecipe = `ssh signer@sign.example.org sign --format authenticode --key sb < grubx64.efi > grubx64.efi.signed
sbverify --cert sb.pem grubx64.efi.signed`
	x509CMSRecipe = `ssh signer@sign.example.org sign --format cms --key sb < release.tar > release.tar.p7s`
)

func TestX509Recipes(t *testing.T) {
	for _, r := range []string{x509SelfSignRecipe, x509KmodRecipe, x509EFIRecipe, x509CMSRecipe} {
		assertREADMEQuotes(t, r)
	}
	testenv.Tool(t, "modinfo")
	testenv.Tool(t, "sbverify")
	s := newSSHFixture(t, "")
	s.generate("sb", "rsa3072")
	admin := exec.Command("bash", "-euo", "pipefail", "-c", x509SelfSignRecipe)
	admin.Env = append(s.env, "PATH="+filepath.Dir(binary)+":"+os.Getenv("PATH"))
	if out, err := admin.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", x509SelfSignRecipe, err, out)
	}
	s.srv.Grant(s.hsm.Dir)
	dir := t.TempDir()
	module := buildModule(t)
	data := sample(t)
	writeFile(t, filepath.Join(dir, "hello.ko"), module, 0o644)
	writeFile(t, filepath.Join(dir, "grubx64.efi"), readFile(t, efiBinary(t)), 0o644)
	writeFile(t, filepath.Join(dir, "release.tar"), data, 0o644)
	cert := filepath.Join(dir, "sb.pem")
	writeFile(t, cert, readFile(t, filepath.Join(s.dir, "certs", "sb.pem")), 0o644)
	for _, r := range []string{x509KmodRecipe, x509EFIRecipe, x509CMSRecipe} {
		runRecipe(t, s.srv, r, dir)
	}
	sig, err := kmod.Parse(readFile(t, filepath.Join(dir, "hello.signed.ko")))
	if err != nil || sig == nil {
		t.Fatalf("hello.signed.ko has no module signature: %v", err)
	}
	assertCMSVerifies(t, sig.CMS, module, cert, true)
	assertCMSVerifies(t, readFile(t, filepath.Join(dir, "release.tar.p7s")), data, cert, true)
}

// TestX509AllowList: a key's allow list holds for the X.509 commands as
// for every other: a client key not on it gets no signature and no
// certificate, one on it gets both.
func TestX509AllowList(t *testing.T) {
	x := newX509Fixture(t)
	other, otherFpr := x.srv.NewClientKey("other")
	appendFile(t, x.conf, fmt.Sprintf("allow = [%q]\n", otherFpr)) // the last table is keys.uefi
	data := []byte("release\n")
	for _, words := range [][]string{{"sign", "--format", "cms", "--key", "uefi"}, {"cert", "--x509", "--key", "uefi"}} {
		r := sshdtest.Run(t, x.srv.SSH(words...), data)
		if r.Code != exitRefused || len(r.Stdout) != 0 || !strings.Contains(string(r.Stderr), "is not allowed to use this key") {
			t.Errorf("%s by a key not on the allow list: exit %d, %d bytes out, stderr %s", strings.Join(words, " "), r.Code, len(r.Stdout), r.Stderr)
		}
		x.lastRecord(t).want(t, map[string]string{"SIGNSTAR_RESULT": "refused"})
		if ok := sshdtest.Run(t, x.srv.SSHWith(other, nil, words...), data); ok.Code != 0 || len(ok.Stdout) == 0 {
			t.Errorf("%s by the allowed key: exit %d: %s", strings.Join(words, " "), ok.Code, ok.Stderr)
		}
	}
}
