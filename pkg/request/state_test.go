package request

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"hash"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func sum512(s string) []byte {
	d := sha512.Sum512([]byte(s))
	return d[:]
}

// TestRoundTrip: Go hash → State → NewRequest → Read → Hash gives back the
// hash, whose state has the upstream layout, across block boundaries.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 19, 127, 128, 129, 255, 256, 1000, 100000} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		h := sha512.New()
		h.Write(data)
		state, err := State(h)
		if err != nil {
			t.Fatalf("%d bytes: State: %v", n, err)
		}
		checkLayout(t, state, data)
		doc, err := NewRequest(state)
		if err != nil {
			t.Fatalf("%d bytes: NewRequest: %v", n, err)
		}
		r, err := Read(bytes.NewReader(doc))
		if err != nil {
			t.Fatalf("%d bytes: Read: %v", n, err)
		}
		got, err := r.Hash()
		if err != nil {
			t.Fatalf("%d bytes: Hash: %v", n, err)
		}
		want := sha512.Sum512(data)
		if !bytes.Equal(got.Sum(nil), want[:]) {
			t.Fatalf("%d bytes: digest = %x, want %x", n, got.Sum(nil), want)
		}
		if size, err := r.Size(); size != uint64(n) || err != nil {
			t.Fatalf("%d bytes: Size = %d, %v", n, size, err)
		}
		if again, err := State(got); err != nil || !bytes.Equal(again, state) {
			t.Fatalf("%d bytes: State(Hash()) differs from the request's state", n)
		}
	}
}

// checkLayout checks state against the upstream layout for data.
func checkLayout(t *testing.T, state, data []byte) {
	t.Helper()
	n := len(data)
	if len(state) != stateSize {
		t.Fatalf("%d bytes: state is %d bytes", n, len(state))
	}
	if blocks := binary.LittleEndian.Uint64(state[64:]); blocks != uint64(n/128) {
		t.Errorf("%d bytes: block count %d, want %d", n, blocks, n/128)
	}
	if hi := binary.LittleEndian.Uint64(state[72:]); hi != 0 {
		t.Errorf("%d bytes: block count high word %d", n, hi)
	}
	pending := n % 128
	if int(state[80]) != pending {
		t.Errorf("%d bytes: pending %d, want %d", n, state[80], pending)
	}
	if !bytes.Equal(state[81:81+pending], data[n-pending:]) {
		t.Errorf("%d bytes: buffer does not hold the last %d bytes", n, pending)
	}
	if strings.Trim(string(state[81+pending:]), "\x00") != "" {
		t.Errorf("%d bytes: buffer not zero past the pending bytes", n)
	}
	if n == 0 && binary.LittleEndian.Uint64(state) != 0x6a09e667f3bcc908 {
		t.Errorf("empty state does not start with the SHA-512 IV: %x", state[:8])
	}
}

func TestStateRefusesOtherHashes(t *testing.T) {
	for _, tt := range []struct {
		name string
		h    hash.Hash
	}{
		{"sha384", sha512.New384()},
		{"sha512/256", sha512.New512_256()},
		{"sha512/224", sha512.New512_224()},
		{"sha256", sha256.New()},
		{"crc32", crc32.NewIEEE()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := State(tt.h); err == nil {
				t.Fatalf("State(%s) = %x, want an error", tt.name, s)
			}
		})
	}
}

// TestLargestState: the largest count a uint64 can hold, 2^64-1 bytes, is
// accepted; one more block is not.
func TestLargestState(t *testing.T) {
	s := make([]byte, stateSize)
	binary.LittleEndian.PutUint64(s[64:], 1<<57-1)
	s[80] = 127
	r := &Request{State: s}
	if n, err := r.Size(); err != nil || n != math.MaxUint64 {
		t.Fatalf("Size = %d, %v; want 2^64-1", n, err)
	}
	h, err := r.Hash()
	if err != nil {
		t.Fatal(err)
	}
	if back, err := State(h); err != nil || !bytes.Equal(back, s) {
		t.Fatalf("State(Hash()) = %x, %v; want %x", back, err, s)
	}
	binary.LittleEndian.PutUint64(s[64:], 1<<57)
	s[80] = 0
	if _, err := r.Hash(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Hash of 2^64 bytes: %v, want ErrInvalid", err)
	}
}

func TestHashInvalidState(t *testing.T) {
	r := &Request{State: []byte{1, 2, 3}}
	if _, err := r.Hash(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Hash: %v", err)
	}
	if _, err := r.FileDigest(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("FileDigest: %v", err)
	}
	if _, err := r.Size(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Size: %v", err)
	}
}
