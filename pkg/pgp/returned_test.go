package pgp

import (
	"bytes"
	"crypto"
	"crypto/elliptic"
	"strings"
	"testing"
)

func TestVerifyDetached(t *testing.T) {
	data := []byte("Origin: test\nLabel: test\n")
	c1, s1 := newTestSigner(t, newEd25519(), crypto.SHA512)
	c2, s2 := newTestSigner(t, newRSA(2048), crypto.SHA256)
	var both bytes.Buffer
	if _, err := SignAll(&both, bytes.NewReader(data), []*Signer{s1, s2}, Options{}, nil); err != nil {
		t.Fatal(err)
	}
	text := sign(t, s1, data, Options{Text: true, Armor: true})
	tests := []struct {
		name    string
		certs   []*Certificate
		sigs    []byte
		data    []byte
		wantErr string
	}{
		{"two keys", []*Certificate{c1, c2}, both.Bytes(), data, ""},
		{"text, armored", []*Certificate{c1}, text, data, ""},
		{"other order", []*Certificate{c2, c1}, both.Bytes(), data, "not issued by"},
		{"one missing", []*Certificate{c1}, both.Bytes(), data, "2 signatures, want 1"},
		{"other data", []*Certificate{c1, c2}, both.Bytes(), append([]byte("x"), data...), "verify"},
		{"garbage", []*Certificate{c1}, []byte("not a signature"), data, "verify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyDetached(tt.certs, tt.sigs, bytes.NewReader(tt.data))
			if tt.wantErr == "" && err != nil {
				t.Fatalf("VerifyDetached: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("VerifyDetached = %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

func TestVerifyClear(t *testing.T) {
	text := []byte("Origin: test\n-dash line  \nFrom here\r\nlast")
	c1, s1 := newTestSigner(t, newEd25519(), crypto.SHA512)
	c2, s2 := newTestSigner(t, newECDSA(elliptic.P256()), crypto.SHA256)
	var msg bytes.Buffer
	if _, err := ClearSignAll(&msg, bytes.NewReader(text), []*Signer{s1, s2}, Options{}, nil); err != nil {
		t.Fatal(err)
	}
	var other bytes.Buffer
	if _, err := s1.ClearSign(&other, strings.NewReader("Origin: evil\n"), Options{}); err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Replace(msg.Bytes(), []byte("Origin: test"), []byte("Origin: tesT"), 1)
	extra := bytes.Replace(msg.Bytes(), []byte("\n-----BEGIN PGP SIGNATURE-----"), []byte("\nmore\n-----BEGIN PGP SIGNATURE-----"), 1)
	tests := []struct {
		name    string
		certs   []*Certificate
		msg     []byte
		text    []byte
		wantErr string
	}{
		{"two keys", []*Certificate{c1, c2}, msg.Bytes(), text, ""},
		{"other text under a good signature", []*Certificate{c1}, other.Bytes(), text, "does not show the text"},
		{"text changed", []*Certificate{c1, c2}, tampered, text, "does not show the text"},
		{"a line added", []*Certificate{c1, c2}, extra, text, "shows more than the text"},
		{"one key missing", []*Certificate{c1}, msg.Bytes(), text, "2 signatures, want 1"},
		{"keys swapped", []*Certificate{c2, c1}, msg.Bytes(), text, "verify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyClear(tt.certs, tt.msg, bytes.NewReader(tt.text))
			if tt.wantErr == "" && err != nil {
				t.Fatalf("VerifyClear: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("VerifyClear = %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	data := []byte("text\n")
	_, s1 := newTestSigner(t, newEd25519(), crypto.SHA512)
	_, s2 := newTestSigner(t, newRSA(2048), crypto.SHA256)
	var clear bytes.Buffer
	if _, err := ClearSignAll(&clear, bytes.NewReader(data), []*Signer{s1, s2}, Options{}, nil); err != nil {
		t.Fatal(err)
	}
	bin := sign(t, s2, data, Options{})
	asc, err := Armored(bin)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		out  []byte
		want []Made // Created is not compared
	}{
		{"binary", bin, []Made{{Class: 0, PubKeyAlgo: 1, Hash: crypto.SHA256}}},
		{"armored", asc, []Made{{Class: 0, PubKeyAlgo: 1, Hash: crypto.SHA256}}},
		{"cleartext, two keys", clear.Bytes(), []Made{{Class: 1, PubKeyAlgo: 22, Hash: crypto.SHA512}, {Class: 1, PubKeyAlgo: 1, Hash: crypto.SHA256}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Describe(tt.out)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Describe: %d signatures, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i].Created.IsZero() {
					t.Errorf("signature %d has no creation time", i)
				}
				got[i].Created = tt.want[i].Created
				if got[i] != tt.want[i] {
					t.Errorf("signature %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
	if _, err := Describe([]byte("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\ntext\n")); err == nil {
		t.Error("Describe accepted a message without a signature block")
	}
}
