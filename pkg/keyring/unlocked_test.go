package keyring

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

// TestUnlocked: the lock is let go while f runs and back when Unlocked
// returns, whatever f returned; a signature inside f still takes the lock
// before the token signs.
func TestUnlocked(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		f       func(k *Key, l *fakeLock) error
		wantErr error
		want    []string
	}{
		{"nothing", func(k *Key, l *fakeLock) error {
			if l.held {
				t.Error("lock held inside Unlocked")
			}
			return nil
		}, nil, []string{"release", "lock"}},
		{"f fails", func(*Key, *fakeLock) error { return boom }, boom, []string{"release", "lock"}},
		{"f signs", func(k *Key, l *fakeLock) error {
			_, err := k.SignHash(bytes.NewReader([]byte("data")), readAll, SignOptions{})
			return err
		}, nil, []string{"release", "release", "lock", "token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, lock, ev := newFakeKey(t, false)
			if err := k.Unlocked(func() error { return tt.f(k, lock) }); err != tt.wantErr {
				t.Fatalf("Unlocked = %v, want %v", err, tt.wantErr)
			}
			if !lock.held || !slices.Equal(*ev, tt.want) {
				t.Fatalf("events %v, lock held %v; want %v and held", *ev, lock.held, tt.want)
			}
		})
	}
}
