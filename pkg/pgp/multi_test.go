package pgp

import (
	"bytes"
	"crypto"
	"crypto/elliptic"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"signstar/internal/verifytest"
)

// countingReader counts the bytes read through it: SignAll must read its
// input once, not once per key.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestSignAll: one output, a signature by each of two keys of different
// hashes, read once; gpgv and gpg report each key's signature good with
// its own certificate alone and both with both, sqv accepts it with
// either; a changed input has no good signature.
func TestSignAll(t *testing.T) {
	oldCert, old := newTestSigner(t, newEd25519(), crypto.SHA512)
	newCert, nw := newTestSigner(t, newECDSA(elliptic.P256()), crypto.SHA256)
	oldAsc, newAsc := armoredCert(t, oldCert), armoredCert(t, newCert)
	oldFpr, newFpr := oldCert.Fingerprint(), newCert.Fingerprint()
	data := []byte(clearTextSample)
	keyrings := []struct {
		name  string
		certs [][]byte
		want  []string
	}{
		{"old", [][]byte{oldAsc}, []string{oldFpr}},
		{"new", [][]byte{newAsc}, []string{newFpr}},
		{"both", [][]byte{oldAsc, newAsc}, []string{oldFpr, newFpr}},
	}
	forms := []struct {
		name  string
		o     Options
		clear bool
	}{
		{"binary", Options{Time: testCreated}, false},
		{"armor", Options{Time: testCreated, Armor: true}, false},
		{"text", Options{Time: testCreated, Text: true}, false},
		{"clearsign", Options{Time: testCreated}, true},
	}
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			in := &countingReader{r: bytes.NewReader(data)}
			var out bytes.Buffer
			sign := SignAll
			if f.clear {
				sign = ClearSignAll
			}
			d, err := sign(&out, in, []*Signer{old, nw}, f.o, keyNotes)
			if err != nil {
				t.Fatalf("sign: %v", err)
			}
			if in.n != len(data) || d.Size != int64(len(data)) {
				t.Errorf("read %d bytes, digest size %d; want %d once", in.n, d.Size, len(data))
			}
			checkTwoKeyOutput(t, out.Bytes(), f.o.Armor || f.clear, f.clear)
			signed, tampered := data, append([]byte("X"), data...)
			if f.clear {
				signed, tampered = nil, nil
			}
			for _, kr := range keyrings {
				for tool, good := range map[string][]string{
					"gpgv": verifytest.GPGVSigners(t, kr.certs, signed, out.Bytes()),
					"gpg":  verifytest.GPGSigners(t, kr.certs, signed, out.Bytes()),
				} {
					if !slices.Equal(good, kr.want) {
						t.Errorf("%s with keyring %s: good signatures by %v, want %v", tool, kr.name, good, kr.want)
					}
				}
				if f.clear {
					msg := verifytest.TamperClear(t, out.Bytes())
					if good := verifytest.GPGVSigners(t, kr.certs, nil, msg); len(good) != 0 {
						t.Errorf("gpgv with keyring %s: good signatures by %v in a changed message", kr.name, good)
					}
					continue
				}
				if good, err := verifytest.SQVSigners(t, kr.certs, signed, out.Bytes()); err != nil || !slices.Equal(good, slices.Sorted(slices.Values(kr.want))) {
					t.Errorf("sqv with keyring %s: %v, %v; want %v", kr.name, good, err, kr.want)
				}
				if good := verifytest.GPGVSigners(t, kr.certs, tampered, out.Bytes()); len(good) != 0 {
					t.Errorf("gpgv with keyring %s: good signatures by %v over a changed input", kr.name, good)
				}
			}
		})
	}
}

// keyNotes are the two keys' own notations, as the config sets them.
var keyNotes = [][]*packet.Notation{
	{{Name: "key@example.org", Value: []byte("old"), IsHumanReadable: true}},
	{{Name: "key@example.org", Value: []byte("new"), IsHumanReadable: true}},
}

// clearTextSample has what cleartext framing must get right.
const clearTextSample = "Origin: signstar\r\nLabel: test  \n-----BEGIN PGP SIGNATURE-----\n- dash\nFrom here\n"

// checkTwoKeyOutput: one armor block (or none), holding two signatures;
// a cleartext message names both hashes, as gpg does.
func checkTwoKeyOutput(t *testing.T, out []byte, armored, clear bool) {
	t.Helper()
	if n := bytes.Count(append([]byte("\n"), out...), []byte("\n-----BEGIN PGP SIGNATURE-----")); n != map[bool]int{true: 1, false: 0}[armored] {
		t.Errorf("%d armor blocks", n)
	}
	if clear && !bytes.HasPrefix(out, []byte("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512,SHA256\n\n")) {
		t.Errorf("message starts %q, want both hashes in its Hash header", out[:min(len(out), 60)])
	}
	if clear {
		out = out[bytes.Index(out, []byte("\n-----BEGIN PGP SIGNATURE-----"))+1:]
	}
	sigs, err := readSignatures(bytes.NewReader(out))
	if err != nil || len(sigs) != 2 {
		t.Fatalf("read %d signatures (%v), want 2", len(sigs), err)
	}
	for i, want := range []string{"old", "new"} {
		if ns := sigs[i].Notations; len(ns) != 1 || string(ns[0].Value) != want {
			t.Errorf("signature %d has notations %v, want its own key's (%q)", i, ns, want)
		}
	}
}

// TestSignAllRefusals: a key whose token hashes the input itself cannot
// join several, and nothing is read or written; empty input is refused.
func TestSignAllRefusals(t *testing.T) {
	_, a := newTestSigner(t, newEd25519(), crypto.SHA512)
	_, b := newTestSigner(t, newEd25519(), crypto.SHA512)
	mk, _ := newMessageKey(t)
	_, m := newTestSigner(t, mk, crypto.SHA512)
	tests := []struct {
		name    string
		signers []*Signer
		input   string
		want    error
	}{
		{"message signer", []*Signer{a, m}, "data", ErrNeedsMessage},
		{"empty", []*Signer{a, b}, "", ErrEmptyInput},
	}
	for _, tt := range tests {
		for _, sign := range []func(io.Writer, io.Reader, []*Signer, Options, [][]*packet.Notation) (Digest, error){SignAll, ClearSignAll} {
			in := &countingReader{r: strings.NewReader(tt.input)}
			var out bytes.Buffer
			_, err := sign(&out, in, tt.signers, Options{Time: testCreated}, nil)
			if !errors.Is(err, tt.want) || out.Len() != 0 {
				t.Errorf("%s: %v, %d bytes out; want %v and nothing", tt.name, err, out.Len(), tt.want)
			}
			if tt.want == ErrNeedsMessage && in.n != 0 {
				t.Errorf("%s: read %d bytes before refusing", tt.name, in.n)
			}
		}
	}
}
