package main

// The harness of the gpg front end's tests: signstar installed as a
// release engineer installs it, a directory first in PATH holding gpg ->
// signstar, and a client config that names the test sshd as the signing
// host and pins each key's certificate. The release tools under test
// (makepkg, apt, reprepro, aptly, debsign, rpmsign, git, debsigs) run with
// gpgFront.env and find the front end where they look for gpg.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"signstar/internal/testenv"
	"signstar/internal/verifytest"
	"signstar/pkg/pgp"
)

// gpgFront is an sshFixture (keys "repo", ed25519 and the default, and
// "pkg", p256) reached through the gpg front end.
type gpgFront struct {
	*sshFixture
	bin        string // first in PATH: gpg and signstar-gpg -> signstar
	clientConf string // SIGNSTAR_CLIENT_CONFIG
	gnupgHome  string // a real gpg's keyring holding every key's certificate
	keys       []string
	certs      map[string][]byte
	// env is the environment of a release tool: PATH, the client config,
	// GNUPGHOME, and no signstar config of the host's.
	env []string
}

func newGPGFront(t *testing.T) *gpgFront {
	t.Helper()
	s := newSSHFixture(t, "")
	g := &gpgFront{
		sshFixture: s,
		bin:        filepath.Join(t.TempDir(), "bin"),
		clientConf: filepath.Join(t.TempDir(), "client.toml"),
		gnupgHome:  t.TempDir(),
		certs:      map[string][]byte{"repo": s.repoCert, "pkg": s.pkgCert},
		keys:       []string{"repo", "pkg"},
	}
	if err := os.Mkdir(g.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"gpg", "signstar-gpg"} {
		if err := os.Symlink(binary, filepath.Join(g.bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	g.env = g.environ(os.Environ(), g.clientConf)
	g.writeClientConf()
	for _, name := range g.keys {
		g.importCert(name)
	}
	return g
}

// environ is base with PATH led by the front end's directory, clientConf
// as the client config, and the host's signstar config unset: a release
// engineer's machine has no token.
func (g *gpgFront) environ(base []string, clientConf string) []string {
	var env []string
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "PATH", "SIGNSTAR_CONFIG", "SIGNSTAR_CLIENT_CONFIG", "GNUPGHOME", "XDG_CONFIG_HOME":
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"PATH="+g.bin+":"+os.Getenv("PATH"),
		"SIGNSTAR_CLIENT_CONFIG="+clientConf,
		"GNUPGHOME="+g.gnupgHome,
		"XDG_CONFIG_HOME="+filepath.Join(g.gnupgHome, "xdg"),
	)
}

// addKey generates another key on the token and pins it in the client
// config; it returns the certificate.
func (g *gpgFront) addKey(name, typ string) []byte {
	g.t.Helper()
	cert := g.generate(name, typ)
	g.srv.Grant(g.hsm.Dir) // the new key's objects, made as root, for the signing account
	g.certs[name] = cert
	g.keys = append(g.keys, name)
	g.writeClientConf()
	g.importCert(name)
	return cert
}

// writeClientConf writes the client config: the sshd as the only host,
// the ssh options that reach it, and every key pinned, "repo" the default.
func (g *gpgFront) writeClientConf() {
	g.t.Helper()
	var b strings.Builder
	opts := append(g.srv.Options(g.srv.Key), "-p", strconv.Itoa(g.srv.Port))
	fmt.Fprintf(&b, "hosts = [%q]\nssh-options = [", g.srv.Target())
	for i, o := range opts {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", o)
	}
	b.WriteString("]\n")
	for _, name := range g.keys {
		fmt.Fprintf(&b, "\n[keys.%s]\ncert = %q\n", name, g.certFile(name))
		if name == "repo" {
			b.WriteString("default = true\n")
		}
	}
	if err := os.WriteFile(g.clientConf, []byte(b.String()), 0o644); err != nil {
		g.t.Fatal(err)
	}
}

// certFile is where the pinned certificate of the key name lies.
func (g *gpgFront) certFile(name string) string {
	return filepath.Join(g.dir, "certs", name+".asc")
}

// importCert puts the key's certificate into the real gpg's keyring
// (GNUPGHOME), which the verifiers the release tools run (git verify-tag,
// gpg --verify) read, and trusts it ultimately so that gpg reports its
// signatures as good without a trust warning.
func (g *gpgFront) importCert(name string) {
	g.t.Helper()
	gpg := testenv.Tool(g.t, "gpg")
	cmd := exec.Command(gpg, "--batch", "--import", g.certFile(name))
	cmd.Env = g.env
	if out, err := cmd.CombinedOutput(); err != nil {
		g.t.Fatalf("gpg --import %s: %v\n%s", name, err, out)
	}
	fpr := fingerprintOf(g.t, g.certs[name])
	cmd = exec.Command(gpg, "--batch", "--import-ownertrust")
	cmd.Env = g.env
	cmd.Stdin = strings.NewReader(fpr + ":6:\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		g.t.Fatalf("gpg --import-ownertrust: %v\n%s", err, out)
	}
}

// command is name (a release tool, or "gpg": the front end) run in dir
// with the front end's environment.
func (g *gpgFront) command(dir, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = g.env
	return cmd
}

// clientEnv is the front end's environment with conf, written to a file,
// as the client config.
func (g *gpgFront) clientEnv(t *testing.T, conf string) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "client.toml")
	writeFile(t, path, conf, 0o644)
	return g.environ(os.Environ(), path)
}

// recipe is recipe run with bash -euo pipefail in dir, with the front
// end's environment and env added to it.
func (g *gpgFront) recipe(dir, recipe string, env ...string) *exec.Cmd {
	cmd := g.command(dir, "bash", "-euo", "pipefail", "-c", recipe)
	cmd.Env = slices.Concat(g.env, env)
	return cmd
}

// runRecipe runs recipe as g.recipe does and fails the test unless it
// exits 0.
func (g *gpgFront) runRecipe(t *testing.T, dir, recipe string, env ...string) {
	t.Helper()
	if out, err := g.recipe(dir, recipe, env...).CombinedOutput(); err != nil {
		g.recipeFailed(t, recipe, err, out)
	}
}

// recipeFailed fails the test for a recipe that failed with err and
// printed out, showing the sshd log and the signing host's audit trail.
func (g *gpgFront) recipeFailed(t *testing.T, recipe string, err error, out []byte) {
	t.Helper()
	audit, _ := os.ReadFile(filepath.Join(g.dir, "audit.jsonl"))
	t.Fatalf("%s\n%v\n%s\nsshd log:\n%s\naudit:\n%s", recipe, err, out, g.srv.Log(), audit)
}

// gpg runs the front end as "gpg" from PATH in dir, with stdin (nil:
// empty), and returns what the caller saw.
func (g *gpgFront) gpg(dir string, stdin []byte, args ...string) result {
	g.t.Helper()
	return g.gpgEnv(g.env, dir, stdin, args...)
}

// gpgEnv is g.gpg with env as the front end's environment.
func (g *gpgFront) gpgEnv(env []string, dir string, stdin []byte, args ...string) result {
	g.t.Helper()
	cmd := g.command(dir, filepath.Join(g.bin, "gpg"), args...)
	cmd.Args[0] = "gpg"
	cmd.Env = env
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	return g.result(cmd, cmd.Run(), &out, &errb)
}

// fingerprintOf is the fingerprint of an armored certificate, as 'key
// list' and gpg print it.
func fingerprintOf(t *testing.T, cert []byte) string {
	t.Helper()
	c, err := pgp.ReadCertificate(bytes.NewReader(cert))
	if err != nil {
		t.Fatal(err)
	}
	return c.Fingerprint()
}

// writeFile writes data (text or bytes) to path with mode, making its
// directory.
func writeFile[D string | []byte](t *testing.T, path string, data D, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// writeFiles writes each text of files under root, by its slash-separated
// name.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		writeFile(t, filepath.Join(root, filepath.FromSlash(name)), text, 0o644)
	}
}

// replaceOnce is data with its first old replaced by new: the tests'
// one-byte change of a signed text or package. It fails the test unless
// data holds old.
func replaceOnce(t *testing.T, data []byte, old, new string) []byte {
	t.Helper()
	if !bytes.Contains(data, []byte(old)) {
		t.Fatalf("BUG: no %q in %.200q", old, data)
	}
	return bytes.Replace(data, []byte(old), []byte(new), 1)
}

// buildHelloDeb builds hello_1.0_all.deb, one file
// /usr/share/hello/hello.txt, into dir with dpkg-deb and returns its path.
func buildHelloDeb(t *testing.T, dir string) string {
	t.Helper()
	dpkgDeb := testenv.Tool(t, "dpkg-deb")
	tree := t.TempDir()
	writeFiles(t, tree, map[string]string{
		"DEBIAN/control": `Package: hello
Version: 1.0
Architecture: all
Section: misc
Priority: optional
Maintainer: Signstar tests <tests@example.org>
Description: signed through the gpg front end
`,
		"usr/share/hello/hello.txt": "hello\n",
	})
	deb := filepath.Join(dir, "hello_1.0_all.deb")
	if out, err := exec.Command(dpkgDeb, "--root-owner-group", "--build", tree, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb --build: %v\n%s", err, out)
	}
	return deb
}

// TestGPGFrontEnd: the command lines of makepkg, apt-secure(8) and git,
// run through the front end against the signing host, make signatures
// gpgv, sqv and sq accept, written where gpg writes them.
func TestGPGFrontEnd(t *testing.T) {
	g := newGPGFront(t)
	dir := t.TempDir()
	data := []byte("Origin: signstar\nSuite: stable\n")
	writeFile(t, filepath.Join(dir, "Release"), data, 0o644)
	read := func(name string) []byte {
		t.Helper()
		return readFile(t, filepath.Join(dir, name))
	}
	t.Run("makepkg", func(t *testing.T) {
		r := g.gpg(dir, nil, "--detach-sign", "--use-agent", "-u", "repo", "--no-armor", "Release")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		verifytest.All(t, g.repoCert, data, read("Release.sig"))
	})
	t.Run("apt-secure clearsign", func(t *testing.T) {
		r := g.gpg(dir, nil, "--clearsign", "-o", "InRelease", "Release")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		verifytest.AllClear(t, g.repoCert, read("InRelease"))
	})
	t.Run("git", func(t *testing.T) {
		r := g.gpg(dir, data, "--status-fd=2", "-bsau", "Test pkg <pkg@example.org>")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if !strings.HasPrefix(string(r.stdout), "-----BEGIN PGP SIGNATURE-----\n") {
			t.Fatalf("stdout is not an armored signature:\n%s", r.stdout)
		}
		verifytest.All(t, g.pkgCert, data, r.stdout)
		want := "\n[GNUPG:] SIG_CREATED D 19 10 00 "
		if !strings.Contains(string(r.stderr), want) || !strings.Contains(string(r.stderr), fingerprintOf(t, g.pkgCert)+"\n") {
			t.Errorf("stderr lacks %q ... fingerprint:\n%s", want, r.stderr)
		}
	})
}
