package keyring

import (
	"crypto"
	"crypto/ed25519"
	"errors"
	"io"
	"strings"
	"testing"

	"signstar/pkg/pgp"
)

// newFakePair makes a second key on the token of k (same lock, same
// events), as [Keyring.Key] does for a second name.
func newFakePair(t *testing.T, message bool) ([]*Key, *fakeLock, *events) {
	t.Helper()
	k, lock, ev := newFakeKey(t, message)
	seed := make([]byte, ed25519.SeedSize)
	seed[0] = 1
	priv := fakeToken{ed25519.NewKeyFromSeed(seed), ev}
	cert, err := pgp.NewCertificate(priv, "second <second@example.org>", created, created.AddDate(10, 0, 0), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := newKey("second", cert, priv, crypto.SHA256, lock)
	if err != nil {
		t.Fatal(err)
	}
	*ev = nil
	return []*Key{k2, k}, lock, ev
}

// TestSignAllLockOrder: signing with two keys lets the lock go before the
// input is read, once for each key's guard, and takes it back after Ready
// (run once) before the first key signs; the second key finds it held.
// Whatever happens, SignAll returns with the lock held and Ready's error
// as it is.
func TestSignAllLockOrder(t *testing.T) {
	errGone, errRead := errors.New("client gone"), errors.New("connection reset")
	tests := []struct {
		name     string
		message  bool
		clear    bool
		input    string
		readErr  error
		readyErr error
		want     string
		wantErr  error
	}{
		{"SignAll", false, false, "data", nil, nil, "release release read ready lock token lock token", nil},
		{"ClearSignAll", false, true, "data\n", nil, nil, "release release read ready lock token lock token", nil},
		{"Ready fails", false, false, "data", nil, errGone, "release release read ready lock lock", errGone},
		{"input fails", false, false, "data", errRead, nil, "release release read lock lock", errRead},
		{"not text", false, true, "\x00", nil, nil, "release release read lock lock", pgp.ErrNotText},
		{"token reads", true, false, "data", nil, nil, "release release lock lock", pgp.ErrNeedsMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, lock, ev := newFakePair(t, tt.message)
			in := &fakeInput{ev: ev, r: strings.NewReader(tt.input), err: tt.readErr}
			o := SignOptions{Ready: func() error { ev.add("ready"); return tt.readyErr }}
			sign := SignAll
			if tt.clear {
				sign = ClearSignAll
			}
			_, err := sign(ks, io.Discard, in, o, nil)
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
