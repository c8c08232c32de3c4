package pgp

import (
	"bytes"
	"crypto"
	"crypto/dsa"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	goecdsa "github.com/ProtonMail/go-crypto/openpgp/ecdsa"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// newEntity makes a key as go-crypto's NewEntity does: a primary key of
// cfg's algorithm that certifies and signs, one user ID and an ECDH (or
// RSA) encryption subkey.
func newEntity(t testing.TB, cfg *packet.Config) *openpgp.Entity {
	t.Helper()
	e, err := openpgp.NewEntity("Secret Test", "", "secret@example.org", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// entityOf certifies a user ID for signer as a v4 primary key, for key
// types NewEntity does not make (DSA, small RSA, e = 257).
func entityOf(t testing.TB, signer crypto.Signer) *openpgp.Entity {
	t.Helper()
	return entityOfKey(t, packet.NewSignerPrivateKey(time.Now().Add(-time.Hour), signer))
}

func entityOfKey(t testing.TB, pk *packet.PrivateKey) *openpgp.Entity {
	t.Helper()
	e := &openpgp.Entity{PrimaryKey: &pk.PublicKey, PrivateKey: pk, Identities: map[string]*openpgp.Identity{}}
	if err := e.AddUserId("Secret Test", "", "secret@example.org", &packet.Config{DefaultHash: crypto.SHA256}); err != nil {
		t.Fatal(err)
	}
	return e
}

// secretBytes is e's transferable secret key, armored or binary.
func secretBytes(t testing.TB, e *openpgp.Entity, armored bool) []byte {
	t.Helper()
	var bin bytes.Buffer
	if err := e.SerializePrivateWithoutSigning(&bin, nil); err != nil {
		t.Fatal(err)
	}
	if !armored {
		return bin.Bytes()
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	must(err)
	w.Write(bin.Bytes())
	must(w.Close())
	return buf.Bytes()
}

func TestReadSecretKey(t *testing.T) {
	tests := []struct {
		name    string
		cfg     *packet.Config
		wantAlg string
	}{
		{"ed25519", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519}, "ed25519"},
		{"rsa2048", &packet.Config{Algorithm: packet.PubKeyAlgoRSA, RSABits: 2048}, "rsa2048"},
		{"p256", &packet.Config{Algorithm: packet.PubKeyAlgoECDSA, Curve: packet.CurveNistP256}, "p256"},
		{"p384", &packet.Config{Algorithm: packet.PubKeyAlgoECDSA, Curve: packet.CurveNistP384}, "p384"},
	}
	for _, tt := range tests {
		for _, armored := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/armored=%v", tt.name, armored), func(t *testing.T) {
				e := newEntity(t, tt.cfg)
				k, err := ReadSecretKey(secretBytes(t, e, armored), SecretKeyOptions{})
				if err != nil {
					t.Fatal(err)
				}
				want := fmt.Sprintf("%X", e.PrimaryKey.Fingerprint)
				if k.Fingerprint != want || k.Cert == nil || k.Cert.Fingerprint() != want || k.Subkey {
					t.Fatalf("fingerprint %s, certificate %v, subkey %v; want %s and its certificate", k.Fingerprint, k.Cert, k.Subkey, want)
				}
				if k.Algorithm != tt.wantAlg {
					t.Errorf("algorithm %q, want %q", k.Algorithm, tt.wantAlg)
				}
				if !k.Cert.Created().Equal(e.PrimaryKey.CreationTime) || k.Cert.UserID() != "Secret Test <secret@example.org>" {
					t.Errorf("certificate created %v for %q", k.Cert.Created(), k.Cert.UserID())
				}
				if err := secretMatches(k); err != nil {
					t.Fatal(err)
				}
				if len(k.LeftOut) != 1 || !strings.Contains(k.LeftOut[0], "not imported") {
					t.Errorf("left out %q, want the encryption subkey", k.LeftOut)
				}
				k.Wipe()
				if !wiped(k.Secret) {
					t.Error("secret not zero after Wipe")
				}
			})
		}
	}
}

// secretMatches checks that k's secret is the private half of k.Public.
func secretMatches(k *SecretKey) error {
	s := k.Secret
	switch pub := k.Public.(type) {
	case ed25519.PublicKey:
		if !ed25519.NewKeyFromSeed(s.Seed).Public().(ed25519.PublicKey).Equal(pub) {
			return errors.New("ed25519 seed is not the public key's")
		}
	case *ecdsa.PublicKey:
		priv, err := ecdsa.ParseRawPrivateKey(pub.Curve, s.D)
		if err != nil || !priv.PublicKey.Equal(pub) {
			return fmt.Errorf("ecdsa scalar is not the public key's (%v)", err)
		}
	case *rsa.PublicKey:
		n := new(big.Int).Mul(new(big.Int).SetBytes(s.P), new(big.Int).SetBytes(s.Q))
		p, q := new(big.Int).SetBytes(s.P), new(big.Int).SetBytes(s.Q)
		qinv := new(big.Int).Mul(q, new(big.Int).SetBytes(s.QInv))
		if n.Cmp(pub.N) != 0 || qinv.Mod(qinv, p).Cmp(big.NewInt(1)) != 0 {
			return errors.New("rsa primes or coefficient are not the public key's")
		}
	default:
		return fmt.Errorf("public key of type %T", k.Public)
	}
	return nil
}

func wiped(s Secret) bool {
	for _, b := range [][]byte{s.Seed, s.D, s.P, s.Q, s.DP, s.DQ, s.QInv} {
		if len(bytes.Trim(b, "\x00")) != 0 {
			return false
		}
	}
	return true
}

// gpgSecretKeys are keys gpg 2.2 made with --quick-gen-key and exported
// with --export-secret-keys --armor, for test only; the protected one's
// passphrase is gpgPassphrase.
var gpgSecretKeys = []string{"secret-ed25519.asc", "secret-rsa2048.asc", "secret-ed25519-cv25519.asc", "secret-p256-protected.asc"}

const gpgPassphrase = "signstar-test"

// TestReadSecretKeyGPG reads keys as gpg exports them (old-format packet
// headers, gpg's S2K and checksums).
func TestReadSecretKeyGPG(t *testing.T) {
	tests := []struct {
		file      string
		wantAlg   string
		leftOut   int
		protected bool
	}{
		{"secret-ed25519.asc", "ed25519", 0, false},
		{"secret-rsa2048.asc", "rsa2048", 0, false},
		{"secret-ed25519-cv25519.asc", "ed25519", 1, false},
		{"secret-p256-protected.asc", "p256", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var opts SecretKeyOptions
			if tt.protected {
				opts.Passphrase = []byte(gpgPassphrase)
			}
			k, err := ReadSecretKey(readTestdata(t, tt.file), opts)
			if err != nil {
				t.Fatal(err)
			}
			if k.Algorithm != tt.wantAlg || len(k.LeftOut) != tt.leftOut || k.Cert == nil || k.Cert.Fingerprint() != k.Fingerprint {
				t.Fatalf("%s key %s, certificate %v, left out %q", k.Algorithm, k.Fingerprint, k.Cert, k.LeftOut)
			}
			if err := secretMatches(k); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestReadSecretKeyPassphrase: a protected key is refused without its
// passphrase and with a wrong one.
func TestReadSecretKeyPassphrase(t *testing.T) {
	e := newEntity(t, &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519})
	if err := e.EncryptPrivateKeys([]byte("correct horse"), nil); err != nil {
		t.Fatal(err)
	}
	data := secretBytes(t, e, true)
	tests := []struct {
		name    string
		pass    string
		wantErr error
	}{
		{"no passphrase", "", ErrEncrypted},
		{"wrong passphrase", "battery staple", ErrBadPassphrase},
		{"right passphrase", "correct horse", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ReadSecretKey(data, SecretKeyOptions{Passphrase: []byte(tt.pass)})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if err == nil {
				if err := secretMatches(k); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestReadSecretKeyRefuses(t *testing.T) {
	ed := newEntity(t, &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519})
	ecdhFpr := fmt.Sprintf("%X", ed.Subkeys[0].PublicKey.Fingerprint)
	var dsaKey dsa.PrivateKey
	must(dsa.GenerateParameters(&dsaKey.Parameters, rand.Reader, dsa.L1024N160))
	must(dsa.GenerateKey(&dsaKey, rand.Reader))
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	must(err)
	var public bytes.Buffer
	must(ed.Serialize(&public))
	two := append(secretBytes(t, ed, false), secretBytes(t, ed, false)...)
	tests := []struct {
		name string
		data []byte
		opts SecretKeyOptions
		want string
	}{
		{"dsa", secretBytes(t, entityOfKey(t, packet.NewDSAPrivateKey(time.Now(), &dsaKey)), true), SecretKeyOptions{}, "unsupported algorithm dsa1024"},
		{"rsa 1024", secretBytes(t, entityOf(t, rsa1024), true), SecretKeyOptions{}, "unsupported algorithm: rsa1024"},
		{"ecdh subkey", secretBytes(t, ed, true), SecretKeyOptions{Subkey: ecdhFpr}, "(ecdh-curve25519) may not sign"},
		{"unknown subkey", secretBytes(t, ed, true), SecretKeyOptions{Subkey: strings.Repeat("0", 40)}, "no key 0000"},
		{"public certificate", public.Bytes(), SecretKeyOptions{}, "no secret key"},
		{"two keys", two, SecretKeyOptions{}, "more than one key"},
		{"empty", nil, SecretKeyOptions{}, "input is empty"},
		{"text", []byte("hello\n"), SecretKeyOptions{}, "neither OpenPGP packets nor ASCII armor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadSecretKey(tt.data, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

// TestReadSecretKeyScalarRange: an ECDSA secret d + n, which go-crypto's
// check (d times the base point is the public key) lets through, is
// refused rather than taken (or crashing the conversion).
func TestReadSecretKeyScalarRange(t *testing.T) {
	e := newEntity(t, &packet.Config{Algorithm: packet.PubKeyAlgoECDSA, Curve: packet.CurveNistP256})
	d := e.PrivateKey.PrivateKey.(*goecdsa.PrivateKey).D
	d.Add(d, elliptic.P256().Params().N)
	_, err := ReadSecretKey(secretBytes(t, e, true), SecretKeyOptions{})
	if err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Fatalf("error %v, want the secret refused as out of range", err)
	}
}

// TestReadSecretKeySubkey takes a signing subkey instead of the primary.
func TestReadSecretKeySubkey(t *testing.T) {
	e := newEntity(t, &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519})
	must(e.AddSigningSubkey(&packet.Config{Algorithm: packet.PubKeyAlgoECDSA, Curve: packet.CurveNistP256}))
	sub := e.Subkeys[1].PublicKey
	want := fmt.Sprintf("%X", sub.Fingerprint)
	// Spaced and lower case, as gpg --fingerprint prints it.
	spaced := strings.ToLower(want[:20] + " " + want[20:])
	k, err := ReadSecretKey(secretBytes(t, e, true), SecretKeyOptions{Subkey: spaced})
	if err != nil {
		t.Fatal(err)
	}
	if !k.Subkey || k.Cert != nil || k.Fingerprint != want || k.Algorithm != "p256" || !k.Created.Equal(sub.CreationTime) {
		t.Fatalf("subkey %v, cert %v, fingerprint %s, %s created %v; want the subkey %s", k.Subkey, k.Cert, k.Fingerprint, k.Algorithm, k.Created, want)
	}
	if k.UserID != "Secret Test <secret@example.org>" {
		t.Errorf("user id %q", k.UserID)
	}
	left := strings.Join(k.LeftOut, "\n")
	if !strings.Contains(left, "primary key") || !strings.Contains(left, "ecdh-curve25519") {
		t.Errorf("left out %q, want the primary key and the encryption subkey", left)
	}
	if err := secretMatches(k); err != nil {
		t.Fatal(err)
	}
}

// TestReadSecretKeyShortSeed: an Ed25519 seed with a leading zero byte is
// a 31-byte MPI on the wire (RFC 4880 section 3.2), the case upstream
// Signstar fixed; the seed read back is 32 bytes again.
func TestReadSecretKeyShortSeed(t *testing.T) {
	seed := make([]byte, 32)
	for seed[0] = 1; seed[0] != 0; {
		rand.Read(seed)
	}
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519,
		Rand: io.MultiReader(bytes.NewReader(seed), rand.Reader)}
	e := newEntity(t, cfg)
	var pkt bytes.Buffer
	must(e.PrivateKey.Serialize(&pkt))
	// The packet ends in the secret MPI and a two-octet checksum (RFC
	// 4880 section 5.5.3).
	b := pkt.Bytes()
	mpiBits := int(b[len(b)-2-31-2])<<8 | int(b[len(b)-2-31-1])
	if mpiBits > 248 {
		t.Fatalf("secret MPI of %d bits, want 31 bytes or fewer", mpiBits)
	}
	k, err := ReadSecretKey(secretBytes(t, e, false), SecretKeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k.Secret.Seed, seed) {
		t.Fatalf("seed %x, want %x", k.Secret.Seed, seed)
	}
}

// TestReadSecretKeyE257 reads an RSA key with public exponent 257, built
// from primes since crypto/rsa generates e = 65537 only.
func TestReadSecretKeyE257(t *testing.T) {
	one := big.NewInt(1)
	var priv *rsa.PrivateKey
	for priv == nil {
		p, _ := rand.Prime(rand.Reader, 1024)
		q, _ := rand.Prime(rand.Reader, 1024)
		n := new(big.Int).Mul(p, q)
		phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
		d := new(big.Int).ModInverse(big.NewInt(257), phi)
		if p.Cmp(q) != 0 && n.BitLen() == 2048 && d != nil {
			priv = &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: 257}, D: d, Primes: []*big.Int{p, q}}
		}
	}
	priv.Precompute()
	must(priv.Validate())
	k, err := ReadSecretKey(secretBytes(t, entityOf(t, priv), true), SecretKeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pub := k.Public.(*rsa.PublicKey); pub.E != 257 {
		t.Fatalf("e = %d, want 257", pub.E)
	}
	if err := secretMatches(k); err != nil {
		t.Fatal(err)
	}
}

// FuzzReadSecretKey: whatever ReadSecretKey accepts is consistent: the
// secret is the public key's private half, the fingerprint the one the
// public key has at its creation time, and the certificate (for a
// primary key) has that fingerprint too; Wipe zeroes the secret.
func FuzzReadSecretKey(f *testing.F) {
	// Keys gpg made, read from files: generating an RSA key in every
	// fuzz worker would take most of a short run.
	for _, name := range gpgSecretKeys {
		asc := readTestdata(f, name)
		f.Add(asc, false)
		f.Add(dearmorBytes(f, asc), true)
	}
	f.Fuzz(func(t *testing.T, in []byte, withPassphrase bool) {
		var opts SecretKeyOptions
		if withPassphrase {
			opts.Passphrase = []byte(gpgPassphrase)
		}
		k, err := ReadSecretKey(in, opts)
		if err != nil {
			return
		}
		if err := secretMatches(k); err != nil {
			t.Fatal(err)
		}
		pk, err := publicKey(k.Public, k.Created)
		if err != nil || fmt.Sprintf("%X", pk.Fingerprint) != k.Fingerprint {
			t.Fatalf("fingerprint %s is not the public key's (%v)", k.Fingerprint, err)
		}
		if (k.Cert == nil) != k.Subkey || k.Cert != nil && k.Cert.Fingerprint() != k.Fingerprint {
			t.Fatalf("certificate %v for key %s (subkey %v)", k.Cert, k.Fingerprint, k.Subkey)
		}
		k.Wipe()
		if !wiped(k.Secret) {
			t.Fatal("secret not zero after Wipe")
		}
	})
}
