package client

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/sha512"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"golang.org/x/mod/sumdb/note"

	"signstar/pkg/pgp"
	"signstar/pkg/translog"
)

const testOrigin = "signer.example/repo"

var logKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))

// fakeLog is a host's transparency log, answering 'log proof' and 'log
// consistency' as the server does (cmd/signstar/translog.go).
type fakeLog struct {
	t *testing.T
	l *translog.Log
	s note.Signer
}

func newFakeLog(t *testing.T) *fakeLog {
	t.Helper()
	l, err := translog.Open(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := translog.NewSigner(testOrigin, logKey)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeLog{t: t, l: l, s: s}
}

// sign makes a signature packet by the test key over data, logs it with
// its index in the unhashed notation, and returns it as released; with
// record set, the entry records record's bytes instead.
func (f *fakeLog) sign(data string, record []byte) []byte {
	f.t.Helper()
	cert, err := newCert(testKey)
	if err != nil {
		f.t.Fatal(err)
	}
	ps, err := pgp.NewSigner(cert, testKey, crypto.SHA512)
	if err != nil {
		f.t.Fatal(err)
	}
	var sig bytes.Buffer
	if _, err := ps.Sign(&sig, strings.NewReader(data), pgp.Options{}); err != nil {
		f.t.Fatal(err)
	}
	var out []byte
	_, err = f.l.Append(func(i int64) (translog.Entry, error) {
		n := &packet.Notation{Name: LogIndexNotation, Value: []byte(strconv.FormatInt(i, 10)), IsHumanReadable: true}
		if out, err = pgp.AddUnhashedNotation(sig.Bytes(), n); err != nil {
			return translog.Entry{}, err
		}
		logged := out
		if record != nil {
			logged = record
		}
		d := sha512.Sum512([]byte(data))
		return translog.Entry{
			Time: time.Now(), Account: "repo", SSHKey: "SHA256:x", Key: cert.Fingerprint(), Format: "detached",
			Size: int64(len(data)), DigestHash: crypto.SHA512, Digest: d[:], Signature: translog.SignatureSum(logged),
		}, nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f *fakeLog) ask(_ context.Context, _ string, words ...string) ([]byte, error) {
	c, err := f.l.Checkpoint(f.s)
	if err != nil {
		return nil, err
	}
	n := make([]int64, len(words)-2)
	for i, w := range words[2:] {
		n[i], _ = strconv.ParseInt(w, 10, 64)
	}
	switch strings.Join(words[:2], " ") {
	case "log proof":
		p, err := f.l.Dir().Proof(c, n[0])
		if err != nil {
			return nil, err
		}
		return p.MarshalText()
	case "log consistency":
		p, err := f.l.Dir().ConsistencyIn(c, n[0], n[1])
		if err != nil {
			return nil, err
		}
		return p.MarshalText()
	}
	return nil, fmt.Errorf("refused %q", words)
}

// logSigner is a signer checking logs as --log-key does, keeping its
// checkpoints in state, asking f.
func logSigner(t *testing.T, f *fakeLog, state string, key ed25519.PrivateKey) *signer {
	t.Helper()
	vkey, err := translog.VerifierKey(testOrigin, key.Public())
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	s := &signer{tlog: newLogCheck(v, state)}
	s.tlog.ask = f.ask
	return s
}

// TestLogChecked runs two client runs against a log that grows: every
// signature proven, the checkpoint kept, and the second run's checked
// against the first's.
func TestLogChecked(t *testing.T) {
	f := newFakeLog(t)
	state := t.TempDir()
	ctx := context.Background()
	for run := range 2 {
		s := logSigner(t, f, state, logKey)
		for i := range 3 {
			sig := f.sign(fmt.Sprintf("run %d file %d", run, i), nil)
			if err := s.checkLogged(ctx, "host", sig); err != nil {
				t.Fatalf("run %d, signature %d: %v", run, i, err)
			}
		}
		if err := s.finishLog(ctx, nil); err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		b, err := os.ReadFile(filepath.Join(state, "signer.example%2Frepo.checkpoint"))
		if err != nil || !bytes.HasPrefix(b, fmt.Appendf(nil, "%s\n%d\n", testOrigin, 3*(run+1))) {
			t.Fatalf("run %d kept %q (%v), want the checkpoint of size %d", run, b, err, 3*(run+1))
		}
	}
}

// TestLogRefused: what a host that did not log a signature, or a log
// that shrank or forked, makes the client say.
func TestLogRefused(t *testing.T) {
	ctx := context.Background()
	t.Run("no notation", func(t *testing.T) {
		f := newFakeLog(t)
		sig := f.sign("a", nil)
		if _, ok, _ := pgp.UnhashedNotation(sig, LogIndexNotation); !ok {
			t.Fatal("the logged signature has no notation")
		}
		bare := testSignatureWithout(t)
		err := logSigner(t, f, "", logKey).checkLogged(ctx, "host", bare)
		wantErr(t, err, "the signature has no log-index@signstar notation: the host did not log it")
	})
	t.Run("other signature logged", func(t *testing.T) {
		f := newFakeLog(t)
		sig := f.sign("a", []byte("something else"))
		wantErr(t, logSigner(t, f, "", logKey).checkLogged(ctx, "host", sig), "log entry 0 records another signature")
	})
	t.Run("other log key", func(t *testing.T) {
		f := newFakeLog(t)
		sig := f.sign("a", nil)
		other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{10}, ed25519.SeedSize))
		wantErr(t, logSigner(t, f, "", other).checkLogged(ctx, "host", sig), "open checkpoint")
	})
	t.Run("shrank", func(t *testing.T) {
		state := t.TempDir()
		long := newFakeLog(t)
		runOnce(t, long, state, 5)
		short := newFakeLog(t) // truncated and re-signed with the same key
		err := runOnce(t, short, state, 2)
		wantErr(t, err, "log shrank or forked: it shrank; had "+testOrigin+" size 5 root ")
		wantErr(t, err, "now "+testOrigin+" size 2 root ")
	})
	t.Run("forked", func(t *testing.T) {
		state := t.TempDir()
		runOnce(t, newFakeLog(t), state, 5)
		err := runOnce(t, newFakeLog(t), state, 7) // same key, other entries
		wantErr(t, err, "log shrank or forked: the new tree does not extend the old; had "+testOrigin+" size 5 root ")
	})
}

// runOnce signs n files against f in one client run keeping state, and
// returns the run's end.
func runOnce(t *testing.T, f *fakeLog, state string, n int) error {
	t.Helper()
	s := logSigner(t, f, state, logKey)
	for i := range n {
		if err := s.checkLogged(context.Background(), "host", f.sign(fmt.Sprint(time.Now().UnixNano(), i), nil)); err != nil {
			t.Fatal(err)
		}
	}
	return s.finishLog(context.Background(), nil)
}

// testSignatureWithout is a signature packet by the test key without
// the notation.
func testSignatureWithout(t *testing.T) []byte {
	t.Helper()
	cert, _ := newCert(testKey)
	ps, _ := pgp.NewSigner(cert, testKey, crypto.SHA512)
	var sig bytes.Buffer
	if _, err := ps.Sign(&sig, strings.NewReader("a"), pgp.Options{}); err != nil {
		t.Fatal(err)
	}
	return sig.Bytes()
}

func wantErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one with %q", err, want)
	}
	if strings.Contains(want, "shrank or forked") && !errors.Is(err, translog.ErrInconsistent) {
		t.Fatalf("error %v does not wrap translog.ErrInconsistent", err)
	}
}

// TestLogRunsBeside: a run that ends after another run kept a larger
// checkpoint has its own proven against that one, and keeps it.
func TestLogRunsBeside(t *testing.T) {
	f := newFakeLog(t)
	state := t.TempDir()
	slow := logSigner(t, f, state, logKey)
	for i := range 3 {
		if err := slow.checkLogged(context.Background(), "host", f.sign(fmt.Sprint("slow ", i), nil)); err != nil {
			t.Fatal(err)
		}
	}
	if err := runOnce(t, f, state, 2); err != nil { // keeps size 5
		t.Fatal(err)
	}
	if err := slow.finishLog(context.Background(), nil); err != nil {
		t.Fatalf("the slow run: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(state, "signer.example%2Frepo.checkpoint"))
	if !bytes.HasPrefix(b, []byte(testOrigin+"\n5\n")) {
		t.Fatalf("kept %q, want the checkpoint of size 5", b)
	}
}
