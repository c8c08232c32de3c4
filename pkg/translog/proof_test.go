package translog

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

func TestParseProofRefuses(t *testing.T) {
	l, v := newTestLog(t, 20)
	c, _ := l.Dir().Checkpoint(v)
	p, err := l.Dir().Proof(c, 5)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := p.MarshalText()
	other, _ := l.Dir().Proof(c, 6)
	otherEntry, _ := other.MarshalText()
	_, otherKey := otherSigner(t)
	tests := []struct {
		name string
		b    []byte
		v    note.Verifier
		want string
	}{
		{"other index", bytes.Replace(good, []byte("index 5"), []byte("index 6"), 1), v, "entry 6 is not in"},
		{"other entry", nil, v, "entry 5 is not in"},
		{"other key", good, otherKey, "open checkpoint"},
		{"no checkpoint", bytes.SplitN(good, []byte("\n\n"), 2)[0], v, "blank line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "other entry" {
				// Swap the extra line for entry 6's.
				gl := strings.SplitN(string(good), "\n", 3)
				ol := strings.SplitN(string(otherEntry), "\n", 3)
				tt.b = []byte(gl[0] + "\n" + ol[1] + "\n" + gl[2])
			}
			if _, err := ParseProof(tt.b, tt.v); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseProof = %v, want an error with %q", err, tt.want)
			}
		})
	}
	if _, err := ParseProof(good, v); err != nil {
		t.Fatalf("the good proof: %v", err)
	}
}

func otherSigner(t *testing.T) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(nil, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	return s, v
}

// TestCheckConsistencyRefuses: a log that shrank or forked is refused,
// naming both checkpoints.
func TestCheckConsistencyRefuses(t *testing.T) {
	long, v := newTestLog(t, 40)
	short, _ := newTestLog(t, 30)
	c40, _ := long.Dir().Checkpoint(v)
	c30, _ := short.Dir().Checkpoint(v)
	forked, err := Open(testDir(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		e := testEntry(i)
		if i == 35 {
			e.Account = "mallory"
		}
		forked.Append(func(int64) (Entry, error) { return e, nil })
	}
	s, _ := testSigner(t)
	cf, err := forked.Checkpoint(s)
	if err != nil {
		t.Fatal(err)
	}
	p, err := forked.Dir().Consistency(cf, 30)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckConsistency(c30, cf, p); err != nil {
		t.Fatalf("the fork after 35 extends the first 30: %v", err)
	}
	shortened := Consistency{Old: 40, New: 30}
	tests := []struct {
		name         string
		older, newer Checkpoint
		p            Consistency
		want         string
	}{
		{"shrank", c40, c30, shortened, "it shrank"},
		{"forked, same size", c40, cf, Consistency{Old: 40, New: 40}, "same size, different root"},
	}
	p38, _ := forked.Dir().Consistency(cf, 38)
	c38 := mustCheckpointAt(t, 38)
	tests = append(tests, struct {
		name         string
		older, newer Checkpoint
		p            Consistency
		want         string
	}{"forked, grown", c38, cf, p38, "does not extend"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckConsistency(tt.older, tt.newer, tt.p)
			if !errors.Is(err, ErrInconsistent) || !strings.Contains(err.Error(), tt.want) ||
				!strings.Contains(err.Error(), tt.older.String()) || !strings.Contains(err.Error(), tt.newer.String()) {
				t.Fatalf("CheckConsistency = %v, want ErrInconsistent (%s) naming %s and %s", err, tt.want, tt.older, tt.newer)
			}
		})
	}
}

// mustCheckpointAt is the (unsigned) checkpoint of the honest log's
// first n test entries.
func mustCheckpointAt(t *testing.T, n int) Checkpoint {
	tr := treeOf(t, n)
	return Checkpoint{Origin: testOrigin, Size: tr.N, Hash: tr.Hash}
}

// FuzzParseProof checks that a proof ParseProof accepts encodes back
// to its input and is for an entry in its checkpoint's tree.
func FuzzParseProof(f *testing.F) {
	l, v := newTestLog(f, 5)
	c, _ := l.Dir().Checkpoint(v)
	for i := range int64(5) {
		p, _ := l.Dir().Proof(c, i)
		b, _ := p.MarshalText()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProof(b, v)
		if err != nil {
			return
		}
		again, _ := p.MarshalText()
		if !bytes.Equal(again, b) {
			t.Fatalf("ParseProof took %q, which encodes as %q", b, again)
		}
	})
}

// FuzzParseConsistency checks that ParseConsistency accepts only what
// MarshalText makes.
func FuzzParseConsistency(f *testing.F) {
	l, v := newTestLog(f, 40)
	c, _ := l.Dir().Checkpoint(v)
	for _, old := range []int64{0, 1, 17, 40} {
		p, _ := l.Dir().Consistency(c, old)
		b, _ := p.MarshalText()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseConsistency(b)
		if err != nil {
			return
		}
		again, _ := p.MarshalText()
		if !bytes.Equal(again, b) {
			t.Fatalf("ParseConsistency took %q, which encodes as %q", b, again)
		}
	})
}

// FuzzParseCheckpoint checks that a checkpoint ParseCheckpoint accepts
// is signed by the key and its body is the one the log writes.
func FuzzParseCheckpoint(f *testing.F) {
	l, v := newTestLog(f, 3)
	c, _ := l.Dir().Checkpoint(v)
	f.Add(c.Note)
	f.Add([]byte(testOrigin + "\n3\nAAAA\n\n— " + testOrigin + " AAAA\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCheckpoint(b, v)
		if err != nil {
			return
		}
		if !bytes.HasPrefix(b, checkpointBody(c.Origin, c.Tree())) {
			t.Fatalf("ParseCheckpoint took %q as %v", b, c)
		}
	})
}
