package keyring

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"signstar/pkg/pgp"
)

// events is what happened during one signature, in order.
type events []string

func (e *events) add(s string) { *e = append(*e, s) }

// fakeLock is a token lock that notes each release and each retake.
type fakeLock struct {
	ev   *events
	held bool
}

func (l *fakeLock) ReleaseLock() error { l.ev.add("release"); l.held = false; return nil }
func (l *fakeLock) ReacquireLock() error {
	l.ev.add("lock")
	l.held = true
	return nil
}

// fakeToken is a key on a token that notes when it signs.
type fakeToken struct {
	crypto.Signer
	ev *events
}

func (k fakeToken) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	k.ev.add("token")
	return k.Signer.Sign(r, digest, opts)
}

// fakeMessageToken hashes the input itself, as RSA keys on tpm2-pkcs11 do.
type fakeMessageToken struct {
	priv *rsa.PrivateKey
	ev   *events
}

func (k fakeMessageToken) Public() crypto.PublicKey { return k.priv.Public() }
func (k fakeMessageToken) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("message key asked to sign a digest")
}

func (k fakeMessageToken) SignMessage(r io.Reader, h crypto.Hash) ([]byte, error) {
	k.ev.add("token")
	d := h.New()
	if _, err := io.Copy(d, r); err != nil {
		return nil, err
	}
	return rsa.SignPKCS1v15(rand.Reader, k.priv, h, d.Sum(nil))
}

// fakeInput notes its first read and then reads s, or fails with err.
type fakeInput struct {
	ev   *events
	r    io.Reader
	err  error
	read bool
}

func (in *fakeInput) Read(p []byte) (int, error) {
	if !in.read {
		in.ev.add("read")
		in.read = true
	}
	if in.err != nil {
		return 0, in.err
	}
	return in.r.Read(p)
}

// newFakeKey makes a Key on a fake token whose lock is held, as Open
// leaves it, and clears the events certifying it made.
func newFakeKey(t *testing.T, message bool) (*Key, *fakeLock, *events) {
	t.Helper()
	ev := &events{}
	var priv crypto.Signer = fakeToken{ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)), ev}
	if message {
		rk, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		priv = fakeMessageToken{rk, ev}
	}
	cert, err := pgp.NewCertificate(priv, "fake <fake@example.org>", created, created.AddDate(10, 0, 0), crypto.SHA512)
	if err != nil {
		t.Fatal(err)
	}
	lock := &fakeLock{ev: ev, held: true}
	k, err := newKey("fake", cert, priv, crypto.SHA512, lock)
	if err != nil {
		t.Fatal(err)
	}
	*ev = nil
	return k, lock, ev
}

// readAll is a SignHash read function that hashes all of r with SHA-512.
func readAll(r io.Reader) (HashedInput, error) {
	h := sha512.New()
	if _, err := io.Copy(h, r); err != nil {
		return HashedInput{}, err
	}
	return HashedInput{Hash: h}, nil
}

// TestSignLockOrder: Sign and SignHash let the token lock go before the
// input is read and take it back, after Ready, before the token signs;
// for a key whose token reads the input itself, before the input is read.
// Whatever happens they return with the lock held, and Ready's error as
// it is.
func TestSignLockOrder(t *testing.T) {
	errGone, errRead := errors.New("client gone"), errors.New("connection reset")
	sign := func(k *Key, r io.Reader, o SignOptions) error {
		_, err := k.Sign(io.Discard, r, o)
		return err
	}
	signHash := func(k *Key, r io.Reader, o SignOptions) error {
		_, err := k.SignHash(r, readAll, o)
		return err
	}
	signText := func(k *Key, r io.Reader, o SignOptions) error {
		o.Text = true
		_, err := k.Sign(io.Discard, r, o)
		return err
	}
	clearSign := func(k *Key, r io.Reader, o SignOptions) error {
		_, err := k.ClearSign(io.Discard, r, o)
		return err
	}
	// signWith reads all of r, then has the key sign its SHA-512, as
	// the X.509 formats do.
	signWith := func(k *Key, r io.Reader, o SignOptions) error {
		_, err := k.SignWith(r, func(r io.Reader, key crypto.Signer) ([]byte, error) {
			h := sha512.New()
			if _, err := io.Copy(h, r); err != nil {
				return nil, err
			}
			return key.Sign(rand.Reader, h.Sum(nil), crypto.Hash(0))
		}, o)
		return err
	}
	tests := []struct {
		name     string
		message  bool // a key whose token hashes the input itself
		sign     func(*Key, io.Reader, SignOptions) error
		input    string
		readErr  error
		readyErr error
		want     string
		wantErr  error
	}{
		{"Sign", false, sign, "data", nil, nil, "release read ready lock token", nil},
		{"SignHash", false, signHash, "data", nil, nil, "release read ready lock token", nil},
		{"Sign, token reads", true, sign, "data", nil, nil, "release ready lock token read", nil},
		{"Sign, Ready fails", false, sign, "data", nil, errGone, "release read ready lock", errGone},
		{"SignHash, Ready fails", false, signHash, "data", nil, errGone, "release read ready lock", errGone},
		{"Sign, token reads, Ready fails", true, sign, "data", nil, errGone, "release ready lock", errGone},
		{"Sign, input fails", false, sign, "data", errRead, nil, "release read lock", errRead},
		{"SignHash, input fails", false, signHash, "data", errRead, nil, "release read lock", errRead},
		{"Sign, empty input", false, sign, "", nil, nil, "release read lock", pgp.ErrEmptyInput},
		{"SignHash, token reads", true, signHash, "data", nil, nil, "", pgp.ErrNeedsMessage},
		{"Sign text", false, signText, "data\n", nil, nil, "release read ready lock token", nil},
		{"Sign text, token reads", true, signText, "data\n", nil, nil, "release ready lock token read", nil},
		{"Sign text, not text", false, signText, "\x00", nil, nil, "release read lock", pgp.ErrNotText},
		{"ClearSign", false, clearSign, "data\n", nil, nil, "release read ready lock token", nil},
		{"ClearSign, token reads", true, clearSign, "data\n", nil, nil, "release ready lock token read", nil},
		{"ClearSign, Ready fails", false, clearSign, "data\n", nil, errGone, "release read ready lock", errGone},
		{"ClearSign, input fails", false, clearSign, "data", errRead, nil, "release read lock", errRead},
		{"ClearSign, not text", false, clearSign, "\xff", nil, nil, "release read lock", pgp.ErrNotText},
		{"SignWith", false, signWith, "data", nil, nil, "release read ready lock token", nil},
		{"SignWith, Ready fails", false, signWith, "data", nil, errGone, "release read ready lock", errGone},
		{"SignWith, input fails", false, signWith, "data", errRead, nil, "release read lock", errRead},
		{"SignWith, token reads", true, signWith, "data", nil, nil, "", pgp.ErrNeedsMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, lock, ev := newFakeKey(t, tt.message)
			in := &fakeInput{ev: ev, r: strings.NewReader(tt.input), err: tt.readErr}
			o := SignOptions{Ready: func() error { ev.add("ready"); return tt.readyErr }}
			err := tt.sign(k, in, o)
			if got := strings.Join(*ev, " "); got != tt.want {
				t.Errorf("events %q, want %q", got, tt.want)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
			if tt.readyErr != nil && err != tt.readyErr {
				t.Errorf("error %q, want Ready's error as it is", err)
			}
			if !lock.held {
				t.Error("returned without the lock")
			}
		})
	}
}

// TestSignHashNotations: the read function's notations describe the
// input and come first, then the caller's.
func TestSignHashNotations(t *testing.T) {
	k, _, _ := newFakeKey(t, false)
	note := func(name string) *packet.Notation {
		return &packet.Notation{Name: name, Value: []byte("v"), IsHumanReadable: true}
	}
	read := func(r io.Reader) (HashedInput, error) {
		in, err := readAll(r)
		in.Notations = []*packet.Notation{note("input@example.org")}
		return in, err
	}
	o := SignOptions{Options: pgp.Options{Notations: []*packet.Notation{note("key@example.org")}}}
	sig, err := k.SignHash(strings.NewReader("data"), read, o)
	if err != nil {
		t.Fatal(err)
	}
	p, err := packet.Read(bytes.NewReader(sig))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range p.(*packet.Signature).Notations {
		got = append(got, n.Name)
	}
	if want := []string{"input@example.org", "key@example.org"}; !slices.Equal(got, want) {
		t.Errorf("notations %q, want %q", got, want)
	}
}
