package main

// Debian's own signing tools through the gpg front end: debsign
// (devscripts) clearsigns a source upload's .dsc and .changes, and
// debsigs puts a detached origin signature into a .deb. Each is checked by
// Debian's own verifier (dscverify, debsig-verify) with a keyring holding
// only the signing key's certificate, and each verifier must refuse the
// output with one byte changed and refuse it for another key's keyring.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"signstar/internal/testenv"
	"signstar/internal/verifytest"
)

const (
	// debsignRecipe is README's debsign recipe, run in the directory that
	// holds the upload: debsign signs the .dsc, writes the .dsc's new
	// checksums into the .changes, then signs the .changes.
	debsignRecipe = `debsign -k pkg hello_1.0_source.changes`

	// debsigsRecipe is README's debsigs recipe.
	debsigsRecipe = `debsigs --sign=origin -k pkg hello_1.0_all.deb`
)

// TestGPGFrontDebsign: debsign (devscripts 2.23) runs `gpg --version`
// and `gpg --local-user KEY --clearsign --list-options
// no-show-policy-urls --armor --textmode --output F.asc F` for the .dsc
// and the .changes; dscverify, given a keyring holding the signing key's
// certificate only, accepts the upload (both signatures and every
// checksum), refuses it for a keyring holding another key, and refuses the
// .dsc and the .changes each with one byte of their text changed. The
// key comes from -k (a config name, a fingerprint) or, without -k, from
// the Maintainer field, matched against the pinned certificates' user IDs.
func TestGPGFrontDebsign(t *testing.T) {
	assertREADMEQuotes(t, debsignRecipe)
	testenv.DebianTool(t, "debsign")
	dscverify := testenv.DebianTool(t, "dscverify")
	g := newGPGFront(t)
	tests := []struct {
		name   string
		script string
		signer string // the key whose certificate dscverify is given
	}{
		{"README recipe", debsignRecipe, "pkg"},
		{"fingerprint", "debsign -k " + fingerprintOf(t, g.certs["repo"]) + " hello_1.0_source.changes", "repo"},
		{"maintainer", "debsign hello_1.0_source.changes", "repo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := buildHelloSource(t, "Test repo <repo@example.org>")
			g.runRecipe(t, dir, tt.script)
			dsc, changes := filepath.Join(dir, "hello_1.0.dsc"), filepath.Join(dir, "hello_1.0_source.changes")
			for _, f := range []string{dsc, changes} {
				msg := readFile(t, f)
				if !bytes.HasPrefix(msg, []byte("-----BEGIN PGP SIGNED MESSAGE-----\n")) {
					t.Fatalf("%s is not a cleartext signed message:\n%s", filepath.Base(f), msg)
				}
				if err := verifytest.ClearGPGV(t, g.certs[tt.signer], msg); err != nil {
					t.Errorf("gpgv rejected %s: %v", filepath.Base(f), err)
				}
			}
			other := map[string]string{"repo": "pkg", "pkg": "repo"}[tt.signer]
			keyring, otherKeyring := debKeyring(t, g, tt.signer), debKeyring(t, g, other)
			// dscverify runs gpg from PATH: once the real one, once the
			// front end, which hands --verify to the real one.
			for _, env := range []struct {
				name string
				env  []string
			}{{"gpg", os.Environ()}, {"the front end", g.env}} {
				out, err := runDscverify(env.env, dscverify, keyring, changes)
				if err != nil || !strings.Contains(out, "All files validated successfully") {
					t.Fatalf("dscverify (through %s) refused the upload signed through the front end: %v\n%s", env.name, err, out)
				}
				if n := strings.Count(out, "Good signature found"); n != 2 {
					t.Errorf("dscverify (through %s) found %d good signatures, want 2 (.changes and .dsc):\n%s", env.name, n, out)
				}
			}
			if out, err := runDscverify(os.Environ(), dscverify, otherKeyring, changes); err == nil {
				t.Errorf("dscverify accepted the upload with only %s's certificate:\n%s", other, out)
			}
			assertDscverifyRefuses(t, dscverify, keyring, dsc, "Standards-Version: 4.6.2", "Standards-Version: 4.6.3")
			assertDscverifyRefuses(t, dscverify, keyring, changes, "Initial release.", "Initial releasE.")
		})
	}
	var signed []string
	for _, r := range readAuditFile(t, g.fixture) {
		if r["SIGNSTAR_RESULT"] == "signed" {
			signed = append(signed, r["SIGNSTAR_KEY"]+" "+r["SIGNSTAR_FORMAT"])
		}
	}
	want := "pkg cleartext,pkg cleartext,repo cleartext,repo cleartext,repo cleartext,repo cleartext"
	if got := strings.Join(signed, ","); got != want {
		t.Errorf("signed audit records (key format): %s, want %s", got, want)
	}
}

// TestGPGFrontDebsigs: debsigs 0.1.26 pipes the .deb's members to `gpg
// --openpgp --detach-sign [--default-key KEY]` and stores what gpg writes
// to stdout as the ar member _gpgorigin; debsig-verify, with a policy
// naming the signing key and a keyring holding its certificate, accepts
// the package, and refuses it with one byte of its data changed, and
// refuses it when the keyring holds another key's certificate. Without -k
// the front end signs with the client config's default key.
func TestGPGFrontDebsigs(t *testing.T) {
	assertREADMEQuotes(t, debsigsRecipe)
	testenv.DebianTool(t, "debsigs")
	verify := testenv.DebianTool(t, "debsig-verify")
	g := newGPGFront(t)
	tests := []struct {
		name   string
		script string
		signer string
	}{
		{"README recipe", debsigsRecipe, "pkg"},
		{"default key", "debsigs --sign=origin hello_1.0_all.deb", "repo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			deb := buildHelloDeb(t, t.TempDir())
			g.runRecipe(t, filepath.Dir(deb), tt.script)
			if out, err := exec.Command(testenv.Tool(t, "ar"), "t", deb).CombinedOutput(); err != nil || !strings.Contains(string(out), "_gpgorigin\n") {
				t.Fatalf("ar t %s: %v, no _gpgorigin member:\n%s", filepath.Base(deb), err, out)
			}
			trusted := debsigPolicy(t, g, tt.signer, tt.signer)
			if out, err := exec.Command(verify, append(trusted, deb)...).CombinedOutput(); err != nil {
				t.Fatalf("debsig-verify refused the package signed through the front end: %v\n%s", err, out)
			}
			// debsig-verify runs gpg from PATH for --verify and --show-keys:
			// the front end hands both to the real gpg.
			cmd := g.command("", verify, append(trusted, deb)...)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("debsig-verify with the front end first in PATH refused the package: %v\n%s", err, out)
			}
			other := map[string]string{"repo": "pkg", "pkg": "repo"}[tt.signer]
			wrong := debsigPolicy(t, g, tt.signer, other)
			if out, err := exec.Command(verify, append(wrong, deb)...).CombinedOutput(); err == nil {
				t.Errorf("debsig-verify accepted the package with only %s's certificate in the keyring:\n%s", other, out)
			}
			bad := filepath.Join(t.TempDir(), "bad.deb")
			data := readFile(t, deb)
			i := bytes.Index(data, []byte("data.tar"))
			if i < 0 {
				t.Fatalf("no data.tar member in %s", deb)
			}
			data[len(data)-(len(data)-i)/2] ^= 0x01 // inside data.tar's contents
			writeFile(t, bad, data, 0o644)
			if out, err := exec.Command(verify, append(trusted, bad)...).CombinedOutput(); err == nil {
				t.Errorf("debsig-verify accepted the package with one byte of data.tar changed:\n%s", out)
			}
		})
	}
}

// debKeyring is a binary keyring (gpg --dearmor) holding the certificate of
// the key name only, as dscverify --keyring and debsig-verify read it.
func debKeyring(t *testing.T, g *gpgFront, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".gpg")
	gpg := testenv.Tool(t, "gpg")
	cmd := exec.Command(gpg, "--batch", "--yes", "--dearmor", "--output", path, g.certFile(name))
	cmd.Env = append(os.Environ(), "GNUPGHOME="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gpg --dearmor %s: %v\n%s", name, err, out)
	}
	return path
}

// debsigPolicy writes a debsig-verify policy that requires an origin
// signature by the key signer and a keyring holding the certificate of
// the key holder, and returns the debsig-verify options that select them.
// debsig-verify looks both up under the signature's 16-hex key ID.
func debsigPolicy(t *testing.T, g *gpgFront, signer, holder string) []string {
	t.Helper()
	fpr := fingerprintOf(t, g.certs[signer])
	id := fpr[len(fpr)-16:]
	root := t.TempDir()
	policies, keyrings := filepath.Join(root, "policies"), filepath.Join(root, "keyrings")
	for _, d := range []string{filepath.Join(policies, id), filepath.Join(keyrings, id)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(debKeyring(t, g, holder), filepath.Join(keyrings, id, "origin.gpg")); err != nil {
		t.Fatal(err)
	}
	policy := fmt.Sprintf(`<?xml version="1.0"?>
<!DOCTYPE Policy SYSTEM "https://www.debian.org/debsig/1.0/policy.dtd">
<Policy xmlns="https://www.debian.org/debsig/1.0/">
  <Origin Name="signstar" id="%[1]s" Description="signed through the gpg front end"/>
  <Selection>
    <Required Type="origin" File="origin.gpg" id="%[1]s"/>
  </Selection>
  <Verification MinOptional="0">
    <Required Type="origin" File="origin.gpg" id="%[1]s"/>
  </Verification>
</Policy>
`, id)
	writeFile(t, filepath.Join(policies, id, "signstar.pol"), policy, 0o644)
	return []string{"--policies-dir", policies, "--keyrings-dir", keyrings}
}

// runDscverify runs dscverify on file with keyring as its only keyring,
// no devscripts config and the environment env, and returns what it
// printed.
func runDscverify(env []string, dscverify, keyring, file string) (string, error) {
	cmd := exec.Command(dscverify, "--no-conf", "--no-default-keyrings", "--keyring", keyring, filepath.Base(file))
	cmd.Dir = filepath.Dir(file)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// assertDscverifyRefuses checks that dscverify refuses a copy of the
// signed file with old in its text replaced by new (one byte apart), for
// its signature, while the files the copy lists are unchanged.
func assertDscverifyRefuses(t *testing.T, dscverify, keyring, file, old, new string) {
	t.Helper()
	bad := filepath.Join(filepath.Dir(file), "bad-"+filepath.Base(file))
	writeFile(t, bad, replaceOnce(t, readFile(t, file), old, new), 0o644)
	defer os.Remove(bad)
	out, err := runDscverify(os.Environ(), dscverify, keyring, bad)
	if err == nil {
		t.Errorf("dscverify accepted %s with %q changed to %q:\n%s", filepath.Base(file), old, new, out)
	} else if !strings.Contains(out, "BAD signature") {
		t.Errorf("dscverify refused %s with one byte changed, but not for a BAD signature:\n%s", filepath.Base(file), out)
	}
}

// buildHelloSource makes a native source package hello 1.0 with
// dpkg-source and its source-only .changes with dpkg-genchanges, with
// maintainer in Maintainer and Changed-By, and returns the directory that
// holds hello_1.0.dsc, hello_1.0.tar.xz and hello_1.0_source.changes.
func buildHelloSource(t *testing.T, maintainer string) string {
	t.Helper()
	dpkgSource, genchanges := testenv.DebianTool(t, "dpkg-source"), testenv.DebianTool(t, "dpkg-genchanges")
	dir := t.TempDir()
	tree := filepath.Join(dir, "hello-1.0")
	writeFiles(t, tree, map[string]string{
		"debian/source/format": "3.0 (native)\n",
		"debian/control": "Source: hello\nSection: misc\nPriority: optional\nMaintainer: " + maintainer +
			"\nStandards-Version: 4.6.2\n\nPackage: hello\nArchitecture: all\nDescription: signed by debsign through signstar\n a test package\n",
		"debian/changelog": "hello (1.0) unstable; urgency=medium\n\n  * Initial release.\n\n -- " + maintainer +
			"  Sun, 29 Nov 2026 12:00:00 +0000\n",
		"hello": "#!/bin/sh\necho hello\n",
	})
	cmd := exec.Command(dpkgSource, "-b", "hello-1.0")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dpkg-source -b: %v\n%s", err, out)
	}
	cmd = exec.Command(genchanges, "-S")
	cmd.Dir = tree
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dpkg-genchanges -S: %v", err)
	}
	writeFile(t, filepath.Join(dir, "hello_1.0_source.changes"), out, 0o644)
	return dir
}

// TestGPGFrontDebianRefusals: debsign and debsigs asking for a key the
// client config does not hold (by -k, or by a Maintainer field no pinned
// certificate carries) fail with the front end's one-line refusal, exit 2
// passed on by the tool, and leave the .dsc, .changes and .deb as they
// were: the front end never falls back to another key.
func TestGPGFrontDebianRefusals(t *testing.T) {
	testenv.DebianTool(t, "debsign")
	testenv.DebianTool(t, "debsigs")
	g := newGPGFront(t)
	tests := []struct {
		name   string
		build  func(t *testing.T) (dir string, files []string)
		script string
		want   string
	}{
		{"debsign -k", debsignFiles, "debsign -k nosuch hello_1.0_source.changes", `no key matches "nosuch"`},
		{"debsign maintainer", debsignFiles, "debsign hello_1.0_source.changes", `no key matches "Nobody <nobody@example.org>"`},
		{"debsigs -k", debsigsFiles, "debsigs --sign=origin -k nosuch hello_1.0_all.deb", `no key matches "nosuch"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, files := tt.build(t)
			before := map[string][]byte{}
			for _, f := range files {
				before[f] = readFile(t, filepath.Join(dir, f))
			}
			cmd := g.recipe(dir, tt.script)
			out, err := cmd.CombinedOutput()
			if code := cmd.ProcessState.ExitCode(); err == nil || code != exitRefused {
				t.Fatalf("%s: exit %d (%v), want %d\n%s", tt.script, code, err, exitRefused, out)
			}
			if want := "signstar: error: refused: " + tt.want; !strings.Contains(string(out), want) {
				t.Errorf("%s printed no %q:\n%s", tt.script, want, out)
			}
			for _, f := range files {
				if !bytes.Equal(readFile(t, filepath.Join(dir, f)), before[f]) {
					t.Errorf("%s changed %s", tt.script, f)
				}
			}
		})
	}
}

// debsignFiles builds a source upload whose Maintainer no pinned
// certificate names, and lists the files debsign would sign.
func debsignFiles(t *testing.T) (string, []string) {
	return buildHelloSource(t, "Nobody <nobody@example.org>"), []string{"hello_1.0.dsc", "hello_1.0_source.changes"}
}

// debsigsFiles builds the .deb that debsigs would sign.
func debsigsFiles(t *testing.T) (string, []string) {
	deb := buildHelloDeb(t, t.TempDir())
	return filepath.Dir(deb), []string{filepath.Base(deb)}
}
