package main

// apt repositories signed through the gpg front end the way Debian's
// tools call gpg: by hand as apt-secure(8) says (apt-ftparchive), through
// reprepro's SignWith hook, and by aptly through PATH. The verifier is
// apt-get update trusting only the repository's certificate (signed-by);
// apt-get install then puts the package into a scratch dpkg root. Every
// apt run reads an APT_CONFIG whose Dir::Etc is the scratch one, so that
// none of the host's apt.conf.d hooks (Post-Invoke, Pre-Install-Pkgs)
// run and nothing of the system's apt or dpkg state is touched.

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

// README's "Release tooling" recipes, quoted word for word.
const (
	// apt-secure(8)'s two commands, run in dists/SUITE after
	// apt-ftparchive release.
	gpgAptInReleaseRecipe  = `gpg --clearsign -o InRelease Release`
	gpgAptReleaseGPGRecipe = `gpg -abs -o Release.gpg Release`
	// A key transition: InRelease signed by the old and the new key.
	gpgAptTransitionRecipe = `gpg -u old -u new --clearsign -o InRelease Release`

	// reprepro signs through gpgme, which runs /usr/bin/gpg whatever PATH
	// says, so it signs through a SignWith hook in conf/: the script gets
	// Release.new, then InRelease.new and Release.gpg.new, each empty
	// when reprepro does not want it (man reprepro, SignWith).
	gpgAptRepreproDistributions = `Codename: stable
Architectures: amd64
Components: main
SignWith: ! sign-release`
	gpgAptRepreproHook = `#!/bin/sh
set -e
[ -z "$2" ] || gpg --clearsign -o "$2" "$1"
[ -z "$3" ] || gpg -abs -o "$3" "$1"`
	gpgAptRepreproRecipe = `reprepro -b . includedeb stable hello_1.0_all.deb`

	// aptly finds gpg through PATH (gpgProvider "gpg", the default).
	gpgAptAptlyRecipe = `aptly repo create -distribution=stable -component=main hello
aptly repo add hello hello_1.0_all.deb
aptly publish repo -gpg-key=repo@example.org hello`
)

// TestGPGAptFTPArchive: a repository with only InRelease made by
// apt-secure's gpg --clearsign, and one with only the armored Release.gpg
// made by gpg -abs, both through the front end: apt-get update accepts
// each and apt-get install installs the package; one byte changed in the
// signed text makes apt-get update fail.
func TestGPGAptFTPArchive(t *testing.T) {
	ftparchive, aptGet := testenv.Tool(t, "apt-ftparchive"), testenv.Tool(t, "apt-get")
	testenv.Tool(t, "dpkg-deb")
	assertREADMEQuotes(t, gpgAptInReleaseRecipe)
	assertREADMEQuotes(t, gpgAptReleaseGPGRecipe)
	g := newGPGFront(t)
	tests := []struct {
		name    string
		recipe  string
		keep    string // the one signed file the repository serves
		tamper  bool   // change one byte of what was signed
		wantErr string // in apt-get update's output; empty: it succeeds
	}{
		{"InRelease", gpgAptInReleaseRecipe, "InRelease", false, ""},
		{"InRelease one byte changed", gpgAptInReleaseRecipe, "InRelease", true, "BADSIG"},
		{"Release.gpg", gpgAptReleaseGPGRecipe, "Release.gpg", false, ""},
		{"Release.gpg one byte changed", gpgAptReleaseGPGRecipe, "Release.gpg", true, "BADSIG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAptRepo(t, ftparchive, g.certs["repo"])
			gpgAptAddDeb(t, ftparchive, a)
			g.runRecipe(t, a.suite, tt.recipe)
			if tt.keep == "InRelease" {
				// InRelease only: apt must not fall back to Release.gpg.
				gpgAptRemove(t, a.suite, "Release")
			}
			signed := filepath.Join(a.suite, tt.keep)
			if tt.keep == "Release.gpg" {
				signed = filepath.Join(a.suite, "Release")
				if b := readFile(t, filepath.Join(a.suite, "Release.gpg")); !bytes.HasPrefix(b, []byte("-----BEGIN PGP SIGNATURE-----")) {
					t.Fatalf("Release.gpg is not armored:\n%q", b)
				}
			}
			if tt.tamper {
				gpgAptChangeByte(t, signed)
			}
			out, err := gpgAptGet(g, aptGet, a, "update")
			if tt.wantErr != "" {
				if err == nil && !bytes.Contains(out, []byte("E: ")) {
					t.Fatalf("apt-get update accepted a changed %s:\n%s", filepath.Base(signed), out)
				}
				if !bytes.Contains(out, []byte(tt.wantErr)) {
					t.Fatalf("apt-get update output lacks %q:\n%s", tt.wantErr, out)
				}
				return
			}
			gpgAptUpdated(t, out, err, "stable "+tt.keep)
			gpgAptInstall(t, g, aptGet, a)
		})
	}
}

// TestGPGAptTransition: InRelease signed by two keys with gpg -u old -u
// new; apt-get update accepts it trusting only the new key, and refuses
// it trusting neither.
func TestGPGAptTransition(t *testing.T) {
	ftparchive, aptGet := testenv.Tool(t, "apt-ftparchive"), testenv.Tool(t, "apt-get")
	testenv.Tool(t, "dpkg-deb")
	assertREADMEQuotes(t, gpgAptTransitionRecipe)
	g := newGPGFront(t)
	g.addKey("old", "p256")
	g.addKey("new", "ed25519")
	oldCert, newCert := g.certs["old"], g.certs["new"]
	tests := []struct {
		name    string
		trusted []byte // the only certificate apt trusts
		wantErr string // empty: update succeeds
	}{
		{"trusts the new key", newCert, ""},
		{"trusts neither", g.certs["pkg"], "NO_PUBKEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAptRepo(t, ftparchive, tt.trusted)
			gpgAptAddDeb(t, ftparchive, a)
			g.runRecipe(t, a.suite, gpgAptTransitionRecipe)
			gpgAptRemove(t, a.suite, "Release")
			msg := readFile(t, filepath.Join(a.suite, "InRelease"))
			got := verifytest.GPGVSigners(t, [][]byte{oldCert, newCert}, nil, msg)
			want := []string{fingerprintOf(t, oldCert), fingerprintOf(t, newCert)}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("gpgv finds good signatures by %q, want %q (old, new)", got, want)
			}
			out, err := gpgAptGet(g, aptGet, a, "update")
			if tt.wantErr != "" {
				if err == nil && !bytes.Contains(out, []byte("E: ")) || !bytes.Contains(out, []byte(tt.wantErr)) {
					t.Fatalf("apt-get update trusting neither key: %v, want an error naming %s\n%s", err, tt.wantErr, out)
				}
				return
			}
			gpgAptUpdated(t, out, err, "stable InRelease")
			gpgAptInstall(t, g, aptGet, a)
		})
	}
}

// TestGPGAptReprepro: reprepro includedeb signs through README's SignWith
// hook, which calls the front end as gpg; the hook writes InRelease.new
// and Release.gpg.new, and apt-get update accepts the repository trusting
// the key, and refuses it trusting another.
func TestGPGAptReprepro(t *testing.T) {
	testenv.DebianTool(t, "reprepro")
	ftparchive, aptGet := testenv.Tool(t, "apt-ftparchive"), testenv.Tool(t, "apt-get")
	testenv.Tool(t, "dpkg-deb")
	for _, r := range []string{gpgAptRepreproDistributions, gpgAptRepreproHook, gpgAptRepreproRecipe} {
		assertREADMEQuotes(t, r)
	}
	g := newGPGFront(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "conf", "distributions"), gpgAptRepreproDistributions+"\n", 0o644)
	writeFile(t, filepath.Join(dir, "conf", "sign-release"), gpgAptRepreproHook+"\n", 0o755)
	buildHelloDeb(t, dir)
	g.runRecipe(t, dir, gpgAptRepreproRecipe)
	gpgAptCheckPublished(t, g, filepath.Join(dir, "dists", "stable"))
	gpgAptCheckApt(t, g, ftparchive, aptGet, dir)
}

// TestGPGAptAptly: aptly 1.5 finds the front end as gpg in PATH (it runs
// gpg --version, gpg --list-keys --dry-run, then -o OUT --digest-algo
// SHA256 [--armor] --yes -u KEY --detach-sign / --clearsign IN); apt-get
// update accepts the published tree trusting the key, and refuses it
// trusting another.
func TestGPGAptAptly(t *testing.T) {
	testenv.DebianTool(t, "aptly")
	ftparchive, aptGet := testenv.Tool(t, "apt-ftparchive"), testenv.Tool(t, "apt-get")
	testenv.Tool(t, "dpkg-deb")
	assertREADMEQuotes(t, gpgAptAptlyRecipe)
	g := newGPGFront(t)
	dir, home := t.TempDir(), t.TempDir()
	root := filepath.Join(t.TempDir(), "aptly")
	// aptly reads ~/.aptly.conf; gpgProvider "gpg" is its default, written
	// out so that a changed default shows here.
	writeFile(t, filepath.Join(home, ".aptly.conf"),
		fmt.Sprintf(`{"rootDir": %q, "architectures": ["amd64"], "gpgProvider": "gpg"}`+"\n", root), 0o644)
	buildHelloDeb(t, dir)
	g.runRecipe(t, dir, gpgAptAptlyRecipe, "HOME="+home)
	public := filepath.Join(root, "public")
	gpgAptCheckPublished(t, g, filepath.Join(public, "dists", "stable"))
	gpgAptCheckApt(t, g, ftparchive, aptGet, public)
}

// gpgAptCheckPublished checks what reprepro or aptly published in the
// suite: InRelease and the armored Release.gpg by the key "repo", as gpgv
// sees them.
func gpgAptCheckPublished(t *testing.T, g *gpgFront, suite string) {
	t.Helper()
	cert := g.certs["repo"]
	if err := verifytest.ClearGPGV(t, cert, readFile(t, filepath.Join(suite, "InRelease"))); err != nil {
		t.Errorf("gpgv InRelease: %v", err)
	}
	sig := readFile(t, filepath.Join(suite, "Release.gpg"))
	if !bytes.HasPrefix(sig, []byte("-----BEGIN PGP SIGNATURE-----")) {
		t.Errorf("Release.gpg is not armored:\n%q", sig)
	}
	if err := verifytest.GPGV(t, cert, readFile(t, filepath.Join(suite, "Release")), sig); err != nil {
		t.Errorf("gpgv Release.gpg: %v", err)
	}
}

// gpgAptCheckApt points apt at the published tree under root: apt-get
// update must accept it and install the package when apt trusts the key
// "repo", and fail when it trusts only "pkg".
func gpgAptCheckApt(t *testing.T, g *gpgFront, ftparchive, aptGet, root string) {
	t.Helper()
	for _, trusted := range []string{"repo", "pkg"} {
		a := newAptRepo(t, ftparchive, g.certs[trusted])
		writeFile(t, filepath.Join(a.dir, "etc", "sources.list"), []byte(fmt.Sprintf("deb [signed-by=%s] file:%s stable main\n",
			filepath.Join(a.dir, "repo.asc"), root)), 0o644)
		out, err := gpgAptGet(g, aptGet, a, "update")
		if trusted == "pkg" {
			if err == nil && !bytes.Contains(out, []byte("E: ")) || !bytes.Contains(out, []byte("NO_PUBKEY")) {
				t.Fatalf("apt-get update trusting another key: %v, want NO_PUBKEY\n%s", err, out)
			}
			continue
		}
		gpgAptUpdated(t, out, err, "stable InRelease")
		gpgAptInstall(t, g, aptGet, a)
	}
}

// gpgAptAddDeb puts the package into newAptRepo's repository and makes
// Packages and Release anew, with newAptRepo's Release fields.
func gpgAptAddDeb(t *testing.T, ftparchive string, a *aptRepo) {
	t.Helper()
	repo := filepath.Join(a.dir, "repo")
	if err := os.MkdirAll(filepath.Join(repo, "pool"), 0o755); err != nil {
		t.Fatal(err)
	}
	buildHelloDeb(t, filepath.Join(repo, "pool"))
	cmd := exec.Command(ftparchive, "packages", "pool")
	cmd.Dir = repo
	packages, err := cmd.Output()
	if err != nil || !bytes.Contains(packages, []byte("Package: hello")) {
		t.Fatalf("apt-ftparchive packages: %v\n%s", err, packages)
	}
	writeFile(t, filepath.Join(a.suite, "main", "binary-all", "Packages"), packages, 0o644)
	writeRelease(t, ftparchive, a.suite)
}

// gpgAptGet runs apt-get with a's options and an APT_CONFIG that moves
// Dir::Etc before the host's apt.conf.d is read, and returns its output.
func gpgAptGet(g *gpgFront, aptGet string, a *aptRepo, args ...string) ([]byte, error) {
	conf := filepath.Join(a.dir, "apt.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("Dir::Etc %q;\n", filepath.Join(a.dir, "etc"))), 0o644); err != nil {
		return nil, err
	}
	cmd := g.command(a.dir, aptGet, append(a.options(), args...)...)
	cmd.Env = append(cmd.Env, "APT_CONFIG="+conf)
	return cmd.CombinedOutput()
}

// gpgAptUpdated fails unless apt-get update succeeded without a warning
// and fetched the signed file named in want ("stable InRelease").
func gpgAptUpdated(t *testing.T, out []byte, err error, want string) {
	t.Helper()
	if err != nil || bytes.Contains(out, []byte("W: ")) || bytes.Contains(out, []byte("E: ")) || !bytes.Contains(out, []byte(want)) {
		t.Fatalf("apt-get update: %v (want %q fetched, no W: or E:)\n%s", err, want, out)
	}
}

// gpgAptInstall runs apt-get install hello into a scratch dpkg root and
// admindir under a.dir, and checks the installed file.
func gpgAptInstall(t *testing.T, g *gpgFront, aptGet string, a *aptRepo) {
	t.Helper()
	root := filepath.Join(a.dir, "root")
	admin := filepath.Join(root, "var", "lib", "dpkg")
	for _, d := range []string{filepath.Join(admin, "info"), filepath.Join(admin, "updates"), filepath.Join(a.dir, "log")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(admin, "status"), "", 0o644)
	var args []string
	for _, o := range []string{
		"Dir::Log=" + filepath.Join(a.dir, "log"),
		"Dir::State::status=" + filepath.Join(admin, "status"),
		"DPkg::Options::=--root=" + root,
		"DPkg::Options::=--admindir=" + admin,
		"DPkg::Options::=--log=" + filepath.Join(a.dir, "dpkg.log"),
		"DPkg::Options::=--force-not-root",
		"DPkg::Options::=--force-script-chrootless",
		"Dpkg::Use-Pty=0",
	} {
		args = append(args, "-o", o)
	}
	out, err := gpgAptGet(g, aptGet, a, append(args, "install", "-y", "hello")...)
	if err != nil || !bytes.Contains(out, []byte("Setting up hello (1.0)")) {
		t.Fatalf("apt-get install hello: %v\n%s", err, out)
	}
	if got := readFile(t, filepath.Join(root, "usr", "share", "hello", "hello.txt")); string(got) != "hello\n" {
		t.Fatalf("installed hello.txt = %q", got)
	}
}

// gpgAptChangeByte changes one byte of the signed text: "main" in the
// Components line becomes "maim".
func gpgAptChangeByte(t *testing.T, path string) {
	t.Helper()
	writeFile(t, path, replaceOnce(t, readFile(t, path), "Components: main", "Components: maim"), 0o644)
}

func gpgAptRemove(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}
