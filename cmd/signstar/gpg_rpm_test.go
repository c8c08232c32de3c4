package main

// rpmsign through the gpg front end. rpm 4.18 runs %__gpg_sign_cmd, which
// execs %{__gpg} (on Debian /usr/bin/gpg2, a path that does not exist) by
// absolute path with argv[0] "gpg", so PATH alone never reaches the front
// end: README's recipe points %__gpg at whatever gpg PATH finds first.

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"signstar/internal/testenv"
)

// rpmsignFrontRecipe is README's recipe for rpmsign through the front
// end; rpm passes `--no-verbose --no-armor --no-secmem-warning -u pkg
// -sbo SIGFILE -- -` with the header on stdin.
const rpmsignFrontRecipe = `rpmsign --addsign --define "__gpg $(command -v gpg)" --define '_gpg_name pkg' \
    hello-1.0-1.noarch.rpm`

// TestGPGFrontRPMSign: rpmsign --addsign signs through the front end with
// an Ed25519 and an RSA key (rpm 4.18 refuses ECDSA); rpmkeys --checksig
// refuses the package before the key's certificate is imported, accepts
// it after, naming the key, and refuses it with one byte of the signed
// header changed. %__gpg may also be the signstar binary itself, since rpm
// runs it as "gpg".
func TestGPGFrontRPMSign(t *testing.T) {
	assertREADMEQuotes(t, rpmsignFrontRecipe)
	rpmbuild, rpmkeys := testenv.Tool(t, "rpmbuild"), testenv.Tool(t, "rpmkeys")
	testenv.Tool(t, "rpmsign")
	g := newGPGFront(t)
	g.addKey("ed", "ed25519")
	g.addKey("rsa", "rsa3072")
	tests := []struct {
		name, key, script string
	}{
		{"README recipe ed25519", "ed", rpmsignFrontRecipe},
		{"README recipe rsa3072", "rsa", rpmsignFrontRecipe},
		{"signstar as __gpg", "ed",
			fmt.Sprintf("rpmsign --addsign --define '__gpg %s' --define '_gpg_name pkg' %s", binary, rpmsignPackage)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The harness's "pkg" is P-256, which rpm 4.18 refuses: the
			// recipe's key name stands for an Ed25519 or RSA key.
			script := strings.Replace(tt.script, "_gpg_name pkg", "_gpg_name "+tt.key, 1)
			cert := g.certs[tt.key]
			rpm := buildHelloRPM(t, rpmbuild)
			g.runRecipe(t, filepath.Dir(rpm), script)
			db := assertRPMChecksig(t, rpmkeys, cert, rpm)
			// One byte of the header, which the signature covers.
			bad := filepath.Join(t.TempDir(), rpmsignPackage)
			writeFile(t, bad, replaceOnce(t, readFile(t, rpm), "Signed through signstar by rpmsign.", "signed through signstar by rpmsign."), 0o644)
			if out, err := exec.Command(rpmkeys, "--dbpath", db, "--checksig", bad).CombinedOutput(); err == nil {
				t.Errorf("rpmkeys --checksig accepted the package with one byte of its header changed:\n%s", out)
			}
		})
	}
}

// TestGPGFrontRPMSignDigest: rpm adds --digest-algo=X when
// %_gpg_digest_algo is set. SHA-256 is signed (rpmkeys --checksig accepts
// the package); SHA-1 is refused by the front end with one line, rpmsign
// fails and the package is left as it was.
func TestGPGFrontRPMSignDigest(t *testing.T) {
	rpmbuild, rpmkeys := testenv.Tool(t, "rpmbuild"), testenv.Tool(t, "rpmkeys")
	testenv.Tool(t, "rpmsign")
	g := newGPGFront(t)
	g.addKey("ed", "ed25519")
	db := filepath.Join(t.TempDir(), "rpmdb")
	rpmImport(t, rpmkeys, db, g.certFile("ed"))
	sign := `rpmsign --addsign --define "__gpg $(command -v gpg)" --define '_gpg_name ed' --define '_gpg_digest_algo %s' ` + rpmsignPackage

	rpm := buildHelloRPM(t, rpmbuild)
	g.runRecipe(t, filepath.Dir(rpm), fmt.Sprintf(sign, "sha256"))
	assertRPMSigned(t, rpmkeys, db, g.certs["ed"], rpm)

	rpm = buildHelloRPM(t, rpmbuild)
	before := readFile(t, rpm)
	out, err := g.recipe(filepath.Dir(rpm), fmt.Sprintf(sign, "sha1")).CombinedOutput()
	if err == nil {
		t.Fatalf("rpmsign with --digest-algo=sha1 succeeded:\n%s", out)
	}
	if want := "signstar: error: refused: gpg --digest-algo sha1: a weak hash"; !strings.Contains(string(out), want) {
		t.Errorf("rpmsign's output lacks %q:\n%s", want, out)
	}
	if !bytes.Equal(readFile(t, rpm), before) {
		t.Error("the refused rpmsign changed the package")
	}
}
