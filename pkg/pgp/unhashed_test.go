package pgp

import (
	"bytes"
	"crypto"
	"encoding/binary"
	"strconv"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// TestAddUnhashedNotation gives every signature packet of each form
// signstar releases its own notation in the unhashed area and checks that
// the output keeps its form and still verifies, one signature by each key.
func TestAddUnhashedNotation(t *testing.T) {
	ks := testKeys(t)
	c1, s1 := newTestSigner(t, ks[0].key, crypto.SHA512)
	c2, s2 := newTestSigner(t, ks[3].key, crypto.SHA256)
	data := []byte("signed text\n-dash line\n")
	forms := []struct {
		name   string
		armor  bool
		clear  bool
		prefix string
	}{
		{"binary", false, false, "\xc2"},
		{"armored", true, false, "-----BEGIN PGP SIGNATURE-----\n"},
		{"cleartext", true, true, "-----BEGIN PGP SIGNED MESSAGE-----\n"},
	}
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			var out bytes.Buffer
			sign := SignAll
			if f.clear {
				sign = ClearSignAll
			}
			if _, err := sign(&out, bytes.NewReader(data), []*Signer{s1, s2}, Options{Armor: f.armor, Time: testSigTime}, nil); err != nil {
				t.Fatal(err)
			}
			o, err := SplitOutput(out.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if len(o.Packets) != 2 {
				t.Fatalf("%d packets, want 2", len(o.Packets))
			}
			for i := range o.Packets {
				n := &packet.Notation{Name: "log-index@signstar", Value: []byte(strconv.Itoa(40 + i)), IsHumanReadable: true, IsCritical: true}
				if o.Packets[i], err = AddUnhashedNotation(o.Packets[i], n); err != nil {
					t.Fatal(err)
				}
			}
			got, err := o.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(got), f.prefix) {
				t.Errorf("output starts %q, want %q", got[:min(len(got), 40)], f.prefix)
			}
			if f.clear {
				err = VerifyClear([]*Certificate{c1, c2}, got, bytes.NewReader(data))
			} else {
				err = VerifyDetached([]*Certificate{c1, c2}, got, bytes.NewReader(data))
			}
			if err != nil {
				t.Fatalf("signature with the notation: %v", err)
			}
			again, err := SplitOutput(got)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range again.Packets {
				sps := unhashedOf(t, p)
				if len(sps) != 1 || sps[0].typ != subNotation || sps[0].critical || notationName(sps[0].data) != "log-index@signstar" {
					t.Fatalf("packet %d unhashed area %+v, want one non-critical log-index@signstar notation", i, sps)
				}
				if v := string(sps[0].data[8+len("log-index@signstar"):]); v != strconv.Itoa(40+i) {
					t.Errorf("packet %d notation value %q, want %d", i, v, 40+i)
				}
			}
		})
	}
}

func TestAddUnhashedNotationRefuses(t *testing.T) {
	n := &packet.Notation{Name: "log-index@signstar", Value: []byte("1")}
	for name, b := range map[string][]byte{
		"empty":      nil,
		"not packet": []byte("hello"),
		"user id":    packetBytes(13, []byte("uid")),
		"v3":         packetBytes(tagSignature, []byte{3, 0, 0, 0, 0, 0, 0, 0}),
		"truncated":  packetBytes(tagSignature, []byte{4, 0, 1, 8, 0, 9}),
		"trailing":   append(packetBytes(tagSignature, []byte{4, 0, 1, 8, 0, 0, 0, 0, 1, 2}), 0),
	} {
		if _, err := AddUnhashedNotation(b, n); err == nil {
			t.Errorf("%s: added a notation", name)
		}
	}
	if _, err := SplitOutput([]byte("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\ntext\n")); err == nil {
		t.Error("split a cleartext message without a signature")
	}
}

// unhashedOf parses a v4 signature packet's unhashed area.
func unhashedOf(t *testing.T, p []byte) []parsedSubpacket {
	t.Helper()
	_, body, err := packetBody(p)
	if err != nil {
		t.Fatal(err)
	}
	end := 6 + int(binary.BigEndian.Uint16(body[4:6]))
	n := int(binary.BigEndian.Uint16(body[end : end+2]))
	sps, err := subpackets(body[end+2 : end+2+n])
	if err != nil {
		t.Fatal(err)
	}
	return sps
}
