package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"signstar/internal/sshdtest"
	"signstar/internal/testenv"
)

// inReleaseRecipe makes apt's InRelease, a cleartext signed Release
// (apt-secure(8)), through the login shell.
const inReleaseRecipe = `ssh signer@sign.example.org sign --clearsign < Release > InRelease`

// TestAptInRelease: apt-get update accepts a repository that has only an
// InRelease made by sign --clearsign, and refuses it once one byte of its
// text is changed.
func TestAptInRelease(t *testing.T) {
	ftparchive, aptGet := testenv.Tool(t, "apt-ftparchive"), testenv.Tool(t, "apt-get")
	sshdtest.Require(t)
	cert, srv := newRecipeSigner(t, "ed25519")
	assertREADMEQuotes(t, inReleaseRecipe)
	tests := []struct {
		name    string
		tamper  func([]byte) []byte
		wantErr string // in apt-get's output; empty: update succeeds
	}{
		{"as signed", func(b []byte) []byte { return b }, ""},
		{"one byte changed", func(b []byte) []byte {
			return bytes.Replace(b, []byte("Components: main"), []byte("Components: maim"), 1)
		}, "BADSIG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAptRepo(t, ftparchive, cert)
			runRecipe(t, srv, inReleaseRecipe, a.suite)
			inRelease := filepath.Join(a.suite, "InRelease")
			msg, err := os.ReadFile(inRelease)
			if err != nil {
				t.Fatal(err)
			}
			changed := tt.tamper(msg)
			if tt.wantErr != "" && bytes.Equal(changed, msg) {
				t.Fatal("BUG: the test did not change InRelease")
			}
			if err := os.WriteFile(inRelease, changed, 0o644); err != nil {
				t.Fatal(err)
			}
			// InRelease only: apt must not fall back to Release.gpg.
			if err := os.Remove(filepath.Join(a.suite, "Release")); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(aptGet, append(a.options(), "update")...).CombinedOutput()
			switch {
			case tt.wantErr == "" && (err != nil || bytes.Contains(out, []byte("W: ")) || bytes.Contains(out, []byte("E: ")) ||
				!bytes.Contains(out, []byte("stable InRelease"))):
				t.Fatalf("apt-get update: %v\n%s", err, out)
			case tt.wantErr != "" && err == nil && !bytes.Contains(out, []byte("E: ")):
				t.Fatalf("apt-get update accepted a changed InRelease:\n%s", out)
			case tt.wantErr != "" && !bytes.Contains(out, []byte(tt.wantErr)):
				t.Fatalf("apt-get update output lacks %q:\n%s", tt.wantErr, out)
			}
		})
	}
}

// TestAptInReleaseTwoKeys: during a key transition InRelease is signed by
// the old and the new key at once; apt-get update accepts it when apt
// trusts only the new key (the old key's signature is by a key it does
// not know).
func TestAptInReleaseTwoKeys(t *testing.T) {
	ftparchive, aptGet := testenv.Tool(t, "apt-ftparchive"), testenv.Tool(t, "apt-get")
	sshdtest.Require(t)
	f := newFixture(t)
	f.generate("old", "ed25519")
	newCert := f.generate("new", "p256")
	srv := sshdtest.Start(t, sshdtest.Options{Shell: binary, Env: []string{"SIGNSTAR_CONFIG=" + f.conf, f.hsm.Env()}})
	audit := filepath.Join(f.dir, "audit.jsonl")
	if err := os.WriteFile(audit, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	srv.Grant(f.hsm.Dir, filepath.Join(f.dir, "pin"), filepath.Join(f.dir, "token.lock"), audit)
	a := newAptRepo(t, ftparchive, newCert)
	runRecipe(t, srv, `ssh signer@sign.example.org sign --clearsign --key old --key new < Release > InRelease`, a.suite)
	if err := os.Remove(filepath.Join(a.suite, "Release")); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(aptGet, append(a.options(), "update")...).CombinedOutput()
	if err != nil || bytes.Contains(out, []byte("W: ")) || bytes.Contains(out, []byte("E: ")) || !bytes.Contains(out, []byte("stable InRelease")) {
		t.Fatalf("apt-get update: %v\n%s", err, out)
	}
}
