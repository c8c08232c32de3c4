package kmod

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"signstar/internal/testenv"
	"signstar/pkg/cms"
)

// signFileTool is the kernel's scripts/sign-file, where scripts/deps
// installs it: Debian's linux-kbuild-6.1, or Arch's linux-headers (under
// the installed kernel's build directory).
func signFileTool(t *testing.T) string {
	t.Helper()
	candidates := []string{"/usr/lib/linux-kbuild-6.1/scripts/sign-file"}
	arch, _ := filepath.Glob("/usr/lib/modules/*/build/scripts/sign-file")
	for _, p := range append(candidates, arch...) {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	testenv.SkipOrFatal(t, "the kernel's sign-file not found (linux-kbuild-6.1 on Debian, linux-headers on Arch; scripts/deps installs it)")
	return ""
}

// moduleSource is the smallest module modinfo reads: modinfo needs only an
// ELF file with a .modinfo section of "key=value" strings, as MODULE_INFO
// in include/linux/moduleparam.h places them.
const moduleSource = `
#define MODINFO(n, s) static const char n[] __attribute__((section(".modinfo"), used, aligned(1))) = s
MODINFO(license, "license=GPL");
MODINFO(name, "name=hello");
MODINFO(description, "description=signstar test module");
MODINFO(vermagic, "vermagic=6.1.0 SMP mod_unload modversions");
int init_module(void) { return 0; }
`

// testModule builds the module with gcc and returns its bytes.
func testModule(t *testing.T) []byte {
	t.Helper()
	gcc := testenv.Tool(t, "gcc")
	dir := t.TempDir()
	src := writeFile(t, filepath.Join(dir, "hello.c"), []byte(moduleSource))
	ko := filepath.Join(dir, "hello.ko")
	if out, err := exec.Command(gcc, "-c", "-O2", "-o", ko, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	data, err := os.ReadFile(ko)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// testKey is a software key with a self-signed certificate (made with
// crypto/x509), the key as PEM and the certificate as DER for sign-file.
type testKey struct {
	signer   *cms.Signer
	keyFile  string
	certFile string // DER, which sign-file reads first
	certPEM  string
}

func newTestKey(t *testing.T, key crypto.Signer, cn string, h crypto.Hash) testKey {
	t.Helper()
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	spki, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	// crypto/x509 adds a subject key identifier to CA certificates only;
	// sign-file -k needs one.
	skid := sha1.Sum(spki)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"signstar"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
		SubjectKeyId:          skid[:],
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	k := testKey{
		signer:   &cms.Signer{Key: key, Cert: cert, Hash: h},
		certFile: writeFile(t, filepath.Join(dir, "cert.der"), der),
		certPEM:  writeFile(t, filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
	}
	// A token's key stays on the token: no key file then.
	if pkcs8, err := x509.MarshalPKCS8PrivateKey(key); err == nil {
		k.keyFile = writeFile(t, filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	}
	return k
}

func rsaKey(t *testing.T) crypto.Signer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ecKey(t *testing.T, c elliptic.Curve) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// runSignFile signs a copy of module with the kernel's sign-file and
// returns the signed module.
func runSignFile(t *testing.T, k testKey, hash string, module []byte, flags ...string) []byte {
	t.Helper()
	signFile := signFileTool(t)
	ko := writeFile(t, filepath.Join(t.TempDir(), "m.ko"), module)
	args := append(flags, hash, k.keyFile, k.certFile, ko)
	if out, err := exec.Command(signFile, args...).CombinedOutput(); err != nil {
		t.Fatalf("sign-file %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	signed, err := os.ReadFile(ko)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func TestSignMatchesSignFile(t *testing.T) {
	module := testModule(t)
	tests := []struct {
		name  string
		hash  crypto.Hash
		arg   string
		opts  Options
		flags []string
	}{
		{"sha256", crypto.SHA256, "sha256", Options{}, nil},
		{"sha384", crypto.SHA384, "sha384", Options{}, nil},
		{"sha512", crypto.SHA512, "sha512", Options{}, nil},
		{"sha256 subject key id (-k)", crypto.SHA256, "sha256", Options{SubjectKeyID: true}, []string{"-k"}},
	}
	key := rsaKey(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newTestKey(t, key, "signstar module key", tt.hash)
			want := runSignFile(t, k, tt.arg, module, tt.flags...)
			got, err := Sign(k.signer, module, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("signed module differs from sign-file's:\n got block %x\nwant block %x", got[len(module):], want[min(len(module), len(want)):])
			}
		})
	}
}

// modinfoSignature runs modinfo on a signed module and returns the signer,
// sig_key and sig_hashalgo fields.
func modinfoSignature(t *testing.T, module []byte) map[string]string {
	t.Helper()
	modinfo := testenv.Tool(t, "modinfo")
	ko := writeFile(t, filepath.Join(t.TempDir(), "hello.ko"), module)
	fields := map[string]string{}
	for _, f := range []string{"name", "license", "sig_id", "signer", "sig_key", "sig_hashalgo"} {
		out, err := exec.Command(modinfo, "-F", f, ko).Output()
		if err != nil {
			t.Fatalf("modinfo -F %s: %v", f, err)
		}
		fields[f] = strings.TrimSpace(string(out))
	}
	return fields
}

// hexColons is how modinfo prints a serial number or key identifier.
func hexColons(b []byte) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02X", x)
	}
	return strings.Join(parts, ":")
}

func TestModinfo(t *testing.T) {
	module := testModule(t)
	if got := modinfoSignature(t, module); got["name"] != "hello" || got["license"] != "GPL" || got["signer"] != "" {
		t.Fatalf("modinfo of the unsigned test module: %v", got)
	}
	tests := []struct {
		name     string
		key      crypto.Signer
		hash     crypto.Hash
		opts     Options
		wantHash string
	}{
		{"rsa sha256", rsaKey(t), crypto.SHA256, Options{}, "sha256"},
		{"rsa sha512", rsaKey(t), crypto.SHA512, Options{}, "sha512"},
		{"p256 sha256", ecKey(t, elliptic.P256()), crypto.SHA256, Options{}, "sha256"},
		{"p384 sha384", ecKey(t, elliptic.P384()), crypto.SHA384, Options{}, "sha384"},
		{"rsa sha256 subject key id", rsaKey(t), crypto.SHA256, Options{SubjectKeyID: true}, "sha256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newTestKey(t, tt.key, "Signstar Test Module Key", tt.hash)
			signed, err := Sign(k.signer, module, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			wantKey := hexColons(k.signer.Cert.SerialNumber.Bytes())
			want := map[string]string{"name": "hello", "license": "GPL", "sig_id": "PKCS#7",
				"signer": "Signstar Test Module Key", "sig_key": wantKey, "sig_hashalgo": tt.wantHash}
			if tt.opts.SubjectKeyID {
				// kmod 30 reads only an issuer-and-serial signer
				// identifier: for a module signed by sign-file -k it
				// shows no signature fields either (the blocks are
				// byte-identical, TestSignMatchesSignFile).
				for _, f := range []string{"sig_id", "signer", "sig_key", "sig_hashalgo"} {
					want[f] = ""
				}
			}
			got := modinfoSignature(t, signed)
			for f, w := range want {
				if got[f] != w {
					t.Errorf("modinfo %s = %q, want %q", f, got[f], w)
				}
			}
		})
	}
}

// opensslVerify checks the CMS of a signed module against the unsigned
// module with openssl cms -verify, as the kernel's pkcs7_verify would.
func opensslVerify(t *testing.T, k testKey, sigDER, unsigned []byte) (string, bool) {
	t.Helper()
	openssl := testenv.Tool(t, "openssl")
	dir := t.TempDir()
	out, err := exec.Command(openssl, "cms", "-verify", "-binary", "-inform", "DER",
		"-in", writeFile(t, filepath.Join(dir, "sig.der"), sigDER),
		"-content", writeFile(t, filepath.Join(dir, "unsigned.ko"), unsigned),
		"-certfile", k.certPEM, "-nointern", "-noverify", "-out", filepath.Join(dir, "out")).CombinedOutput()
	return string(out), err == nil
}

func TestOpenSSLVerifies(t *testing.T) {
	module := testModule(t)
	tests := []struct {
		name string
		key  crypto.Signer
		hash crypto.Hash
		opts Options
	}{
		{"rsa sha256", rsaKey(t), crypto.SHA256, Options{}},
		{"rsa sha512 subject key id", rsaKey(t), crypto.SHA512, Options{SubjectKeyID: true}},
		{"p256 sha256", ecKey(t, elliptic.P256()), crypto.SHA256, Options{}},
		{"p384 sha384", ecKey(t, elliptic.P384()), crypto.SHA384, Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newTestKey(t, tt.key, "signstar", tt.hash)
			signed, err := Sign(k.signer, module, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := Parse(signed)
			if err != nil || sig == nil {
				t.Fatalf("Parse of the signed module: %v, %v", sig, err)
			}
			if sig.Start != len(module) || !bytes.Equal(signed[:sig.Start], module) {
				t.Fatalf("signature starts at %d, want %d after the module as it was", sig.Start, len(module))
			}
			if out, ok := opensslVerify(t, k, sig.CMS, module); !ok {
				t.Fatalf("openssl cms -verify refused the module signature:\n%s", out)
			}
			changed := bytes.Clone(module)
			changed[len(changed)/2] ^= 0x01
			out, ok := opensslVerify(t, k, sig.CMS, changed)
			if ok || !strings.Contains(out, "verify_content:verification failure") {
				t.Errorf("openssl cms -verify of the module with one byte changed: accepted %v\n%s", ok, out)
			}
		})
	}
}

func TestResign(t *testing.T) {
	module := testModule(t)
	rsaA := newTestKey(t, rsaKey(t), "old key", crypto.SHA256)
	rsaB := newTestKey(t, rsaKey(t), "new key", crypto.SHA512)
	once, err := Sign(rsaB.signer, module, Options{})
	if err != nil {
		t.Fatal(err)
	}
	signedA, err := Sign(rsaA.signer, module, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		module []byte
	}{
		{"signed by us", signedA},
		// sign-file run on a signed module signs it again: the
		// signatures stack, and both come off.
		{"signed twice by sign-file", runSignFile(t, rsaA, "sha256", runSignFile(t, rsaA, "sha256", module))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Digest(crypto.SHA512, tt.module)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := Digest(crypto.SHA512, module)
			if !bytes.Equal(d, want) {
				t.Errorf("digest of the signed module is not the unsigned module's")
			}
			again, err := Sign(rsaB.signer, tt.module, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, once) {
				t.Errorf("re-signed module (%d bytes) differs from the module signed once (%d bytes)", len(again), len(once))
			}
			if got := modinfoSignature(t, again); got["signer"] != "new key" || got["sig_hashalgo"] != "sha512" {
				t.Errorf("modinfo of the re-signed module: signer %q, sig_hashalgo %q", got["signer"], got["sig_hashalgo"])
			}
		})
	}
}

// trailer builds a module_signature and magic string for malformed cases.
func trailer(algo, idType byte, pad byte, sigLen uint32) []byte {
	info := []byte{algo, 0, idType, 0, 0, 0, pad, 0, byte(sigLen >> 24), byte(sigLen >> 16), byte(sigLen >> 8), byte(sigLen)}
	return append(info, Magic...)
}

func TestParse(t *testing.T) {
	body := append([]byte("\x7fELF module"), bytes.Repeat([]byte{0x30}, 20)...)
	tests := []struct {
		name      string
		module    []byte
		wantStart int // -1: unsigned
		wantErr   string
	}{
		{"unsigned", body, -1, ""},
		{"magic only", []byte(Magic), 0, "truncated"},
		{"signed", append(bytes.Clone(body), trailer(0, 2, 0, 20)...), len(body) - 20, ""},
		{"signature is the whole module", append(bytes.Clone(body), trailer(0, 2, 0, uint32(len(body)))...), 0, "does not fit"},
		{"length past the start", append(bytes.Clone(body), trailer(0, 2, 0, 0xffffffff)...), 0, "does not fit"},
		{"zero length", append(bytes.Clone(body), trailer(0, 2, 0, 0)...), 0, "does not fit"},
		{"x509 id type", append(bytes.Clone(body), trailer(0, 1, 0, 20)...), 0, "not PKCS#7"},
		{"algo set", append(bytes.Clone(body), trailer(1, 2, 0, 20)...), 0, "non-zero parameters"},
		{"pad set", append(bytes.Clone(body), trailer(0, 2, 1, 20)...), 0, "non-zero parameters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig, err := Parse(tt.module)
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Parse error %v, want one containing %q", err, tt.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case tt.wantStart < 0 && sig != nil:
				t.Errorf("Parse found a signature at %d in an unsigned module", sig.Start)
			case tt.wantStart >= 0 && (sig == nil || sig.Start != tt.wantStart):
				t.Errorf("Parse = %+v, want a signature at %d", sig, tt.wantStart)
			}
		})
	}
}

func TestSignRefusesNonELF(t *testing.T) {
	k := newTestKey(t, rsaKey(t), "signstar", crypto.SHA256)
	xz := []byte("\xfd7zXZ\x00 a compressed module")
	if _, err := Sign(k.signer, xz, Options{}); err == nil || !strings.Contains(err.Error(), "not an ELF file") {
		t.Errorf("Sign of an xz file: %v, want a refusal", err)
	}
	if _, err := Digest(crypto.SHA256, xz); err == nil {
		t.Error("Digest of an xz file: no error")
	}
}

func TestSignRefusesHash(t *testing.T) {
	module := testModule(t)
	key := rsaKey(t)
	for _, h := range []crypto.Hash{0, crypto.MD5, crypto.SHA1} {
		k := newTestKey(t, key, "signstar", h)
		if _, err := Sign(k.signer, module, Options{}); err == nil {
			t.Errorf("Sign with hash %v: no error", h)
		}
	}
}

// signedDataWithoutSignature decodes the CMS of a module signature block
// (no certificates, no signed attributes: sign-file's form) and clears the
// signature value, which ECDSA randomizes.
func signedDataWithoutSignature(t *testing.T, module []byte) any {
	t.Helper()
	sig, err := Parse(module)
	if err != nil || sig == nil {
		t.Fatalf("Parse: %v, %v", sig, err)
	}
	var ci struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue `asn1:"explicit,tag:0"`
	}
	var sd struct {
		Version     int
		DigestAlgs  asn1.RawValue
		Encap       asn1.RawValue
		SignerInfos []struct {
			Version   int
			SID       asn1.RawValue
			DigestAlg asn1.RawValue
			SigAlg    asn1.RawValue
			Sig       []byte
		} `asn1:"set"`
	}
	if rest, err := asn1.Unmarshal(sig.CMS, &ci); err != nil || len(rest) != 0 {
		t.Fatalf("decode ContentInfo: %v", err)
	}
	if rest, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || len(rest) != 0 || len(sd.SignerInfos) != 1 {
		t.Fatalf("decode SignedData: %v", err)
	}
	sd.SignerInfos[0].Sig = nil
	return sd
}

// TestSignECDSALikeSignFile compares ECDSA signatures with sign-file's
// field by field but for the signature value: ECDSA is randomized.
func TestSignECDSALikeSignFile(t *testing.T) {
	module := testModule(t)
	tests := []struct {
		name  string
		curve elliptic.Curve
		hash  crypto.Hash
		arg   string
	}{
		{"p256 sha256", elliptic.P256(), crypto.SHA256, "sha256"},
		{"p384 sha384", elliptic.P384(), crypto.SHA384, "sha384"},
		{"p256 sha512", elliptic.P256(), crypto.SHA512, "sha512"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newTestKey(t, ecKey(t, tt.curve), "signstar ecdsa", tt.hash)
			want := signedDataWithoutSignature(t, runSignFile(t, k, tt.arg, module))
			signed, err := Sign(k.signer, module, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := signedDataWithoutSignature(t, signed); !reflect.DeepEqual(got, want) {
				t.Errorf("SignedData differs from sign-file's beyond the signature value:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestDigestFrom: the streamed digest equals Digest's for a module small
// enough to be held whole and for one far over TailMax, signed once,
// twice or not at all; a non-ELF stream and signatures larger than the
// tail are refused.
func TestDigestFrom(t *testing.T) {
	small := testModule(t)
	large := append(bytes.Clone(small), bytes.Repeat([]byte{0xa5}, 3*TailMax+12345)...)
	block := Block(bytes.Repeat([]byte{0x30}, 700))
	for name, module := range map[string][]byte{
		"small":              small,
		"small signed":       append(bytes.Clone(small), block...),
		"large":              large,
		"large signed twice": append(append(bytes.Clone(large), block...), block...),
	} {
		t.Run(name, func(t *testing.T) {
			want, err := Digest(crypto.SHA256, module)
			if err != nil {
				t.Fatal(err)
			}
			// One byte per read at the start, then large reads: the head
			// and the tail are kept across reads of any size.
			got, err := DigestFrom(crypto.SHA256, io.MultiReader(iotest.OneByteReader(bytes.NewReader(module[:10])), bytes.NewReader(module[10:])))
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("DigestFrom = %x, %v; Digest = %x", got, err, want)
			}
		})
	}
	if _, err := DigestFrom(crypto.SHA256, bytes.NewReader(append([]byte("MZ"), large[2:]...))); err == nil || !strings.Contains(err.Error(), "not an ELF file") {
		t.Errorf("a large non-ELF stream: %v", err)
	}
	huge := append(bytes.Clone(large), Block(bytes.Repeat([]byte{0x30}, 2*TailMax))...)
	if _, err := DigestFrom(crypto.SHA256, bytes.NewReader(huge)); err == nil || !strings.Contains(err.Error(), "signatures over") {
		t.Errorf("a signature over the tail: %v", err)
	}
}
