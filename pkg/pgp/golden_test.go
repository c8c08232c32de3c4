package pgp

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"signstar/internal/testenv"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const goldenUID = "signstar golden <golden@signstar.invalid>"

// goldenKey is the Ed25519 key whose seed is in testdata.
func goldenKey(t testing.TB) tokenEd25519 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "ed25519-seed.hex"))
	if err != nil {
		t.Fatal(err)
	}
	seed, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(seed) != ed25519.SeedSize {
		t.Fatalf("testdata/ed25519-seed.hex: want %d hex bytes: %v", ed25519.SeedSize, err)
	}
	return tokenEd25519{ed25519.NewKeyFromSeed(seed)}
}

// TestGolden pins the exact bytes of a certificate and of binary and
// armored signatures made with a fixed key, clock and input. Ed25519 and
// the absence of a salt make them reproducible; a change here changes what
// users verify. Regenerate with: go test ./pkg/pgp -run 'Golden$' -update
func TestGolden(t *testing.T) {
	key := goldenKey(t)
	c, err := NewCertificate(key, goldenUID, testCreated, testCreated.AddDate(10, 0, 0), crypto.SHA512)
	if err != nil {
		t.Fatalf("NewCertificate: %v", err)
	}
	s, err := NewSigner(c, key, crypto.SHA512)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	input := readTestdata(t, "golden-input.txt")
	checkGolden(t, "golden-cert.asc", armoredCert(t, c))
	checkGolden(t, "golden-sig.bin", sign(t, s, input, Options{Time: testSigTime}))
	checkGolden(t, "golden-sig.asc", sign(t, s, input, Options{Time: testSigTime, Armor: true}))
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(filepath.Join("testdata", name), got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want := readTestdata(t, name); !bytes.Equal(got, want) {
		t.Errorf("%s differs from testdata (run with -update if the change is intended):\ngot  %x\nwant %x", name, got, want)
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGoldenVerifies checks the committed golden files with the real
// verifiers, so the pinned bytes are known to be accepted, not just stable.
func TestGoldenVerifies(t *testing.T) {
	gpg, gpgv, sqv := testenv.Tool(t, "gpg"), testenv.Tool(t, "gpgv"), testenv.Tool(t, "sqv")
	cert, input := filepath.Join("testdata", "golden-cert.asc"), filepath.Join("testdata", "golden-input.txt")
	ring := filepath.Join(t.TempDir(), "ring.gpg")
	run(t, true, gpg, "--homedir", gnupgHome(t), "--batch", "--dearmor", "--output", ring, cert)
	for _, sig := range []string{"golden-sig.bin", "golden-sig.asc"} {
		sig = filepath.Join("testdata", sig)
		run(t, true, gpgv, "--homedir", gnupgHome(t), "--keyring", ring, sig, input)
		run(t, true, sqv, "--keyring", cert, sig, input)
	}
}

// goCryptoConfig makes go-crypto write what signstar writes: no salt
// notation, creation time and key flags not critical.
func goCryptoConfig() *packet.Config {
	salt := false
	return &packet.Config{
		NonDeterministicSignaturesViaNotation:            &salt,
		InsecureGenerateNonCriticalSignatureCreationTime: true,
		InsecureGenerateNonCriticalKeyFlags:              true,
	}
}

// TestBuilderMatchesGoCrypto makes the same certificate and signature twice:
// with signstar's packet builder through the token, and with go-crypto's own
// signing code holding the secret key in memory. Ed25519 and RSA PKCS#1 v1.5
// are deterministic, so the bytes must be identical: the builder agrees with
// an independent implementation on trailer, subpackets, MPIs and framing.
// (Without expiry only: go-crypto marks key expiration critical.)
func TestBuilderMatchesGoCrypto(t *testing.T) {
	ed := goldenKey(t)
	rsaKey := testKeys(t)[1].key.(tokenKey).s.(*rsa.PrivateKey)
	tests := []struct {
		name   string
		key    crypto.Signer
		native func(*Certificate) *packet.PrivateKey
	}{
		{"ed25519", ed, func(c *Certificate) *packet.PrivateKey { return nativeEdDSAKey(t, ed.priv, c) }},
		{"rsa3072", tokenKey{rsaKey}, func(*Certificate) *packet.PrivateKey { return packet.NewRSAPrivateKey(testCreated, rsaKey) }},
	}
	notes := []*packet.Notation{{Name: "data-digest@archlinux.org", Value: []byte("x"), IsHumanReadable: true}}
	for _, tt := range tests {
		for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA512} {
			t.Run(fmt.Sprintf("%s/%v", tt.name, h), func(t *testing.T) {
				c, s := newTestSigner(t, tt.key, h)
				native := tt.native(c)
				ours, err := certificateBytes(tt.key, testUID, testCreated, time.Time{}, h)
				if err != nil {
					t.Fatal(err)
				}
				compareBytes(t, "certificate", ours, goCryptoCertificate(t, native, h))
				o := Options{Time: testSigTime, Notations: notes}
				compareBytes(t, "signature", sign(t, s, testData, o), goCryptoSignature(t, native, h, o))
			})
		}
	}
}

func compareBytes(t *testing.T, what string, ours, theirs []byte) {
	t.Helper()
	if !bytes.Equal(ours, theirs) {
		t.Errorf("%s differs from go-crypto's:\nours     %x\ngo-crypto %x", what, ours, theirs)
	}
}

func goCryptoCertificate(t *testing.T, priv *packet.PrivateKey, h crypto.Hash) []byte {
	t.Helper()
	keyID := priv.KeyId
	sig := &packet.Signature{
		Version: 4, SigType: packet.SigTypePositiveCert, PubKeyAlgo: priv.PubKeyAlgo, Hash: h,
		CreationTime: testCreated, IssuerKeyId: &keyID,
		FlagsValid: true, FlagCertify: true, FlagSign: true, PreferredHash: []uint8{10, 8},
	}
	if err := sig.SignUserId(testUID, &priv.PublicKey, priv, goCryptoConfig()); err != nil {
		t.Fatalf("go-crypto SignUserId: %v", err)
	}
	var buf bytes.Buffer
	must(priv.PublicKey.Serialize(&buf))
	must((&packet.UserId{Id: testUID}).Serialize(&buf))
	must(sig.Serialize(&buf))
	return buf.Bytes()
}

func goCryptoSignature(t *testing.T, priv *packet.PrivateKey, h crypto.Hash, o Options) []byte {
	t.Helper()
	keyID := priv.KeyId
	sig := &packet.Signature{
		Version: 4, SigType: packet.SigTypeBinary, PubKeyAlgo: priv.PubKeyAlgo, Hash: h,
		CreationTime: o.Time, IssuerKeyId: &keyID, Notations: o.Notations,
	}
	d := h.New()
	d.Write(testData)
	if err := sig.Sign(d, priv, goCryptoConfig()); err != nil {
		t.Fatalf("go-crypto Sign: %v", err)
	}
	var buf bytes.Buffer
	must(sig.Serialize(&buf))
	return buf.Bytes()
}

// nativeEdDSAKey builds go-crypto's in-memory EdDSA private key for priv by
// parsing an unencrypted secret-key packet (RFC 4880 section 5.5.3): the
// public key body, S2K usage 0, the seed as an MPI, and a two-octet checksum.
func nativeEdDSAKey(t *testing.T, priv ed25519.PrivateKey, c *Certificate) *packet.PrivateKey {
	t.Helper()
	var pub bytes.Buffer
	must(c.key().Serialize(&pub))
	_, body, err := packetBody(pub.Bytes())
	must(err)
	secret := mpi(priv.Seed())
	var sum uint16
	for _, b := range secret {
		sum += uint16(b)
	}
	body = append(append(append(bytes.Clone(body), 0), secret...), byte(sum>>8), byte(sum))
	p, err := packet.Read(bytes.NewReader(append([]byte{0xC5, byte(len(body))}, body...)))
	if err != nil {
		t.Fatalf("parse secret key packet: %v", err)
	}
	return p.(*packet.PrivateKey)
}
