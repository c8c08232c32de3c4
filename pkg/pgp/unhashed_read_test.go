package pgp

import (
	"bytes"
	"crypto"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// TestUnhashedNotation reads back what AddUnhashedNotation wrote into a
// real signature packet, and nothing from one without it.
func TestUnhashedNotation(t *testing.T) {
	sig := testSignaturePacket(t)
	if _, ok, err := UnhashedNotation(sig, "log-index@signstar"); ok || err != nil {
		t.Fatalf("a fresh signature has a notation: %v %v", ok, err)
	}
	with, err := AddUnhashedNotation(sig, &packet.Notation{Name: "log-index@signstar", Value: []byte("41"), IsHumanReadable: true})
	if err != nil {
		t.Fatal(err)
	}
	v, ok, err := UnhashedNotation(with, "log-index@signstar")
	if !ok || err != nil || !bytes.Equal(v, []byte("41")) {
		t.Fatalf("UnhashedNotation = %q %v %v, want 41", v, ok, err)
	}
	twice, _ := AddUnhashedNotation(with, &packet.Notation{Name: "log-index@signstar", Value: []byte("42")})
	if _, _, err := UnhashedNotation(twice, "log-index@signstar"); err == nil {
		t.Fatal("two notations of one name read as one")
	}
	if _, _, err := UnhashedNotation(with[:len(with)-70], "log-index@signstar"); err == nil {
		t.Fatal("a cut packet read")
	}
}

// FuzzUnhashedNotation: whatever the bytes, no panic, and a value found
// is inside them.
func FuzzUnhashedNotation(f *testing.F) {
	sig := testSignaturePacket(f)
	with, _ := AddUnhashedNotation(sig, &packet.Notation{Name: "log-index@signstar", Value: []byte("7")})
	f.Add(sig)
	f.Add(with)
	f.Fuzz(func(t *testing.T, b []byte) {
		v, ok, err := UnhashedNotation(b, "log-index@signstar")
		if ok && (err != nil || !bytes.Contains(b, v)) {
			t.Fatalf("value %q not from the packet", v)
		}
	})
}

// testSignaturePacket is a binary detached signature by the golden key:
// one v4 signature packet.
func testSignaturePacket(t testing.TB) []byte {
	t.Helper()
	_, s := newTestSigner(t, goldenKey(t), crypto.SHA512)
	return sign(t, s, []byte("data\n"), Options{})
}
