//go:build linux && cgo

package main

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"signstar/pkg/pgp"
	"signstar/pkg/translog"
)

const testLogOrigin = "signing.example/log"

// writeTestLog makes a log of n entries in a new directory, its
// checkpoint signed by key, and returns the directory and the verifier
// key.
func writeTestLog(t *testing.T, key ed25519.PrivateKey, n int) (string, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "log")
	l, err := translog.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.AppendAll(func(int64) ([]translog.Entry, error) {
		es := make([]translog.Entry, n)
		for i := range es {
			es[i] = testLogEntry(i)
		}
		return es, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := translog.NewSigner(testLogOrigin, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Checkpoint(s); err != nil {
		t.Fatal(err)
	}
	vkey, err := translog.VerifierKey(testLogOrigin, key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return dir, vkey
}

func testLogEntry(i int) translog.Entry {
	d := sha512.Sum512(fmt.Appendf(nil, "file %d", i))
	return translog.Entry{
		Time: time.Date(2026, 11, 29, 12, 0, i, 0, time.UTC), Account: "signer",
		SSHKey: "SHA256:hmTCNFhqSh8l0Ln5EvAUVHy4Q4Wi2kl/8Jc3ND+yFsE", Key: "4C1E3A4B9F0D2E8A7B6C5D4E3F2A1B0C9D8E7F6A",
		Format: "detached", Size: int64(100 + i), DigestHash: crypto.SHA512, Digest: d[:],
		Signature: translog.SignatureSum(fmt.Appendf(nil, "sig %d", i)),
	}
}

// runSignstar runs the binary with args outside any fixture: log verify
// needs no token or config.
func runSignstar(t *testing.T, args ...string) result {
	t.Helper()
	f := &fixture{t: t, env: os.Environ()}
	return f.runCmd(exec.Command(binary, args...), nil)
}

// TestLogVerify checks copies of a log with signstar log verify: a whole
// one passes (exit 0, what it verified on stdout); a changed byte, a
// foreign key, or a log truncated and re-signed with the log key against
// a checkpoint seen before fail (exit 1) naming the first bad index or
// both checkpoints.
func TestLogVerify(t *testing.T) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	dir, vkey := writeTestLog(t, key, 200)
	keyFile := filepath.Join(t.TempDir(), "log.pub")
	if err := os.WriteFile(keyFile, []byte(vkey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{vkey, keyFile} {
		r := runSignstar(t, "log", "verify", "--log-key", k, dir)
		if r.code != 0 || !strings.HasPrefix(string(r.stdout), "verified 200 entries: "+testLogOrigin+" size 200 root ") {
			t.Fatalf("log verify --log-key %s: exit %d, stdout %q, stderr %s", k, r.code, r.stdout, r.stderr)
		}
	}

	_, otherKey := writeTestLog(t, ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, 32)), 1)
	assertError(t, runSignstar(t, "log", "verify", "--log-key", otherKey, dir), 1, "open checkpoint: note has no verifiable signatures")
	assertError(t, runSignstar(t, "log", "verify", "--log-key", "nonsense", dir), 1, `log key "nonsense": neither a verifier key`)

	short, _ := writeTestLog(t, key, 150)
	seen := filepath.Join(dir, "checkpoint")
	r := runSignstar(t, "log", "verify", "--log-key", vkey, "--checkpoint", seen, short)
	assertError(t, r, 1, "log shrank or forked: it shrank; had "+testLogOrigin+" size 200 root ")
	if !strings.Contains(string(r.stderr), "now "+testLogOrigin+" size 150 root ") {
		t.Errorf("stderr %q does not name the new checkpoint", r.stderr)
	}

	bundle := filepath.Join(dir, "tile/entries/000.p/200")
	data, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	e137, _ := testLogEntry(137).MarshalText()
	at := bytes.Index(data, e137)
	data[at+len(e137)-3] ^= 1 // in the signature's hex digits
	if err := os.WriteFile(bundle, data, 0o644); err != nil {
		t.Fatal(err)
	}
	assertError(t, runSignstar(t, "log", "verify", "--log-key", vkey, dir), 1, "verify log "+dir+": entry 137: does not hash")
}

// TestLogVerifier checks that log verifier prints the configured log
// key's verifier key: the configured origin, and the token key the
// OpenPGP certificate names.
func TestLogVerifier(t *testing.T) {
	f := newFixture(t)
	f.generate("signer", "ed25519")
	cert := f.generate("logkey", "ed25519")
	conf, err := os.ReadFile(f.conf)
	if err != nil {
		t.Fatal(err)
	}
	conf = fmt.Appendf(conf, "\n[log]\nkey = \"logkey\"\ndir = %q\norigin = %q\n", filepath.Join(f.dir, "log"), testLogOrigin)
	if err := os.WriteFile(f.conf, conf, 0o600); err != nil {
		t.Fatal(err)
	}
	vkey := strings.TrimSuffix(string(f.ok(nil, "log", "verifier")), "\n")
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatalf("log verifier printed %q: %v", vkey, err)
	}
	if v.Name() != testLogOrigin {
		t.Errorf("verifier key named %q, want %q", v.Name(), testLogOrigin)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.SplitN(vkey, "+", 3)[2])
	if err != nil || len(raw) != 33 || raw[0] != 1 {
		t.Fatalf("verifier key %q: not 0x01 and an Ed25519 key", vkey)
	}
	c, err := pgp.ReadCertificate(bytes.NewReader(cert))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Matches(ed25519.PublicKey(raw[1:])); err != nil {
		t.Errorf("verifier key is not the log key's: %v", err)
	}
}

// TestLogShow checks log show's lines: all entries, --since, --key (by
// the key's certificate fingerprint), and a changed entry refused with
// its index.
func TestLogShow(t *testing.T) {
	f := newFixture(t)
	fpr := strings.TrimSpace(string(f.ok(nil, "key", "generate", "--name", "signer", "--type", "ed25519", "--uid", "S <s@example.org>")))
	f.generate("logkey", "ed25519")
	dir := filepath.Join(f.dir, "log")
	conf, err := os.ReadFile(f.conf)
	if err != nil {
		t.Fatal(err)
	}
	conf = fmt.Appendf(conf, "\n[log]\nkey = \"logkey\"\ndir = %q\n", dir)
	if err := os.WriteFile(f.conf, conf, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := translog.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		l.Append(func(int64) (translog.Entry, error) {
			e := testLogEntry(i)
			if i%2 == 1 {
				e.Key = fpr
			}
			return e, nil
		})
	}
	tests := []struct {
		args []string
		want []int
	}{
		{nil, []int{0, 1, 2, 3, 4}},
		{[]string{"--since", "2026-11-29T12:00:02Z"}, []int{2, 3, 4}},
		{[]string{"--since", "2026-11-30"}, nil},
		{[]string{"--key", "signer"}, []int{1, 3}},
	}
	for _, tt := range tests {
		out := string(f.ok(nil, append([]string{"log", "show"}, tt.args...)...))
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if !strings.HasPrefix(lines[0], "INDEX") || len(lines) != 1+len(tt.want) {
			t.Errorf("log show %v:\n%s\nwant a header and entries %v", tt.args, out, tt.want)
			continue
		}
		for j, i := range tt.want {
			if f := strings.Fields(lines[1+j]); f[0] != fmt.Sprint(i) || f[1] != testLogEntry(i).Time.Format(time.RFC3339) || f[5] != "detached" {
				t.Errorf("log show %v: line %q, want entry %d", tt.args, lines[1+j], i)
			}
		}
	}
	assertError(t, f.run(nil, "log", "show", "--since", "yesterday"), 1, `--since "yesterday"`)
	bundle := filepath.Join(dir, "tile/entries/000.p/5")
	data, _ := os.ReadFile(bundle)
	e2, _ := testLogEntry(2).MarshalText()
	data[bytes.Index(data, e2)+len(e2)-3] ^= 1
	os.WriteFile(bundle, data, 0o644)
	assertError(t, f.run(nil, "log", "show"), 1, "entry 2: does not hash")
}

// TestLogCheckpoint checks log checkpoint, what a publishing job runs
// before it copies the log: a note signed by the log key (checked with
// note.Open and the verifier key log verifier prints) naming the tree of
// every entry appended, which log verify then accepts as a whole; and a
// config without a log refused.
func TestLogCheckpoint(t *testing.T) {
	f := newFixture(t)
	f.generate("signer", "ed25519")
	assertError(t, f.run(nil, "log", "checkpoint"), 1, "keeps no transparency log")
	f.generate("logkey", "ed25519")
	dir := filepath.Join(f.dir, "log")
	conf, err := os.ReadFile(f.conf)
	if err != nil {
		t.Fatal(err)
	}
	conf = fmt.Appendf(conf, "\n[log]\nkey = \"logkey\"\ndir = %q\norigin = %q\n", dir, testLogOrigin)
	if err := os.WriteFile(f.conf, conf, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := translog.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := l.Append(func(int64) (translog.Entry, error) { return testLogEntry(i), nil }); err != nil {
			t.Fatal(err)
		}
	}
	vkey := strings.TrimSpace(string(f.ok(nil, "log", "verifier")))
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	cp := f.ok(nil, "log", "checkpoint")
	n, err := note.Open(cp, note.VerifierList(v))
	if err != nil {
		t.Fatalf("log checkpoint printed %q: %v", cp, err)
	}
	if want := testLogOrigin + "\n3\n"; !strings.HasPrefix(n.Text, want) {
		t.Errorf("checkpoint %q, want it to begin %q", n.Text, want)
	}
	if stored, _ := os.ReadFile(filepath.Join(dir, "checkpoint")); !bytes.Equal(stored, cp) {
		t.Errorf("log checkpoint printed %q, the directory holds %q", cp, stored)
	}
	out := string(f.ok(nil, "log", "verify", "--log-key", vkey, dir))
	if !strings.Contains(out, "verified 3 entries") {
		t.Errorf("log verify after log checkpoint: %q, want 3 entries verified", out)
	}
}
