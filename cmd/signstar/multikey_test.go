package main

// Signatures by several keys at once, as a repository is signed during a
// key transition: one output holding a signature by each key, which gpgv,
// gpg and sqv accept with either key's certificate alone (as apt does when
// it trusts one of them), one audit record per key, and the refusals.

import (
	"os"
	"slices"
	"strings"
	"testing"

	"signstar/internal/verifytest"
)

func TestSignSeveralKeys(t *testing.T) {
	f := newFixture(t)
	oldCert, newCert := f.generate("old", "ed25519"), f.generate("new", "p256")
	oldFpr, newFpr := verifytest.Fingerprint(t, oldCert), verifytest.Fingerprint(t, newCert)
	keyrings := []struct {
		name  string
		certs [][]byte
		want  []string
	}{
		{"old", [][]byte{oldCert}, []string{oldFpr}},
		{"new", [][]byte{newCert}, []string{newFpr}},
		{"both", [][]byte{oldCert, newCert}, []string{oldFpr, newFpr}},
	}
	data := []byte(clearText)
	cli := func(t *testing.T, words ...string) []byte {
		return f.ok(data, append([]string{"sign"}, words...)...)
	}
	shell := func(t *testing.T, words ...string) []byte {
		t.Helper()
		r := f.shell(strings.Join(append([]string{"sign"}, words...), " "), data)
		if r.code != 0 {
			t.Fatalf("login shell %v: exit %d\n%s", words, r.code, r.stderr)
		}
		return r.stdout
	}
	forms := []struct {
		words  []string
		format string
	}{
		{nil, "detached"}, {[]string{"--armor"}, "detached"}, {[]string{"--text"}, "detached-text"},
		{[]string{"--clearsign"}, "cleartext"},
	}
	var wantFormats []string
	for _, mode := range []struct {
		name string
		sign func(*testing.T, ...string) []byte
	}{{"cli", cli}, {"shell", shell}} {
		for _, form := range forms {
			t.Run(mode.name+" "+form.format+" "+strings.Join(form.words, " "), func(t *testing.T) {
				out := mode.sign(t, append([]string{"--key", "old", "--key", "new"}, form.words...)...)
				signed := data
				if form.format == "cleartext" {
					signed = nil
					if !strings.HasPrefix(string(out), "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n") {
						t.Errorf("message starts %q, want the one hash both keys use, once", out[:min(len(out), 60)])
					}
				}
				for _, kr := range keyrings {
					if good := verifytest.GPGVSigners(t, kr.certs, signed, out); !slices.Equal(good, kr.want) {
						t.Errorf("gpgv with keyring %s: good signatures by %v, want %v", kr.name, good, kr.want)
					}
					if signed == nil {
						continue
					}
					if good, err := verifytest.SQVSigners(t, kr.certs, signed, out); err != nil || !slices.Equal(good, slices.Sorted(slices.Values(kr.want))) {
						t.Errorf("sqv with keyring %s: %v, %v; want %v", kr.name, good, err, kr.want)
					}
				}
				if good := verifytest.GPGSigners(t, keyrings[2].certs, signed, out); !slices.Equal(good, keyrings[2].want) {
					t.Errorf("gpg --verify: good signatures by %v, want both", good)
				}
			})
			wantFormats = append(wantFormats, form.format, form.format)
		}
	}
	recs := readAuditFile(t, f)
	if len(recs) != len(wantFormats) {
		t.Fatalf("%d records, want %d: one per key signature", len(recs), len(wantFormats))
	}
	for i := 0; i+1 < len(recs); i += 2 {
		a, b := recs[i], recs[i+1]
		a.want(t, map[string]string{"SIGNSTAR_RESULT": "signed", "SIGNSTAR_KEY": "old", "SIGNSTAR_KEY_FINGERPRINT": oldFpr, "SIGNSTAR_FORMAT": wantFormats[i]})
		b.want(t, map[string]string{"SIGNSTAR_RESULT": "signed", "SIGNSTAR_KEY": "new", "SIGNSTAR_KEY_FINGERPRINT": newFpr, "SIGNSTAR_FORMAT": wantFormats[i],
			"SIGNSTAR_REQUEST_ID": a["SIGNSTAR_REQUEST_ID"], "SIGNSTAR_INPUT_SHA256": a["SIGNSTAR_INPUT_SHA256"], "SIGNSTAR_INPUT_SIZE": a["SIGNSTAR_INPUT_SIZE"]})
	}
}

// TestSignSeveralKeysRefusals: the same key twice, a second key for a
// signing request and a key the client may not use are refused (exit 2,
// one line, nothing out) and recorded as refused.
func TestSignSeveralKeysRefusals(t *testing.T) {
	f := newFixture(t)
	f.generate("old", "ed25519")
	f.generate("new", "ed25519")
	// The last table is keys.new: only an SSH key this session lacks may use it.
	conf, err := os.ReadFile(f.conf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.conf, append(conf, "allow = [\"SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"]\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		words string
		cli   bool // the admin CLI takes these words too
		want  string
	}{
		{"same key twice", "--key old --key old", true, `key "old" named twice`},
		{"request with two keys", "--request --key old --key new", false, "--request signs with one key"},
		{"second key not allowed", "--key old --key new", false, `key "new"`},
	}
	n := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.cli {
				assertError(t, f.run([]byte("data\n"), append([]string{"sign"}, strings.Fields(tt.words)...)...), exitRefused, tt.want)
				n++
			}
			r := f.shell("sign "+tt.words, []byte("data\n"))
			if r.code != exitRefused || len(r.stdout) != 0 || strings.Count(string(r.stderr), "\n") != 1 ||
				!strings.Contains(string(r.stderr), tt.want) {
				t.Errorf("login shell: exit %d, %d bytes out, stderr %q; want exit %d and one line with %q",
					r.code, len(r.stdout), r.stderr, exitRefused, tt.want)
			}
			n++
		})
	}
	recs := readAuditFile(t, f)
	for _, r := range recs {
		r.want(t, map[string]string{"SIGNSTAR_RESULT": "refused"})
	}
	if len(recs) != n {
		t.Errorf("%d records, want %d", len(recs), n)
	}
}
