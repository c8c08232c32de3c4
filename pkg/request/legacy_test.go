package request

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"
)

// legacyDigest is sha512("I like strawberries\n"), what
// sample-request-legacy-210.json finalizes to.
const legacyDigest = "55b956f9bb40752fa328c93523a9775aa84e1d2014372779fdcb9f525528e91ad00d6f3d5d64c71fb98cc3725c766ced6498d4b1bd3892cc894ceb1f65011337"

// asLegacy is a 208-byte state in the 210-byte layout of
// signstar-request-signature 0.1.x: the output size 64 after the block
// count, and the buffer's last byte (always zero) written out.
func asLegacy(s []byte) []byte {
	out := append(bytes.Clone(s[:80]), 64)
	out = append(out, s[80:]...)
	return append(out, 0)
}

// asCurrent is the 208-byte spelling of an accepted state: itself, or a
// 210-byte one less its output-size byte and its last byte.
func asCurrent(s []byte) []byte {
	if len(s) != 210 {
		return s
	}
	return append(bytes.Clone(s[:80]), s[81:209]...)
}

func TestLegacySampleRequest(t *testing.T) {
	r, err := Read(bytes.NewReader(readVector(t, "sample-request-legacy-210.json")))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if r.Version != "1.0.0" || r.RequestTime != 1728913277 || len(r.State) != 210 {
		t.Fatalf("Read = version %q, request-time %d, %d state bytes", r.Version, r.RequestTime, len(r.State))
	}
	d, err := r.FileDigest()
	if err != nil || hex.EncodeToString(d) != legacyDigest {
		t.Fatalf("FileDigest = %x, %v; want %s", d, err, legacyDigest)
	}
	if want := sum512("I like strawberries\n"); !bytes.Equal(d, want) {
		t.Fatalf("FileDigest = %x, want sha512 of the text %x", d, want)
	}
	if n, err := r.Size(); n != 20 || err != nil {
		t.Fatalf("Size = %d, %v; want 20", n, err)
	}
	h, err := r.Hash()
	if err != nil {
		t.Fatal(err)
	}
	if s, err := State(h); err != nil || !bytes.Equal(s, asCurrent(r.State)) {
		t.Fatalf("State(Hash()) = %x, %v; want the 208-byte layout %x", s, err, asCurrent(r.State))
	}
	h.Write([]byte("and bananas\n"))
	if got, want := h.Sum(nil), sum512("I like strawberries\nand bananas\n"); !bytes.Equal(got, want) {
		t.Fatalf("continued hash = %x, want %x", got, want)
	}
}

// TestReadLegacy: the 210-byte layout is held to the same rules as the
// 208-byte one, at its own offsets, and its output size must be 64.
func TestReadLegacy(t *testing.T) {
	sample := func(edit func(s []byte)) []byte {
		r, err := Read(bytes.NewReader(readVector(t, "sample-request-legacy-210.json")))
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(r.State)
		}
		return r.State
	}
	tests := []struct {
		name    string
		state   []byte
		wantErr string
	}{
		{"valid", sample(nil), ""},
		{"converted sample", asLegacy(sampleState(t, nil)), ""},
		{"output size 32 (SHA-512/256)", sample(func(s []byte) { s[80] = 32 }),
			"required.input.content: output size (byte 80 of a 210-byte state) is 32, want 64"},
		{"output size 48 (SHA-384)", sample(func(s []byte) { s[80] = 48 }), "output size (byte 80 of a 210-byte state) is 48, want 64"},
		{"output size 0", sample(func(s []byte) { s[80] = 0 }), "output size (byte 80 of a 210-byte state) is 0, want 64"},
		{"output size 65", sample(func(s []byte) { s[80] = 65 }), "output size (byte 80 of a 210-byte state) is 65, want 64"},
		{"pending 128", sample(func(s []byte) { s[81] = 128 }),
			"required.input.content: pending count (byte 81) is 128, over 127"},
		{"non-zero past pending", sample(func(s []byte) { s[82+20] = 1 }),
			"required.input.content: byte 102 is past the 20 pending bytes but not zero"},
		{"non-zero last byte", sample(func(s []byte) { s[209] = 1 }), "byte 209 is past the 20 pending bytes"},
		{"pending 127, last byte set", sample(func(s []byte) { s[81] = 127; s[209] = 1 }), "byte 209 is past the 127 pending bytes"},
		{"block count high word", sample(func(s []byte) { s[72] = 1 }), "required.input.content: block count over 2^57"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validDoc(tt.state).String()
			r, err := Read(strings.NewReader(d))
			if tt.wantErr != "" {
				if r != nil {
					t.Errorf("Read returned a request with an error")
				}
				checkInvalid(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if !bytes.Equal(r.State, tt.state) {
				t.Fatalf("Read state = %x, want %x", r.State, tt.state)
			}
		})
	}
}

// TestLegacyRoundTrip: a Go hash's state, rewritten in the 210-byte layout,
// gives back the same digest and size across block boundaries, and its hash
// serializes to the 208-byte layout.
func TestLegacyRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 20, 127, 128, 129, 255, 256, 1000, 100000} {
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
		doc, err := NewRequest(asLegacy(state))
		if err != nil {
			t.Fatalf("%d bytes: NewRequest: %v", n, err)
		}
		r, err := Read(bytes.NewReader(doc))
		if err != nil {
			t.Fatalf("%d bytes: Read: %v", n, err)
		}
		want := sha512.Sum512(data)
		if d, err := r.FileDigest(); err != nil || !bytes.Equal(d, want[:]) {
			t.Fatalf("%d bytes: FileDigest = %x, %v; want %x", n, d, err, want)
		}
		if size, err := r.Size(); size != uint64(n) || err != nil {
			t.Fatalf("%d bytes: Size = %d, %v", n, size, err)
		}
		got, err := r.Hash()
		if err != nil {
			t.Fatal(err)
		}
		if again, err := State(got); err != nil || !bytes.Equal(again, state) {
			t.Fatalf("%d bytes: State(Hash()) = %x, %v; want %x", n, again, err, state)
		}
	}
}
