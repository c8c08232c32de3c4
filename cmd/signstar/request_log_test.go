//go:build linux && cgo

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"signstar/internal/verifytest"
)

// TestRequestLogKey signs through sshd with 'request --log-key', the key
// as 'log verifier' prints it: every signature proven in the host's log
// (gpgv still verifies each), the checkpoint kept between runs and
// grown, log verify passing on the host's directory; the host's log
// then started afresh (truncated, re-signed with the same key) fails the
// next run, naming both checkpoints.
func TestRequestLogKey(t *testing.T) {
	l := newLogFixture(t, true)
	vkey := strings.TrimSpace(string(l.ok(nil, "log", "verifier")))
	if !strings.HasPrefix(vkey, testOrigin+"+") {
		t.Fatalf("log verifier printed %q", vkey)
	}
	state := t.TempDir()
	l.env = append(l.env, "XDG_STATE_HOME="+state)
	kept := filepath.Join(state, "signstar", "signstar.test%2Fbuild.checkpoint")
	dir := t.TempDir()
	sign := func(names ...string) result {
		var files []string
		for _, n := range names {
			p := filepath.Join(dir, n)
			if err := os.WriteFile(p, []byte("contents of "+n+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, p)
		}
		return l.request(t, []string{"--host", l.srv.Target(), "--log-key", vkey}, files...)
	}
	for run, names := range [][]string{{"a", "b", "c"}, {"d", "e"}} {
		if r := sign(names...); r.code != 0 {
			t.Fatalf("run %d: exit %d: %s", run, r.code, r.stderr)
		}
		for _, n := range names {
			data, _ := os.ReadFile(filepath.Join(dir, n))
			sig, _ := os.ReadFile(filepath.Join(dir, n+".sig"))
			if err := verifytest.GPGV(t, l.repoCert, data, sig); err != nil {
				t.Errorf("%s: %v", n, err)
			}
		}
		b, err := os.ReadFile(kept)
		if want := []string{"3", "5"}[run]; err != nil || !strings.HasPrefix(string(b), testOrigin+"\n"+want+"\n") {
			t.Fatalf("run %d kept %q (%v), want the checkpoint of size %s", run, b, err, want)
		}
	}
	if out := string(l.ok(nil, "log", "verify", "--log-key", vkey, l.dir)); !strings.HasPrefix(out, "verified 5 entries: "+testOrigin+" size 5 root ") {
		t.Errorf("log verify printed %q", out)
	}

	// The host's log starts again from nothing: same key, same origin.
	entries, _ := os.ReadDir(l.dir)
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(l.dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	// The file's signature is in the log the host shows, so it is
	// written; the run fails on the history, as its last line says.
	r := sign("f")
	lines := strings.Split(strings.TrimSpace(string(r.stderr)), "\n")
	want := "signstar: error: check log: log shrank or forked: it shrank; had " + testOrigin + " size 5 root "
	last := lines[len(lines)-1]
	if r.code != 1 || !strings.HasPrefix(last, want) || !strings.Contains(last, ", now "+testOrigin+" size 1 root ") {
		t.Fatalf("exit %d, stderr %q; want exit 1 and a last line %q... naming the new checkpoint", r.code, r.stderr, want)
	}
}
