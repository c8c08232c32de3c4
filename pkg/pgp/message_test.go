package pgp

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// messageKey signs like tpm2-pkcs11's RSA keys: whole messages, which it
// hashes itself, and never a digest.
type messageKey struct {
	priv    *rsa.PrivateKey
	corrupt bool
}

func (k messageKey) Public() crypto.PublicKey { return k.priv.Public() }

func (k messageKey) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("message key asked to sign a digest")
}

func (k messageKey) SignMessage(r io.Reader, h crypto.Hash) ([]byte, error) {
	d := h.New()
	if _, err := io.Copy(d, r); err != nil {
		return nil, err
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.priv, h, d.Sum(nil))
	if err == nil && k.corrupt {
		sig[len(sig)-1] ^= 0x01
	}
	return sig, err
}

func newMessageKey(t *testing.T) (messageKey, crypto.Signer) {
	priv := testKeys(t)[1].key.(tokenKey).s.(*rsa.PrivateKey) // rsa3072
	return messageKey{priv: priv}, tokenKey{priv}
}

// TestMessageSignerMatchesDigestSigner: PKCS#1 v1.5 is deterministic, so a
// key that hashes the message itself must give exactly the bytes of the
// same key signing a digest: certificate, signature and reported digests.
func TestMessageSignerMatchesDigestSigner(t *testing.T) {
	msg, digest := newMessageKey(t)
	if !bytes.Equal(armoredCert(t, newTestCert(t, msg)), armoredCert(t, newTestCert(t, digest))) {
		t.Fatal("certificates differ")
	}
	data := bytes.Repeat(testData, 3*bufSize/len(testData)) // several reads
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA512} {
		t.Run(fmt.Sprint(h), func(t *testing.T) {
			c, ms := newTestSigner(t, msg, h)
			_, ds := newTestSigner(t, digest, h)
			var got, want bytes.Buffer
			gotD, err := ms.Sign(&got, bytes.NewReader(data), Options{Time: testSigTime})
			if err != nil {
				t.Fatalf("Sign with message key: %v", err)
			}
			wantD, err := ds.Sign(&want, bytes.NewReader(data), Options{Time: testSigTime})
			if err != nil {
				t.Fatalf("Sign with digest key: %v", err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Error("signatures differ")
			}
			if gotD.Size != wantD.Size || !bytes.Equal(gotD.SHA256, wantD.SHA256) || !bytes.Equal(gotD.SHA512, wantD.SHA512) {
				t.Errorf("digest %+v, want %+v", gotD, wantD)
			}
			if err := Verify(c, &got, bytes.NewReader(data)); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

func TestMessageSignerRefusesAndWritesNothing(t *testing.T) {
	msg, _ := newMessageKey(t)
	_, s := newTestSigner(t, msg, crypto.SHA512)
	c := newTestCert(t, msg)
	bad, err := NewSigner(c, messageKey{priv: msg.priv, corrupt: true}, crypto.SHA512)
	if err != nil {
		t.Fatal(err)
	}
	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		s       *Signer
		input   io.Reader
		wantErr error
	}{
		{"empty input", s, strings.NewReader(""), ErrEmptyInput},
		{"reader fails midway", s, io.MultiReader(bytes.NewReader(make([]byte, 3*bufSize)), iotest.ErrReader(errBoom)), errBoom},
		{"token fault", bad, bytes.NewReader(testData), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w writeCounter
			_, err := tt.s.Sign(&w, tt.input, Options{})
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Errorf("Sign = %v, want error %v", err, tt.wantErr)
			}
			if w.writes != 0 {
				t.Errorf("Sign wrote %d times despite failing", w.writes)
			}
		})
	}
	if _, err := s.SignHash(crypto.SHA512.New(), Options{}); !errors.Is(err, ErrNeedsMessage) {
		t.Errorf("SignHash = %v, want %v", err, ErrNeedsMessage)
	}
}

// TestMessageSignerReadsFirst: the token reads the input as it streams, so
// Sign reads nothing before it calls SignMessage; package keyring takes
// the token lock back there.
func TestMessageSignerReadsFirst(t *testing.T) {
	msg, _ := newMessageKey(t)
	key := &enteredKey{messageKey: msg}
	_, s := newTestSigner(t, key, crypto.SHA512)
	key.entered = false // certifying signed already
	var readFirst bool
	r := readFunc(func(p []byte) (int, error) {
		if !key.entered {
			readFirst = true
		}
		return strings.NewReader("x").Read(p[:1])
	})
	if _, err := s.Sign(io.Discard, io.LimitReader(r, 5), Options{}); err != nil {
		t.Fatal(err)
	}
	if readFirst {
		t.Error("input was read before SignMessage was called")
	}
}

// enteredKey is a messageKey that notes when SignMessage is called.
type enteredKey struct {
	messageKey
	entered bool
}

func (k *enteredKey) SignMessage(r io.Reader, h crypto.Hash) ([]byte, error) {
	k.entered = true
	return k.messageKey.SignMessage(r, h)
}

type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }
