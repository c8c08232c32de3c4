package authenticode

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"signstar/internal/testenv"
	"signstar/pkg/cms"
)

const systemdBoot = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"

// testSigner is a software RSA 2048 key standing in for the token, with a
// self-signed code-signing certificate, both also written as PEM for
// sbsign and the verifiers.
type testSigner struct {
	signer   *cms.Signer
	keyPEM   string
	certPEM  string
	certPath string
}

func newTestSigner(t *testing.T, h crypto.Hash) testSigner {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return newTestSignerKey(t, h, key)
}

// newTestSignerKey is newTestSigner for another key.
func newTestSignerKey(t *testing.T, h crypto.Hash, key crypto.Signer) testSigner {
	t.Helper()
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: "signstar authenticode test"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
		IsCA:                  true,
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
	ts := testSigner{signer: &cms.Signer{Key: key, Cert: cert, Hash: h}}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	ts.keyPEM = writeFile(t, dir, "key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	ts.certPEM = writeFile(t, dir, "cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	ts.certPath = ts.certPEM
	return ts
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// run runs a tool and returns its combined output and whether it exited 0.
func run(t *testing.T, tool string, args ...string) (string, bool) {
	t.Helper()
	out, err := exec.Command(testenv.Tool(t, tool), args...).CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("run %s: %v", tool, err)
		}
	}
	return string(out), err == nil
}

// testImages are the images the tests sign: systemd-boot (PE32+, trailing
// data after the sections, a length that is not a multiple of 8) and two
// tiny images built here, PE32 and PE32+.
func testImages(t *testing.T) map[string][]byte {
	t.Helper()
	boot, err := os.ReadFile(systemdBoot)
	if err != nil {
		testenv.SkipOrFatal(t, "read systemd-boot: %v (scripts/deps installs systemd-boot-efi)", err)
	}
	return map[string][]byte{
		"systemd-boot": boot,
		"tiny PE32":    tinyPE(false),
		"tiny PE32+":   tinyPE(true),
	}
}

// tinyPE builds a minimal EFI application: headers in 0x200 bytes, one
// .text section of 0x200 bytes, and 5 bytes of trailing data.
func tinyPE(plus bool) []byte {
	d := make([]byte, 0x405)
	d[0], d[1] = 'M', 'Z'
	le := binary.LittleEndian
	le.PutUint32(d[0x3c:], 0x40)
	copy(d[0x40:], "PE\x00\x00")
	coff, opt := 0x44, 0x58
	machine, optSize, chars, magic, dirs := uint16(0x14c), 224, uint16(0x0102), uint16(magicPE32), opt+96
	if plus {
		machine, optSize, chars, magic, dirs = 0x8664, 240, 0x0022, magicPE32Plus, opt+112
	}
	le.PutUint16(d[coff:], machine)
	le.PutUint16(d[coff+2:], 1) // NumberOfSections
	le.PutUint16(d[coff+16:], uint16(optSize))
	le.PutUint16(d[coff+18:], chars)
	le.PutUint16(d[opt:], magic)
	le.PutUint32(d[opt+4:], 0x200)   // SizeOfCode
	le.PutUint32(d[opt+16:], 0x1000) // AddressOfEntryPoint
	le.PutUint32(d[opt+20:], 0x1000) // BaseOfCode
	le.PutUint32(d[opt+32:], 0x1000) // SectionAlignment
	le.PutUint32(d[opt+36:], 0x200)  // FileAlignment
	le.PutUint32(d[opt+56:], 0x2000) // SizeOfImage
	le.PutUint32(d[opt+60:], 0x200)  // SizeOfHeaders
	le.PutUint16(d[opt+68:], 10)     // Subsystem: EFI application
	le.PutUint32(d[dirs-4:], 16)     // NumberOfRvaAndSizes
	if !plus {
		le.PutUint32(d[opt+28:], 0x400000) // ImageBase
	} else {
		le.PutUint64(d[opt+24:], 0x400000)
	}
	sec := opt + optSize
	copy(d[sec:], ".text")
	le.PutUint32(d[sec+8:], 0x200)       // VirtualSize
	le.PutUint32(d[sec+12:], 0x1000)     // VirtualAddress
	le.PutUint32(d[sec+16:], 0x200)      // SizeOfRawData
	le.PutUint32(d[sec+20:], 0x200)      // PointerToRawData
	le.PutUint32(d[sec+36:], 0x60000020) // code, execute, read
	for i := 0x200; i < len(d); i++ {
		d[i] = byte(i * 7)
	}
	d[0x200] = 0xc3 // ret
	return d
}

// pkcs7 is the part of a PKCS#7 SignedData with one SignerInfo the tests compare.
type pkcs7 struct {
	DigestAlgs asn1.RawValue
	Content    asn1.RawValue // SpcIndirectDataContent
	Attrs      asn1.RawValue // [0] IMPLICIT signed attributes
	Signature  []byte
}

func parsePKCS7(t *testing.T, blob []byte) pkcs7 {
	t.Helper()
	var ci struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue `asn1:"explicit,tag:0"`
	}
	var sd struct {
		Version    int
		DigestAlgs asn1.RawValue
		Content    struct {
			Type    asn1.ObjectIdentifier
			Content asn1.RawValue `asn1:"explicit,tag:0"`
		}
		Certs       asn1.RawValue `asn1:"optional,tag:0"`
		SignerInfos []struct {
			Version   int
			SID       asn1.RawValue
			DigestAlg asn1.RawValue
			Attrs     asn1.RawValue `asn1:"optional,tag:0"`
			SigAlg    asn1.RawValue
			Signature []byte
		} `asn1:"set"`
	}
	if _, err := asn1.Unmarshal(blob, &ci); err != nil {
		t.Fatalf("parse PKCS#7: %v", err)
	}
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || len(sd.SignerInfos) != 1 {
		t.Fatalf("parse SignedData: %v (%d signers)", err, len(sd.SignerInfos))
	}
	si := sd.SignerInfos[0]
	return pkcs7{sd.DigestAlgs, sd.Content.Content, si.Attrs, si.Signature}
}

// signatures returns the PKCS#7 blobs of a signed image, DER without the
// WIN_CERTIFICATE padding.
func signatures(t *testing.T, image []byte) [][]byte {
	t.Helper()
	im, err := Parse(image)
	if err != nil {
		t.Fatalf("parse signed image: %v", err)
	}
	var out [][]byte
	for _, b := range im.Signatures() {
		var v asn1.RawValue
		if _, err := asn1.Unmarshal(b, &v); err != nil {
			t.Fatalf("parse PKCS#7 in the certificate table: %v", err)
		}
		out = append(out, v.FullBytes)
	}
	return out
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
