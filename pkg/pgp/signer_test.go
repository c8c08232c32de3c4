package pgp

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

var testData = []byte("signstar: the quick brown fox signs the lazy dog\n")

func TestSignVerify(t *testing.T) {
	for _, k := range testKeys(t) {
		for _, h := range k.hashes() {
			for _, armor := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%v/armor=%v", k.name, h, armor), func(t *testing.T) {
					c, s := newTestSigner(t, k.key, h)
					sig := sign(t, s, testData, Options{Armor: armor, Time: testSigTime})
					if got := bytes.HasPrefix(sig, []byte("-----BEGIN PGP SIGNATURE-----")); got != armor {
						t.Errorf("armored output = %v, want %v", got, armor)
					}
					if err := Verify(c, bytes.NewReader(sig), bytes.NewReader(testData)); err != nil {
						t.Errorf("Verify = %v, want nil", err)
					}
					checkTamperedFails(t, c, sig)
				})
			}
		}
	}
}

// checkTamperedFails flips each bit position class in turn: any changed
// input byte must fail verification.
func checkTamperedFails(t *testing.T, c *Certificate, sig []byte) {
	t.Helper()
	for _, i := range []int{0, len(testData) / 2, len(testData) - 1} {
		bad := bytes.Clone(testData)
		bad[i] ^= 0x01
		if err := Verify(c, bytes.NewReader(sig), bytes.NewReader(bad)); err == nil {
			t.Errorf("Verify accepted input with byte %d flipped", i)
		}
	}
}

func TestSignDigest(t *testing.T) {
	_, s := newTestSigner(t, testKeys(t)[0].key, crypto.SHA256)
	d, err := s.Sign(io.Discard, bytes.NewReader(testData), Options{Time: testSigTime})
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	want256, want512 := sha256.Sum256(testData), sha512.Sum512(testData)
	if d.Size != int64(len(testData)) || !bytes.Equal(d.SHA256, want256[:]) || !bytes.Equal(d.SHA512, want512[:]) {
		t.Errorf("Digest = {%d %x %x}, want {%d %x %x}", d.Size, d.SHA256, d.SHA512, len(testData), want256, want512)
	}
}

func TestSignaturePacket(t *testing.T) {
	digest := &packet.Notation{Name: "data-digest@archlinux.org", Value: []byte("sha256:abc"), IsHumanReadable: true}
	for _, k := range testKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			c, s := newTestSigner(t, k.key, crypto.SHA512)
			p := parseSigPacket(t, sign(t, s, testData, Options{Time: testSigTime, Notations: []*packet.Notation{digest}}))
			if p.version != 4 || p.sigType != 0x00 || p.algo != k.wantAlgo || p.hash != 10 {
				t.Errorf("version %d type %#x algo %d hash %d, want 4, 0x00, %d, 10 (SHA-512)",
					p.version, p.sigType, p.algo, p.hash, k.wantAlgo)
			}
			checkSubpackets(t, c, p.hashed, []string{digest.Name})
		})
	}
}

// checkSubpackets checks the hashed area: creation time (type 2), issuer key
// ID (16), issuer fingerprint (33), and exactly the notations (20) named;
// none critical, as old rpm and yum refuse critical subpackets.
func checkSubpackets(t *testing.T, c *Certificate, hashed []parsedSubpacket, wantNotations []string) {
	t.Helper()
	seen := map[byte]bool{}
	var notations []string
	for _, sp := range hashed {
		seen[sp.typ] = true
		if sp.critical {
			t.Errorf("subpacket type %d is critical", sp.typ)
		}
		switch sp.typ {
		case 2:
			if got := binary.BigEndian.Uint32(sp.data); int64(got) != testSigTime.Unix() {
				t.Errorf("creation time %d, want %d", got, testSigTime.Unix())
			}
		case 16:
			if got := binary.BigEndian.Uint64(sp.data); got != c.KeyID() {
				t.Errorf("issuer key id %016X, want %016X", got, c.KeyID())
			}
		case 33:
			if got := fmt.Sprintf("%X", sp.data); got != "04"+c.Fingerprint() {
				t.Errorf("issuer fingerprint %s, want 04%s", got, c.Fingerprint())
			}
		case 20:
			notations = append(notations, notationName(sp.data))
		}
	}
	if !seen[2] || !seen[16] || !seen[33] {
		t.Errorf("hashed subpacket types %v, want 2, 16 and 33", seen)
	}
	if strings.Join(notations, ",") != strings.Join(wantNotations, ",") {
		t.Errorf("notations %q, want %q (never %s)", notations, wantNotations, packet.SaltNotationName)
	}
}

func TestSignaturesAreDeterministic(t *testing.T) {
	for _, k := range testKeys(t)[:3] { // Ed25519 and RSA PKCS#1 v1.5; ECDSA is randomized
		t.Run(k.name, func(t *testing.T) {
			_, s := newTestSigner(t, k.key, crypto.SHA512)
			o := Options{Time: testSigTime}
			if a, b := sign(t, s, testData, o), sign(t, s, testData, o); !bytes.Equal(a, b) {
				t.Errorf("two signatures over the same input and time differ")
			}
		})
	}
}

func TestSignRefusesAndWritesNothing(t *testing.T) {
	errBoom := errors.New("boom")
	ed := testKeys(t)[0].key
	_, s := newTestSigner(t, ed, crypto.SHA512)
	tests := []struct {
		name    string
		input   io.Reader
		o       Options
		wantErr error
	}{
		{"empty input", strings.NewReader(""), Options{}, ErrEmptyInput},
		{"reader fails midway", io.MultiReader(bytes.NewReader(make([]byte, 3*bufSize)), iotest.ErrReader(errBoom)), Options{}, errBoom},
		{"time before key creation", bytes.NewReader(testData), Options{Time: testCreated.AddDate(0, 0, -1)}, nil},
		{"salt notation", bytes.NewReader(testData), Options{Notations: []*packet.Notation{{Name: packet.SaltNotationName}}}, nil},
		{"nil notation", bytes.NewReader(testData), Options{Notations: []*packet.Notation{nil}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w writeCounter
			_, err := s.Sign(&w, tt.input, tt.o)
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Errorf("Sign = %v, want error %v", err, tt.wantErr)
			}
			if w.writes != 0 {
				t.Errorf("Sign wrote %d times despite failing", w.writes)
			}
		})
	}
}

func TestSignCatchesTokenFaults(t *testing.T) {
	for _, k := range testKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			if c, err := NewCertificate(corruptToken{k.key}, testUID, testCreated, time.Time{}, crypto.SHA512); err == nil {
				t.Errorf("NewCertificate with a faulty token succeeded (%s)", c.Fingerprint())
			}
			c := newTestCert(t, k.key)
			s, err := NewSigner(c, corruptToken{k.key}, crypto.SHA512)
			if err != nil {
				t.Fatalf("NewSigner: %v", err)
			}
			for _, armor := range []bool{false, true} {
				var w writeCounter
				if _, err := s.Sign(&w, bytes.NewReader(testData), Options{Armor: armor, Time: testSigTime}); err == nil {
					t.Errorf("Sign with a faulty token succeeded")
				}
				if w.writes != 0 {
					t.Errorf("Sign wrote %d times despite the fault", w.writes)
				}
				if sig, err := s.SignHash(sha512.New(), Options{Armor: armor}); err == nil {
					t.Errorf("SignHash with a faulty token returned %d bytes", len(sig))
				}
			}
		})
	}
}

func TestNewSignerRefuses(t *testing.T) {
	k := testKeys(t)[0]
	c := newTestCert(t, k.key)
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA384, crypto.SHA3_512, crypto.Hash(0)} {
		if _, err := NewSigner(c, k.key, h); err == nil {
			t.Errorf("NewSigner(%v) succeeded, want an error", h)
		}
	}
	p384 := testKeys(t)[4]
	if _, err := NewSigner(newTestCert(t, p384.key), p384.key, crypto.SHA256); err == nil {
		t.Errorf("NewSigner(p384, SHA-256) succeeded, want an error")
	}
}

func TestSignHash(t *testing.T) {
	for _, k := range testKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			c, s := newTestSigner(t, k.key, crypto.SHA512)
			h := rebuiltSHA512(t, testData)
			for _, armor := range []bool{false, true} {
				sig, err := s.SignHash(h, Options{Armor: armor, Time: testSigTime})
				if err != nil {
					t.Fatalf("SignHash: %v", err)
				}
				if err := Verify(c, bytes.NewReader(sig), bytes.NewReader(testData)); err != nil {
					t.Errorf("Verify(SignHash, armor=%v) = %v", armor, err)
				}
			}
			if sum, want := h.Sum(nil), sha512.Sum512(testData); !bytes.Equal(sum, want[:]) {
				t.Errorf("SignHash changed the caller's hash")
			}
		})
	}
}

// rebuiltSHA512 absorbs data, serializes the state and rebuilds a hash from
// it, as the server does with a client's state.
func rebuiltSHA512(t *testing.T, data []byte) hash.Hash {
	t.Helper()
	client := sha512.New()
	client.Write(data)
	state, err := client.(encoding.BinaryMarshaler).MarshalBinary()
	must(err)
	server := sha512.New()
	must(server.(encoding.BinaryUnmarshaler).UnmarshalBinary(state))
	return server
}

func TestSignHashRefusesOtherHashTypes(t *testing.T) {
	_, s := newTestSigner(t, testKeys(t)[0].key, crypto.SHA512)
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512_256} {
		hh := h.New()
		hh.Write(testData)
		if sig, err := s.SignHash(hh, Options{Time: testSigTime}); err == nil {
			t.Errorf("SHA-512 signer signed a %v state (%d bytes)", h, len(sig))
		}
	}
}

func TestVerifyRefuses(t *testing.T) {
	k := testKeys(t)[0]
	c, s := newTestSigner(t, k.key, crypto.SHA512)
	sig := sign(t, s, testData, Options{Time: testSigTime})
	other := newTestCert(t, k.other)
	tests := []struct {
		name string
		cert *Certificate
		sig  []byte
	}{
		{"other certificate", other, sig},
		{"empty signature", c, nil},
		{"two signatures", c, append(bytes.Clone(sig), sig...)},
		{"truncated", c, sig[:len(sig)-1]},
		{"certificate as signature", c, armoredCert(t, c)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Verify(tt.cert, bytes.NewReader(tt.sig), bytes.NewReader(testData)); err == nil {
				t.Errorf("Verify succeeded, want an error")
			}
		})
	}
}

// patternReader generates n bytes without allocating.
type patternReader struct{ left int64 }

func (r *patternReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	for i := range p {
		p[i] = byte(i)
	}
	r.left -= int64(len(p))
	return len(p), nil
}

func TestSignMemoryIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes 256 MiB")
	}
	const size, budget = 256 << 20, 2 << 20
	_, s := newTestSigner(t, testKeys(t)[0].key, crypto.SHA512)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d, err := s.Sign(io.Discard, &patternReader{left: size}, Options{Time: testSigTime})
	runtime.ReadMemStats(&after)
	if err != nil || d.Size != size {
		t.Fatalf("Sign = %d bytes, %v; want %d, nil", d.Size, err, size)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	if alloc > budget {
		t.Errorf("signing %d MiB allocated %d KiB, want under %d KiB", size>>20, alloc>>10, budget>>10)
	}
	t.Logf("signing %d MiB allocated %d KiB", size>>20, alloc>>10)
}

func BenchmarkSign(b *testing.B) {
	data := bytes.Repeat([]byte{0x5a}, 1024)
	for _, k := range testKeys(b) {
		b.Run(k.name, func(b *testing.B) {
			_, s := newTestSigner(b, k.key, crypto.SHA512)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Sign(io.Discard, bytes.NewReader(data), Options{Time: testSigTime}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
