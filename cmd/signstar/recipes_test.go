package main

// README's client recipes, run as written through a real sshd with
// signstar as the account's login shell. Each test first checks that the
// README still quotes its recipe word for word, then runs it with bash,
// with recipeHost replaced by the throwaway account and the ssh options
// that reach it.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"signstar/internal/sshdtest"
	"signstar/internal/testenv"
)

const (
	recipeHost = "signer@sign.example.org"

	aptRecipe = `ssh signer@sign.example.org sign --armor < Release > Release.gpg`

	rpmsignRecipe = `rpmsign --addsign \
    --define '_gpg_name pkg' \
    --define '__gpg_sign_cmd /bin/sh sh -c "ssh signer@sign.example.org sign --key pkg > %{__signature_filename}"' \
    hello-1.0-1.noarch.rpm`
	rpmsignPackage = "hello-1.0-1.noarch.rpm"
)

// TestAptRecipe: apt-get update accepts a repository whose Release.gpg
// README's apt recipe made, and refuses one signed without --armor.
func TestAptRecipe(t *testing.T) {
	assertREADMEQuotes(t, aptRecipe)
	ftparchive, aptGet := testenv.Tool(t, "apt-ftparchive"), testenv.Tool(t, "apt-get")
	sshdtest.Require(t)
	cert, srv := newRecipeSigner(t, "ed25519")
	tests := []struct {
		name    string
		recipe  string
		wantErr []string // in apt-get's output; nil: update succeeds
	}{
		{"armored", aptRecipe, nil},
		// apt 2.6 (Debian 12) says NODATA; later apt names the format.
		{"binary", strings.Replace(aptRecipe, " --armor", "", 1), []string{"NODATA", "unsupported binary format"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAptRepo(t, ftparchive, cert)
			runRecipe(t, srv, tt.recipe, a.suite)
			out, err := exec.Command(aptGet, append(a.options(), "update")...).CombinedOutput()
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("apt-get update: %v\n%s", err, out)
			case tt.wantErr != nil && err == nil:
				t.Fatalf("apt-get update accepted a binary Release.gpg:\n%s", out)
			case tt.wantErr != nil && !containsAny(string(out), tt.wantErr):
				t.Fatalf("apt-get update output lacks any of %q:\n%s", tt.wantErr, out)
			}
		})
	}
}

// TestRPMSignRecipe: rpm 4.18's rpmsign writes the header to
// %__gpg_sign_cmd's stdin and reads the signature from
// %{__signature_filename}; with README's macros, rpmkeys --checksig must
// accept the package once the key's certificate is imported. rpm 4.18
// refuses ECDSA certificates, so the key types are Ed25519 and RSA.
func TestRPMSignRecipe(t *testing.T) {
	assertREADMEQuotes(t, rpmsignRecipe)
	rpmbuild, rpmkeys := testenv.Tool(t, "rpmbuild"), testenv.Tool(t, "rpmkeys")
	testenv.Tool(t, "rpmsign")
	sshdtest.Require(t)
	for _, typ := range []string{"ed25519", "rsa3072"} {
		t.Run(typ, func(t *testing.T) {
			cert, srv := newRecipeSigner(t, typ)
			pkg := buildHelloRPM(t, rpmbuild)
			runRecipe(t, srv, rpmsignRecipe, filepath.Dir(pkg))
			assertRPMChecksig(t, rpmkeys, cert, pkg)
		})
	}
}

// assertREADMEQuotes fails unless README.md has recipe as an indented
// code block.
func assertREADMEQuotes(t *testing.T, recipe string) {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if block := "    " + strings.ReplaceAll(recipe, "\n", "\n    ") + "\n"; !strings.Contains(string(readme), block) {
		t.Fatalf("README.md no longer quotes the tested recipe:\n%s", block)
	}
}

// runRecipe runs recipe with bash in dir, with recipeHost replaced by the
// ssh options and account that reach srv.
func runRecipe(t *testing.T, srv *sshdtest.Server, recipe, dir string) {
	t.Helper()
	target := append(srv.Options(srv.Key), "-p", strconv.Itoa(srv.Port), srv.Target())
	script := strings.ReplaceAll(recipe, recipeHost, strings.Join(target, " "))
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s\n%v\n%s\nsshd log:\n%s", script, err, out, srv.Log())
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// newRecipeSigner is a token with one key, "pkg", served by sshd to a
// throwaway account whose login shell is signstar; it returns the key's
// certificate and the server.
func newRecipeSigner(t *testing.T, typ string) ([]byte, *sshdtest.Server) {
	t.Helper()
	f := newFixture(t)
	cert := f.generate("pkg", typ)
	srv := sshdtest.Start(t, sshdtest.Options{
		Shell: binary,
		Env:   []string{"SIGNSTAR_CONFIG=" + f.conf, f.hsm.Env()},
	})
	audit := filepath.Join(f.dir, "audit.jsonl")
	writeFile(t, audit, "", 0o600)
	srv.Grant(f.hsm.Dir, filepath.Join(f.dir, "pin"), filepath.Join(f.dir, "token.lock"), audit)
	return cert, srv
}

// assertRPMChecksig checks rpmkeys --checksig on the package rpm with a
// new rpm database: it refuses the package before cert is imported and
// accepts it after, naming the key. It returns the database.
func assertRPMChecksig(t *testing.T, rpmkeys string, cert []byte, rpm string) (db string) {
	t.Helper()
	db = filepath.Join(t.TempDir(), "rpmdb")
	if out, err := exec.Command(rpmkeys, "--dbpath", db, "--checksig", rpm).CombinedOutput(); err == nil {
		t.Fatalf("rpmkeys --checksig accepted the package before the certificate was imported:\n%s", out)
	}
	certFile := filepath.Join(t.TempDir(), "cert.asc")
	writeFile(t, certFile, cert, 0o644)
	rpmImport(t, rpmkeys, db, certFile)
	assertRPMSigned(t, rpmkeys, db, cert, rpm)
	return db
}

// rpmImport imports the certificate in certFile into the rpm database db.
func rpmImport(t *testing.T, rpmkeys, db, certFile string) {
	t.Helper()
	if out, err := exec.Command(rpmkeys, "--dbpath", db, "--import", certFile).CombinedOutput(); err != nil {
		t.Fatalf("rpmkeys --import: %v\n%s", err, out)
	}
}

// assertRPMSigned checks that rpmkeys --checksig -v, with the rpm database
// db, accepts the package rpm and names cert's key.
func assertRPMSigned(t *testing.T, rpmkeys, db string, cert []byte, rpm string) {
	t.Helper()
	out, err := exec.Command(rpmkeys, "--dbpath", db, "--checksig", "-v", rpm).CombinedOutput()
	if err != nil {
		t.Fatalf("rpmkeys --checksig refused %s: %v\n%s", filepath.Base(rpm), err, out)
	}
	fpr := fingerprintOf(t, cert)
	if want := fmt.Sprintf("key ID %s: OK", strings.ToLower(fpr[len(fpr)-8:])); !strings.Contains(string(out), want) {
		t.Errorf("rpmkeys --checksig -v lacks %q:\n%s", want, out)
	}
}

// buildHelloRPM builds an empty noarch package and returns its path.
func buildHelloRPM(t *testing.T, rpmbuild string) string {
	t.Helper()
	top := t.TempDir()
	spec := filepath.Join(top, "hello.spec")
	writeFile(t, spec, `Name: hello
Version: 1.0
Release: 1
Summary: signed by the rpmsign recipe test
License: Apache-2.0
BuildArch: noarch

%description
Signed through signstar by rpmsign.

%files
`, 0o644)
	cmd := exec.Command(rpmbuild, "-bb", "--define", "_topdir "+top, "--define", "_build_id_links none", spec)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rpmbuild: %v\n%s", err, out)
	}
	return filepath.Join(top, "RPMS", "noarch", rpmsignPackage)
}

// aptRepo is a file: repository with an empty suite "stable" (Release
// without InRelease, as signstar's detached signatures need) and apt's
// state, lists and sources in the same temp dir, so apt-get update reads
// and writes nothing of the system's.
type aptRepo struct {
	dir, suite string
}

func newAptRepo(t *testing.T, ftparchive string, cert []byte) *aptRepo {
	t.Helper()
	a := &aptRepo{dir: t.TempDir()}
	a.suite = filepath.Join(a.dir, "repo", "dists", "stable")
	for _, d := range []string{"repo/dists/stable/main/binary-all", "state/lists/partial", "cache/archives/partial", "etc/sources.list.d", "etc/apt.conf.d", "etc/preferences.d"} {
		if err := os.MkdirAll(filepath.Join(a.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(a.suite, "main", "binary-all", "Packages"), "", 0o644)
	writeFile(t, filepath.Join(a.dir, "repo.asc"), cert, 0o644)
	writeFile(t, filepath.Join(a.dir, "etc", "sources.list"), fmt.Sprintf("deb [signed-by=%s] file:%s stable main\n",
		filepath.Join(a.dir, "repo.asc"), filepath.Join(a.dir, "repo")), 0o644)
	writeRelease(t, ftparchive, a.suite)
	return a
}

// writeRelease makes the suite's Release anew with apt-ftparchive: suite
// stable, component main, architectures all and amd64.
func writeRelease(t *testing.T, ftparchive, suite string) {
	t.Helper()
	cmd := exec.Command(ftparchive, "-o", "APT::FTPArchive::Release::Suite=stable",
		"-o", "APT::FTPArchive::Release::Architectures=all amd64",
		"-o", "APT::FTPArchive::Release::Components=main", "release", ".")
	cmd.Dir = suite
	release, err := cmd.Output()
	if err != nil {
		t.Fatalf("apt-ftparchive release: %v", err)
	}
	writeFile(t, filepath.Join(suite, "Release"), release, 0o644)
}

// options point apt-get at the repository's own configuration and state.
// The file: method runs as root (APT::Sandbox::User), since the temp dirs
// are not readable by the _apt account.
func (a *aptRepo) options() []string {
	var opts []string
	for _, o := range []string{
		"Dir::Etc=" + filepath.Join(a.dir, "etc"),
		"Dir::State=" + filepath.Join(a.dir, "state"),
		"Dir::Cache=" + filepath.Join(a.dir, "cache"),
		"Debug::NoLocking=1",
		"APT::Sandbox::User=root",
	} {
		opts = append(opts, "-o", o)
	}
	return opts
}
