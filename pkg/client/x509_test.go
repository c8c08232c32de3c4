package client

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"signstar/internal/testenv"
	"signstar/pkg/authenticode"
	"signstar/pkg/cms"
	"signstar/pkg/kmod"
	"signstar/pkg/request"
)

// systemdBoot is a real EFI application to sign (scripts/deps installs it).
const systemdBoot = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"

// x509Signing is a fixed signing time, so the fake server's Authenticode
// and CMS signatures are reproducible.
var x509Signing = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// x509Key loads a test key and its certificate from testdata/x509.
func x509Key(name string) (crypto.Signer, *x509.Certificate, []byte, error) {
	keyPEM, err := os.ReadFile(filepath.Join("testdata/x509", name+".key"))
	if err != nil {
		return nil, nil, nil, err
	}
	certPEM, err := os.ReadFile(filepath.Join("testdata/x509", name+".pem"))
	if err != nil {
		return nil, nil, nil, err
	}
	b, _ := pem.Decode(keyPEM)
	if b == nil {
		return nil, nil, nil, fmt.Errorf("%s.key: no PEM", name)
	}
	var key any
	if b.Type == "EC PRIVATE KEY" {
		key, err = x509.ParseECPrivateKey(b.Bytes)
	} else {
		key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	cert, err := ReadX509Cert(certPEM)
	if err != nil {
		return nil, nil, nil, err
	}
	return key.(crypto.Signer), cert, certPEM, nil
}

// serveX509 answers X.509 words as a server of the given mode; ok is
// false for words it leaves to serve. Beyond serve's modes:
//
//	old        signstar before X.509 requests: the grammar refuses --format
//	upstream   upstream's signstar-sign: refuses the unknown input type
//	p256       signs with an ECDSA P-256 key
//	attrs      signs a module digest with signed attributes
//	truncated  answers its output less the last byte
//	flipped    answers its output with one byte of the signature changed
//
// otherdata signs another digest, wrongkey signs with (and serves) another
// key.
func serveX509(mode string, words []string, stdin io.Reader, stdout, stderr io.Writer) (int, bool) {
	key := ""
	if len(words) >= 2 && words[len(words)-2] == "--key" {
		key, words = words[len(words)-1], words[:len(words)-2]
	}
	isCert := slices.Equal(words, []string{"cert", "--x509"})
	format, isSign := "", len(words) == 4 && slices.Equal(words[:3], []string{"sign", "--request", "--format"})
	if isSign {
		format = words[3]
	}
	switch {
	case mode == "upstream":
		io.Copy(io.Discard, stdin)
		fmt.Fprintln(stderr, "[ERROR] Could not deserialize request: unknown variant `signstar-digest-sha256`, expected `sha2-0.11-SHA512-state` at line 1 column 75")
		return 1, true
	case !isCert && !isSign:
		return 0, false
	case mode == "old" && isSign:
		fmt.Fprintln(stderr, `signstar: error: sign does not take "--format"`)
		return 2, true
	case mode == "old":
		fmt.Fprintln(stderr, `signstar: error: cert does not take "--x509"`)
		return 2, true
	case key != "" && key != "repo":
		fmt.Fprintf(stderr, "signstar: error: refused %q\n", words)
		return 2, true
	}
	name := map[string]string{"wrongkey": "other", "p256": "p256"}[mode]
	if name == "" {
		name = "rsa"
	}
	signer, cert, certPEM, err := x509Key(name)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1, true
	}
	if isCert {
		stdout.Write(certPEM)
		return 0, true
	}
	return signDigest(mode, format, &cms.Signer{Key: signer, Cert: cert, Hash: crypto.SHA256}, stdin, stdout, stderr), true
}

func signDigest(mode, format string, s *cms.Signer, stdin io.Reader, stdout, stderr io.Writer) int {
	req, err := request.ReadDigest(stdin, format)
	if err != nil {
		fmt.Fprintf(stderr, "signstar: error: %v\n", err)
		return 2
	}
	digest := bytes.Clone(req.Digest)
	if mode == "otherdata" {
		digest[0] ^= 1
	}
	var out []byte
	switch {
	case format == "kmod" && mode == "attrs":
		var der []byte
		der, err = s.Sign(digest, cms.Options{NoCerts: true})
		out = kmod.Block(der)
	case format == "kmod":
		out, err = kmod.SignDigest(s, digest, kmod.Options{})
	case format == "authenticode":
		out, err = authenticode.SignDigest(digest, s, authenticode.Options{SigningTime: x509Signing})
	default:
		out, err = s.Sign(digest, cms.Options{SigningTime: x509Signing})
	}
	if err != nil {
		fmt.Fprintf(stderr, "signstar: error: %v\n", err)
		return 1
	}
	switch mode {
	case "truncated":
		out = out[:len(out)-1]
	case "flipped": // the signature's last byte: the last of the DER, or before a module's trailer
		i := len(out) - 1
		if format == "kmod" {
			i -= 12 + len(kmod.Magic)
		}
		out[i] ^= 1
	}
	resp, err := request.OutputResponse(format, out)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	stdout.Write(resp)
	return 0
}

// pinnedX509 is the certificate the fake server signs with in mode ok.
func pinnedX509(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	_, cert, _, err := x509Key(name)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// testModuleData is an ELF file as far as pkg/kmod looks: a module for
// what the client does; modinfo and the kernel's own checks are
// cmd/signstar's (request_x509_test.go).
func testModuleData() []byte {
	return append([]byte("\x7fELF\x02\x01\x01"), randomData(5000)...)
}

func testImage(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(systemdBoot)
	if err != nil {
		testenv.SkipOrFatal(t, "read systemd-boot: %v (scripts/deps installs systemd-boot-efi)", err)
	}
	return b
}

func x509Options(t *testing.T, log *syncBuffer, format string, cert *x509.Certificate, hosts ...string) X509Options {
	t.Helper()
	o := X509Options{Options: Options{Hosts: hosts, SSH: fakeSSH}, Format: format, Cert: cert}
	if log != nil {
		o.Log = log
	}
	return o
}

// TestSignX509 signs a module, an image and a file, with the certificate
// pinned (RSA and ECDSA) and trusted on first use, and checks what is on
// disk the way a verifier would: the module's appended CMS over its digest,
// the image's inserted signature over its image hash, the detached CMS
// over the file; the original file is otherwise as it was.
func TestSignX509(t *testing.T) {
	image := testImage(t)
	module := testModuleData()
	for _, format := range []string{"kmod", "authenticode", "cms"} {
		for _, tc := range []struct{ name, mode, cert string }{
			{"pinned RSA", "ok", "rsa"},
			{"pinned P-256", "p256", "p256"},
			{"trust on first use", "ok", ""},
		} {
			t.Run(format+"/"+tc.name, func(t *testing.T) {
				data := map[string][]byte{"kmod": module, "authenticode": image, "cms": []byte("a release tarball\n")}[format]
				dir := t.TempDir()
				file := writeFile(t, dir, "in", data)
				var cert *x509.Certificate
				if tc.cert != "" {
					cert = pinnedX509(t, tc.cert)
				}
				var log syncBuffer
				res, err := SignX509(context.Background(), []string{file}, x509Options(t, &log, format, cert, tc.mode+".example"))
				if err != nil {
					t.Fatalf("SignX509: %v\nlog: %s", err, log.String())
				}
				signedBy := "rsa"
				if tc.mode == "p256" {
					signedBy = "p256"
				}
				want := pinnedX509(t, signedBy)
				checkX509Output(t, format, data, res[0], want)
				if fpr := (&x509Cert{want}).Fingerprint(); res[0].Fingerprint != fpr {
					t.Errorf("fingerprint %s, want %s", res[0].Fingerprint, fpr)
				}
				if tofu := strings.Contains(log.String(), "trusting the one it serves on first use: "+res[0].Fingerprint); tofu != (cert == nil) {
					t.Errorf("trust on first use announced: %v, want %v; log: %s", tofu, cert == nil, log.String())
				}
			})
		}
	}
}

// checkX509Output checks res's output of format over data, signed by cert.
func checkX509Output(t *testing.T, format string, data []byte, res Result, cert *x509.Certificate) {
	t.Helper()
	out, err := os.ReadFile(res.Output)
	if err != nil {
		t.Fatal(err)
	}
	switch format {
	case "kmod":
		unsigned, _ := kmod.Strip(data)
		sig, err := kmod.Parse(out)
		if err != nil || sig == nil || !bytes.Equal(out[:sig.Start], unsigned) || res.Output != res.File {
			t.Fatalf("module: signature %v, %v; prefix kept: %v; output %s", sig, err, sig != nil && bytes.Equal(out[:sig.Start], unsigned), res.Output)
		}
		d := sha256.Sum256(unsigned)
		if err := cms.Verify(sig.CMS, cert, cms.Expect{ContentType: cms.OIDData, Digest: d[:]}); err != nil {
			t.Fatalf("module signature: %v", err)
		}
	case "authenticode":
		im, err := authenticode.Parse(out)
		if err != nil || !im.Signed() || len(im.Signatures()) != 1 || res.Output != res.File {
			t.Fatalf("image: %v, output %s", err, res.Output)
		}
		got, _ := im.Hash(crypto.SHA256)
		want, _ := authenticode.Digest(data, crypto.SHA256)
		if !bytes.Equal(got, want) {
			t.Fatalf("signed image hash %x, unsigned %x", got, want)
		}
	case "cms":
		if res.Output != res.File+".p7s" {
			t.Fatalf("output %s", res.Output)
		}
		if in, _ := os.ReadFile(res.File); !bytes.Equal(in, data) {
			t.Fatal("the signed file changed")
		}
		d := sha256.Sum256(data)
		if err := cms.Verify(out, cert, cms.Expect{ContentType: cms.OIDData, Digest: d[:], Attributes: true}); err != nil {
			t.Fatalf("CMS signature: %v", err)
		}
	}
}

// TestSignX509Refused: what a host answers wrong is refused, and the file
// is left exactly as it was, with nothing written beside it.
func TestSignX509Refused(t *testing.T) {
	image := testImage(t)
	module := testModuleData()
	tests := []struct {
		format, mode, wantErr string
		pinned                bool
	}{
		{"kmod", "otherdata", "CMS signature: signature does not verify with the certificate's key", true},
		{"authenticode", "otherdata", "embedded content is not the SpcIndirectDataContent of this image hash", true},
		{"cms", "otherdata", "CMS signature: is over other data: its message digest is", true},
		{"kmod", "wrongkey", "CMS signature: signed by issuer serial 6f74686572, not the certificate (serial 727361)", true},
		{"authenticode", "wrongkey", "not the certificate", true},
		{"cms", "wrongkey", "not the certificate", true},
		{"kmod", "attrs", "CMS signature: has signed attributes; a module signature signs the digest itself", true},
		{"kmod", "flipped", "CMS signature: signature does not verify with the certificate's key", true},
		{"authenticode", "flipped", "CMS signature: signature does not verify with the certificate's key", true},
		{"cms", "flipped", "CMS signature: signature does not verify with the certificate's key", true},
		{"kmod", "truncated", "response is not one module signature block", true},
		{"authenticode", "truncated", "bad CMS signature: not one DER ContentInfo holding SignedData", true},
		{"cms", "truncated", "bad CMS signature", true},
		{"cms", "garbage", "bad response: invalid signing response: not valid json", true},
		{"kmod", "refuse", "server failed (exit 2)", true},
		{"kmod", "old", "this server does not sign X.509 digests (signstar 0.x or upstream Signstar): send the file with ssh old.example sign --format kmod --key repo < FILE", true},
		{"authenticode", "upstream", "this server does not sign X.509 digests (signstar 0.x or upstream Signstar): send the file with ssh upstream.example sign --format authenticode --key repo < FILE", true},
		{"cms", "old", "old.example: fetch X.509 certificate: this server does not sign X.509 digests (signstar 0.x or upstream Signstar): send the file with ssh old.example sign --format cms --key repo < FILE", false},
	}
	for _, tt := range tests {
		t.Run(tt.format+"/"+tt.mode, func(t *testing.T) {
			data := map[string][]byte{"kmod": module, "authenticode": image, "cms": []byte("a release tarball\n")}[tt.format]
			dir := t.TempDir()
			file := writeFile(t, dir, "in", data)
			before, _ := os.Stat(file)
			var cert *x509.Certificate
			if tt.pinned {
				cert = pinnedX509(t, "rsa")
			}
			o := x509Options(t, nil, tt.format, cert, tt.mode+".example")
			o.Key = "repo"
			_, err := SignX509(context.Background(), []string{file}, o)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("SignX509 error = %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			after, _ := os.Stat(file)
			got, _ := os.ReadFile(file)
			if !bytes.Equal(got, data) || !after.ModTime().Equal(before.ModTime()) {
				t.Error("the file was changed")
			}
			if names := dirNames(t, dir); !slices.Equal(names, []string{"in"}) {
				t.Errorf("directory holds %q, want only the file", names)
			}
		})
	}
}

// TestSignX509CommandLine: the remote commands, word for word: one
// certificate fetch, then the request naming the format and the key.
func TestSignX509CommandLine(t *testing.T) {
	runs := filepath.Join(t.TempDir(), "runs")
	file := writeFile(t, t.TempDir(), "f", []byte("x"))
	o := x509Options(t, nil, "cms", nil, "ok")
	o.Key = "repo"
	o.SSHOptions = []string{"-o", logOption + runs}
	if _, err := SignX509(context.Background(), []string{file}, o); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range readLines(t, runs) {
		got = append(got, strings.SplitN(l, " ", 3)[2])
	}
	want := []string{
		"-o " + logOption + runs + " -- ok cert --x509 --key repo",
		"-o " + logOption + runs + " -- ok sign --request --format cms --key repo",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ssh runs (after -T):\n%q\nwant\n%q", got, want)
	}
}

// TestSignX509Failover: a host that is down, or does not sign X.509
// digests, is passed over for the next one.
func TestSignX509Failover(t *testing.T) {
	file := writeFile(t, t.TempDir(), "m.ko", testModuleData())
	var log syncBuffer
	res, err := SignX509(context.Background(), []string{file}, x509Options(t, &log, "kmod", pinnedX509(t, "rsa"), "down.a", "old.b", "ok.c"))
	if err != nil {
		t.Fatalf("SignX509: %v", err)
	}
	if res[0].Host != "ok.c" || !strings.Contains(log.String(), "old.b: this server does not sign X.509 digests") {
		t.Fatalf("signed on %s; log:\n%s", res[0].Host, log.String())
	}
}

// TestSignX509Module: signing a signed module replaces its signature, so
// signing twice (RSA: deterministic) gives what signing once gives; the
// module keeps its mode; a file that is not ELF is refused before any
// host is asked.
func TestSignX509Module(t *testing.T) {
	dir := t.TempDir()
	data := testModuleData()
	file := writeFile(t, dir, "m.ko", data)
	if err := os.Chmod(file, 0o600); err != nil {
		t.Fatal(err)
	}
	o := x509Options(t, nil, "kmod", pinnedX509(t, "rsa"), "ok")
	if _, err := SignX509(context.Background(), []string{file}, o); err != nil {
		t.Fatal(err)
	}
	once, _ := os.ReadFile(file)
	if _, err := SignX509(context.Background(), []string{file}, o); err != nil {
		t.Fatal(err)
	}
	twice, _ := os.ReadFile(file)
	if !bytes.Equal(once, twice) || bytes.Equal(once, data) {
		t.Fatalf("signed twice: %d bytes, once: %d bytes, unsigned: %d", len(twice), len(once), len(data))
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}

	runs := filepath.Join(dir, "runs")
	notELF := writeFile(t, dir, "m.ko.xz", []byte("\xfd7zXZ\x00 compressed"))
	o.SSHOptions = []string{"-o", logOption + runs}
	_, err := SignX509(context.Background(), []string{notELF}, o)
	if err == nil || !strings.Contains(err.Error(), "not an ELF file") {
		t.Fatalf("SignX509 of a compressed module: %v", err)
	}
	if _, err := os.Stat(runs); err == nil {
		t.Fatal("a host was asked to sign a file that is not a module")
	}
}

// TestSignX509Image: a signed image is refused unless appending is asked
// for; then it carries both signatures. Its mode is kept.
func TestSignX509Image(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "boot.efi", testImage(t))
	if err := os.Chmod(file, 0o755); err != nil {
		t.Fatal(err)
	}
	o := x509Options(t, nil, "authenticode", pinnedX509(t, "rsa"), "ok")
	if _, err := SignX509(context.Background(), []string{file}, o); err != nil {
		t.Fatal(err)
	}
	signed, _ := os.ReadFile(file)
	if _, err := SignX509(context.Background(), []string{file}, o); err == nil || !strings.Contains(err.Error(), "appending a signature must be asked for") {
		t.Fatalf("SignX509 of a signed image: %v", err)
	}
	if again, _ := os.ReadFile(file); !bytes.Equal(again, signed) {
		t.Fatal("a refused signature changed the image")
	}
	o.Append = true
	if _, err := SignX509(context.Background(), []string{file}, o); err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(file)
	im, err := authenticode.Parse(out)
	if err != nil || len(im.Signatures()) != 2 {
		t.Fatalf("appended image: %v, %d signatures", err, len(im.Signatures()))
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o755 {
		t.Fatalf("mode %v, want 0755", fi.Mode().Perm())
	}
}

// TestSignX509ChangedFile: a module changed on disk between reading and
// writing is left as the other writer left it.
func TestSignX509ChangedFile(t *testing.T) {
	file := writeFile(t, t.TempDir(), "m.ko", testModuleData())
	in := &x509Signer{signer: &signer{log: newLogger(nil)}, format: "kmod"}
	prep, err := in.prepare(file)
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(file, later, later); err != nil {
		t.Fatal(err)
	}
	if err := prep.write(file, []byte("signed")); err == nil || !strings.Contains(err.Error(), "changed while it was being signed") {
		t.Fatalf("write over a changed file: %v", err)
	}
	if got, _ := os.ReadFile(file); bytes.Equal(got, []byte("signed")) {
		t.Fatal("the changed file was replaced")
	}
}

func TestSignX509Options(t *testing.T) {
	file := writeFile(t, t.TempDir(), "f", []byte("x"))
	for _, tt := range []struct {
		name    string
		o       X509Options
		wantErr string
	}{
		{"format", X509Options{Options: Options{Hosts: []string{"ok"}}, Format: "pgp"}, `sign: unknown format "pgp": want kmod, authenticode or cms`},
		{"no format", X509Options{Options: Options{Hosts: []string{"ok"}}}, "unknown format"},
		{"host", X509Options{Options: Options{Hosts: []string{"-oProxyCommand=x"}}, Format: "cms"}, "invalid host"},
		{"key", X509Options{Options: Options{Hosts: []string{"ok"}, Key: "a b"}, Format: "cms"}, "invalid key name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := SignX509(context.Background(), []string{file}, tt.o); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("SignX509 = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestReadX509Cert(t *testing.T) {
	cert := pinnedX509(t, "rsa")
	_, _, certPEM, _ := x509Key("rsa")
	other, _ := os.ReadFile("testdata/x509/other.pem")
	key, _ := os.ReadFile("testdata/x509/rsa.key")
	for _, tt := range []struct {
		name    string
		in      []byte
		wantErr string
	}{
		{"PEM", certPEM, ""},
		{"chain: the first", append(bytes.Clone(certPEM), other...), ""},
		{"key first", append(bytes.Clone(key), certPEM...), ""},
		{"DER", cert.Raw, ""},
		{"key only", key, "no CERTIFICATE block"},
		{"garbage", []byte("hello"), "x509"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadX509Cert(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReadX509Cert = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !got.Equal(cert) {
				t.Fatalf("ReadX509Cert = %v, %v", got.Subject, err)
			}
		})
	}
}

// TestX509Fingerprint: spelled as openssl x509 -fingerprint -sha256 does.
func TestX509Fingerprint(t *testing.T) {
	openssl := testenv.Tool(t, "openssl")
	out, err := exec.Command(openssl, "x509", "-in", "testdata/x509/rsa.pem", "-noout", "-fingerprint", "-sha256").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimPrefix(strings.TrimSpace(string(out)), "sha256 Fingerprint=")
	if got := (&x509Cert{pinnedX509(t, "rsa")}).Fingerprint(); got != want {
		t.Fatalf("Fingerprint = %s, openssl says %s", got, want)
	}
}
