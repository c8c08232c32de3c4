package main

// Per-key notations end to end: the config adds two, and every signature
// the key makes carries them in its hashed area, after signstar's own.

import (
	"bytes"
	"crypto/sha512"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"signstar/internal/verifytest"
	"signstar/pkg/request"
)

const twoNotations = `notations = [
  { name = "build-host@example.org", value = "sign1.example.org" },
  { name = "policy@example.org", value = "https://example.org/p", human-readable = false },
]
`

// notation is one notation subpacket as it sits in a signature packet.
type notation struct {
	name, value string
	readable    bool // 0x80 of the first flag octet
	critical    bool // 0x80 of the subpacket type
	otherFlags  bool // any flag bit but the human-readable one
}

func (n notation) String() string {
	return fmt.Sprintf("%s=%q readable=%v critical=%v other-flags=%v", n.name, n.value, n.readable, n.critical, n.otherFlags)
}

var configNotations = []string{
	notation{name: "build-host@example.org", value: "sign1.example.org", readable: true}.String(),
	notation{name: "policy@example.org", value: "https://example.org/p"}.String(),
}

func TestKeyNotations(t *testing.T) {
	f := newFixture(t)
	cert := f.generate("k", "ed25519")
	f.appendConfig(twoNotations)

	list := string(f.ok(nil, "key", "list"))
	if !strings.Contains(list, "NOTATIONS") || !strings.Contains(list,
		`build-host@example.org="sign1.example.org", policy@example.org="https://example.org/p" (not human-readable)`) {
		t.Errorf("key list does not show the notations:\n%s", list)
	}

	data := sample(t)
	for _, args := range [][]string{{"sign"}, {"sign", "--key", "k", "--armor"}} {
		sig := f.ok(data, args...)
		verifytest.All(t, cert, data, sig)
		checkNotations(t, sig, configNotations)
	}

	// A digest-only request, in each state layout: signstar's notation
	// first, then the key's.
	for _, tt := range []struct {
		name      string
		data, doc []byte
	}{
		{"208-byte state", data, newRequest(t, data)},
		{"210-byte state", []byte("I like strawberries\n"), readFile(t, "../../testdata/signstar-request-v1/sample-request-legacy-210.json")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := f.shell("sign --request", tt.doc)
			if r.code != 0 {
				t.Fatalf("sign --request: exit %d: %s", r.code, r.stderr)
			}
			sig, err := request.ReadResponse(bytes.NewReader(r.stdout))
			if err != nil {
				t.Fatalf("response: %v", err)
			}
			verifytest.All(t, cert, tt.data, sig)
			digest := sha512.Sum512(tt.data)
			want := append([]string{notation{name: request.DigestNotationName, value: string(digest[:])}.String()}, configNotations...)
			checkNotations(t, sig, want)
		})
	}
}

// TestNoNotations: a key without notations signs as before: no notation
// at all on a signature of the artifact.
func TestNoNotations(t *testing.T) {
	f := newFixture(t)
	f.generate("k", "p256")
	sig := f.ok([]byte("x\n"), "sign")
	checkNotations(t, sig, nil)
	if list := string(f.ok(nil, "key", "list")); !strings.Contains(list, "NOTATIONS") {
		t.Errorf("key list has no NOTATIONS column:\n%s", list)
	}
}

// appendConfig adds lines to the config: to the table of the key
// generated last.
func (f *fixture) appendConfig(lines string) {
	f.t.Helper()
	fh, err := os.OpenFile(f.conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteString(lines); err != nil {
		f.t.Fatal(err)
	}
}

func newRequest(t *testing.T, data []byte) []byte {
	t.Helper()
	h := sha512.New()
	h.Write(data)
	state, err := request.State(h)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := request.NewRequest(state)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkNotations asserts that sig's hashed area holds exactly the
// notations want, in that order, and its unhashed area none; and that
// go-crypto, parsing the same packet, agrees.
func checkNotations(t *testing.T, sig []byte, want []string) {
	t.Helper()
	body := signatureBody(t, sig)
	hashed, unhashed := sigAreas(t, body)
	var got []string
	for _, n := range subpacketNotations(t, hashed) {
		got = append(got, n.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("hashed notations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := subpacketNotations(t, unhashed); len(n) != 0 {
		t.Errorf("unhashed area holds notations %v", n)
	}
	p, err := packet.Read(bytes.NewReader(packetBytes(t, sig)))
	if err != nil {
		t.Fatalf("go-crypto: %v", err)
	}
	s, ok := p.(*packet.Signature)
	if !ok {
		t.Fatalf("go-crypto read a %T", p)
	}
	var gc []string
	for _, n := range s.Notations {
		gc = append(gc, notation{name: n.Name, value: string(n.Value), readable: n.IsHumanReadable, critical: n.IsCritical}.String())
	}
	if !slices.Equal(gc, want) {
		t.Errorf("go-crypto reads notations:\n%s\nwant:\n%s", strings.Join(gc, "\n"), strings.Join(want, "\n"))
	}
}

// packetBytes is sig without its ASCII armor.
func packetBytes(t *testing.T, sig []byte) []byte {
	t.Helper()
	if !bytes.HasPrefix(sig, []byte("-----BEGIN")) {
		return sig
	}
	block, err := armor.Decode(bytes.NewReader(sig))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(block.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signatureBody is the body of the one new-format signature packet (tag
// 2) in sig (RFC 4880 section 4.2.2).
func signatureBody(t *testing.T, sig []byte) []byte {
	t.Helper()
	b := packetBytes(t, sig)
	if len(b) < 2 || b[0] != 0xc2 {
		t.Fatalf("not a new-format signature packet: % x", b[:min(len(b), 8)])
	}
	n, rest := subpacketLength(t, b[1:])
	if n != len(rest) {
		t.Fatalf("packet length %d, %d bytes follow", n, len(rest))
	}
	return rest
}

// sigAreas splits a v4 signature body into its hashed and unhashed
// subpacket areas (RFC 4880 section 5.2.3).
func sigAreas(t *testing.T, body []byte) (hashed, unhashed []byte) {
	t.Helper()
	if len(body) < 6 || body[0] != 4 {
		t.Fatalf("not a v4 signature: % x", body[:min(len(body), 6)])
	}
	hl := be16(body[4:])
	if len(body) < 8+hl {
		t.Fatal("hashed area overruns the packet")
	}
	hashed, rest := body[6:6+hl], body[6+hl:]
	ul := be16(rest)
	if len(rest) < 2+ul {
		t.Fatal("unhashed area overruns the packet")
	}
	return hashed, rest[2 : 2+ul]
}

// subpacketLength reads a one-, two- or five-octet length (RFC 4880
// section 5.2.3.1) and returns it with what follows.
func subpacketLength(t *testing.T, b []byte) (int, []byte) {
	t.Helper()
	switch {
	case len(b) >= 1 && b[0] < 192:
		return int(b[0]), b[1:]
	case len(b) >= 2 && b[0] < 255:
		return (int(b[0])-192)<<8 + int(b[1]) + 192, b[2:]
	case len(b) >= 5:
		return be16(b[1:])<<16 | be16(b[3:]), b[5:]
	}
	t.Fatal("truncated length")
	return 0, nil
}

// subpacketNotations returns the notation data subpackets (type 20,
// section 5.2.3.16) in area.
func subpacketNotations(t *testing.T, area []byte) []notation {
	t.Helper()
	var out []notation
	for len(area) > 0 {
		n, rest := subpacketLength(t, area)
		if n < 1 || n > len(rest) {
			t.Fatalf("subpacket length %d, %d bytes left", n, len(rest))
		}
		typ, data := rest[0], rest[1:n]
		area = rest[n:]
		if typ&0x7f != 20 {
			continue
		}
		if len(data) < 8 {
			t.Fatalf("notation subpacket of %d bytes", len(data))
		}
		nl, vl := be16(data[4:]), be16(data[6:])
		if len(data) != 8+nl+vl {
			t.Fatalf("notation of %d bytes, name %d and value %d", len(data), nl, vl)
		}
		out = append(out, notation{
			name: string(data[8 : 8+nl]), value: string(data[8+nl:]),
			readable: data[0]&0x80 != 0, critical: typ&0x80 != 0,
			otherFlags: data[0]&0x7f != 0 || data[1] != 0 || data[2] != 0 || data[3] != 0,
		})
	}
	return out
}

// be16 reads a big-endian two-octet number, as every length in a packet is.
func be16(b []byte) int { return int(b[0])<<8 | int(b[1]) }
