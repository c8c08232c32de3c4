package pgp

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

func TestCertificateRoundTrip(t *testing.T) {
	for _, k := range testKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			c := newTestCert(t, k.key)
			asc := armoredCert(t, c)
			got, err := ReadCertificate(bytes.NewReader(asc))
			if err != nil {
				t.Fatalf("ReadCertificate: %v", err)
			}
			checkSameCert(t, got, c)
			if got.Algorithm() != k.algorithm {
				t.Errorf("Algorithm() = %q, want %q", got.Algorithm(), k.algorithm)
			}
			if again := armoredCert(t, got); !bytes.Equal(again, asc) {
				t.Errorf("armored certificate changed on round trip:\n%s\nwant\n%s", again, asc)
			}
		})
	}
}

func checkSameCert(t *testing.T, got, want *Certificate) {
	t.Helper()
	if !regexp.MustCompile(`^[0-9A-F]{40}$`).MatchString(got.Fingerprint()) {
		t.Errorf("Fingerprint() = %q, want 40 upper-case hex digits", got.Fingerprint())
	}
	if got.Fingerprint() != want.Fingerprint() {
		t.Errorf("fingerprint %s, want %s", got.Fingerprint(), want.Fingerprint())
	}
	if fmt.Sprintf("%016X", got.KeyID()) != got.Fingerprint()[24:] {
		t.Errorf("KeyID %016X is not the low 64 bits of %s", got.KeyID(), got.Fingerprint())
	}
	if !got.Created().Equal(testCreated) || !want.Created().Equal(testCreated) {
		t.Errorf("created %v / %v, want %v", got.Created(), want.Created(), testCreated)
	}
	if got.UserID() != testUID || want.UserID() != testUID {
		t.Errorf("user id %q / %q, want %q", got.UserID(), want.UserID(), testUID)
	}
	if got.Algorithm() != want.Algorithm() {
		t.Errorf("algorithm %q, want %q", got.Algorithm(), want.Algorithm())
	}
}

func TestCertificateMatches(t *testing.T) {
	for _, k := range testKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			c := newTestCert(t, k.key)
			if err := c.Matches(k.key.Public()); err != nil {
				t.Errorf("Matches(own key) = %v, want nil", err)
			}
			if err := c.Matches(k.other.Public()); !errors.Is(err, ErrMismatch) {
				t.Errorf("Matches(other key) = %v, want ErrMismatch", err)
			}
			if _, err := NewSigner(c, k.other, crypto.SHA512); !errors.Is(err, ErrMismatch) {
				t.Errorf("NewSigner(other key) = %v, want ErrMismatch", err)
			}
		})
	}
}

func TestCertificateSelfSignature(t *testing.T) {
	for _, k := range testKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			sig := newTestCert(t, k.key).selfSignature()
			if sig.SigType != packet.SigTypePositiveCert || !sig.FlagCertify || !sig.FlagSign ||
				sig.FlagEncryptCommunications || sig.FlagEncryptStorage {
				t.Errorf("self-signature type %#x flags c=%v s=%v, want 0x13 certify+sign only",
					sig.SigType, sig.FlagCertify, sig.FlagSign)
			}
			if !bytes.Equal(sig.PreferredHash, []byte{10, 8}) {
				t.Errorf("preferred hashes %v, want [10 8] (SHA-512, SHA-256)", sig.PreferredHash)
			}
			for _, n := range sig.Notations {
				t.Errorf("self-signature has notation %q", n.Name)
			}
			if !sig.CreationTime.Equal(testCreated) || sig.KeyLifetimeSecs != nil {
				t.Errorf("self-signature time %v lifetime %v, want %v and none", sig.CreationTime, sig.KeyLifetimeSecs, testCreated)
			}
		})
	}
}

func TestCertificateExpiry(t *testing.T) {
	k := testKeys(t)[0]
	expires := testCreated.AddDate(1, 0, 0)
	c, err := NewCertificate(k.key, testUID, testCreated, expires, crypto.SHA256)
	if err != nil {
		t.Fatalf("NewCertificate: %v", err)
	}
	if l := c.selfSignature().KeyLifetimeSecs; l == nil || int64(*l) != expires.Unix()-testCreated.Unix() {
		t.Fatalf("key lifetime %v, want one year", l)
	}
	s, err := NewSigner(c, k.key, crypto.SHA512)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	tests := []struct {
		name   string
		at     time.Time
		wantOK bool
	}{
		{"before creation", testCreated.Add(-time.Second), false},
		{"at creation", testCreated, true},
		{"within lifetime", expires.Add(-time.Second), true},
		{"after expiry", expires.Add(time.Second), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w writeCounter
			_, err := s.Sign(&w, strings.NewReader("data"), Options{Time: tt.at})
			if (err == nil) != tt.wantOK {
				t.Errorf("Sign at %v: err = %v, want ok=%v", tt.at, err, tt.wantOK)
			}
		})
	}
}

func TestNewCertificateRefuses(t *testing.T) {
	ed := testKeys(t)[0].key
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	must(err)
	p521, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	must(err)
	tests := []struct {
		name    string
		key     crypto.Signer
		uid     string
		created time.Time
		expires time.Time
		hash    crypto.Hash
	}{
		{"sha1", ed, testUID, testCreated, time.Time{}, crypto.SHA1},
		{"sha384", ed, testUID, testCreated, time.Time{}, crypto.SHA384},
		{"empty uid", ed, "", testCreated, time.Time{}, crypto.SHA512},
		{"invalid utf-8 uid", ed, "\xff", testCreated, time.Time{}, crypto.SHA512},
		{"zero created", ed, testUID, time.Time{}, time.Time{}, crypto.SHA512},
		{"created after 2106", ed, testUID, time.Date(2107, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}, crypto.SHA512},
		{"expires before created", ed, testUID, testCreated, testCreated.Add(-time.Hour), crypto.SHA512},
		{"expires at created", ed, testUID, testCreated, testCreated, crypto.SHA512},
		{"rsa1024", tokenKey{small}, testUID, testCreated, time.Time{}, crypto.SHA512},
		{"p521", tokenKey{p521}, testUID, testCreated, time.Time{}, crypto.SHA512},
		{"p384 with sha256", testKeys(t)[4].key, testUID, testCreated, time.Time{}, crypto.SHA256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := NewCertificate(tt.key, tt.uid, tt.created, tt.expires, tt.hash); err == nil {
				t.Errorf("NewCertificate succeeded (%s), want an error", c.Fingerprint())
			}
		})
	}
}

func TestReadCertificateRefuses(t *testing.T) {
	good := armoredCert(t, newTestCert(t, testKeys(t)[0].key))
	twice := armoredCert(t, newTestCert(t, testKeys(t)[3].key))
	secretBin, secretAsc, withSubkey := foreignKeys(t)
	tests := []struct {
		name  string
		input []byte
		want  string
	}{
		{"empty", nil, "empty"},
		{"garbage text", []byte("hello"), "armor"},
		{"garbage binary", []byte{0x99, 0x00, 0x01}, ""},
		{"two certificates", append(dearmorBytes(t, good), dearmorBytes(t, twice)...), "more than one"},
		{"secret key, binary", secretBin, "secret"},
		{"secret key, armored", secretAsc, "PGP PRIVATE KEY BLOCK"},
		{"subkey", withSubkey, "subkeys"},
		{"signature block", []byte(strings.Replace(string(good), "PUBLIC KEY BLOCK", "SIGNATURE", 2)), "PGP SIGNATURE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadCertificate(bytes.NewReader(tt.input))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadCertificate = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
	if _, err := ReadCertificate(bytes.NewReader(dearmorBytes(t, good))); err != nil {
		t.Errorf("ReadCertificate(binary) = %v, want nil", err)
	}
}

// foreignKeys makes keys signstar would never emit, with go-crypto's own
// generator: a secret key (binary and armored) and a certificate with an
// encryption subkey.
func foreignKeys(t *testing.T) (secretBin, secretAsc, withSubkey []byte) {
	t.Helper()
	e, err := openpgp.NewEntity("other", "", "other@example.org", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatalf("NewEntity: %v", err)
	}
	var bin, asc, pub bytes.Buffer
	must(e.SerializePrivate(&bin, nil))
	w, err := armor.Encode(&asc, openpgp.PrivateKeyType, nil)
	must(err)
	must(e.SerializePrivate(w, nil))
	must(w.Close())
	must(e.Serialize(&pub))
	return bin.Bytes(), asc.Bytes(), pub.Bytes()
}

func dearmorBytes(t testing.TB, asc []byte) []byte {
	t.Helper()
	b, err := armor.Decode(bytes.NewReader(asc))
	if err != nil {
		t.Fatalf("armor.Decode: %v", err)
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(b.Body); err != nil {
		t.Fatalf("read armor body: %v", err)
	}
	return out.Bytes()
}
