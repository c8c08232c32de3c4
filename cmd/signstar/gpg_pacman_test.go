package main

// makepkg --sign and repo-add --sign through the gpg front end, and pacman
// installing from the repository they made with SigLevel = Required
// DatabaseRequired: the signatures a pacman user's machine checks, made
// by a key that never left the token. makepkg and repo-add call gpg from
// PATH (gpg --list-secret-key KEY, then gpg --detach-sign --use-agent -u
// KEY --no-armor FILE); pacman checks through gpgme, which runs the real
// gpg by its absolute path with pacman's own keyring.

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"signstar/internal/testenv"
	"signstar/internal/verifytest"
)

const makepkgRecipe = `makepkg --sign --key repo
repo-add --sign --key repo myrepo.db.tar.gz *.pkg.tar.zst`

// makepkgPackage is what makepkgRecipe builds from pkgbuild.
const makepkgPackage = "signstar-hello-1-1-any.pkg.tar.zst"

const pkgbuild = `pkgname=signstar-hello
pkgver=1
pkgrel=1
pkgdesc='Signed through the signstar gpg front end'
arch=(any)
license=(Apache-2.0)

package() {
	install -d "$pkgdir/usr/share/signstar-hello"
	printf 'hello from signstar\n' >"$pkgdir/usr/share/signstar-hello/README"
}
`

// makepkgConf replaces the host's /etc/makepkg.conf (MAKEPKG_CONF), so
// that Debian's makepkg, whose defaults differ from Arch's, builds the
// same .pkg.tar.zst, as testdata/pacman/make.sh does.
const makepkgConf = `CARCH=x86_64
CHOST=x86_64-pc-linux-gnu
BUILDENV=(!distcc !color !ccache !check !sign)
OPTIONS=(!strip !docs !libtool !staticlibs emptydirs !zipman !purge !debug !lto)
INTEGRITY_CHECK=(sha256)
COMPRESSZST=(zstd -c -z -q -19 -)
PKGEXT='.pkg.tar.zst'
SRCEXT='.src.tar.zst'
`

// TestGPGMakepkg: README's makepkg recipe builds and signs a package and
// its repository database through the front end, and pacman -Sy and -S
// install it from that file:// repository once the repo key is lsigned in
// pacman's keyring; without the lsign, or with one byte of the database's
// or the package's signature changed, pacman refuses; repo-add refuses a
// key the client config does not name.
func TestGPGMakepkg(t *testing.T) {
	assertREADMEQuotes(t, makepkgRecipe)
	for _, tool := range []string{"makepkg", "repo-add", "fakeroot", "bsdtar", "zstd", "pacman", "pacman-key", "vercmp"} {
		testenv.Tool(t, tool)
	}
	g := newGPGFront(t)
	repo := g.makepkg(t, makepkgRecipe)
	for _, f := range []string{makepkgPackage + ".sig", "myrepo.db.tar.gz.sig", "myrepo.files.tar.gz.sig"} {
		sig := readFile(t, filepath.Join(repo, f))
		// pacman and repo-add read binary signatures only.
		if len(sig) == 0 || bytes.HasPrefix(sig, []byte("-----BEGIN")) {
			t.Errorf("%s is %.20q, want a binary signature", f, sig)
		}
	}
	signed := 0
	for _, r := range readAuditFile(t, g.fixture) {
		if r["SIGNSTAR_RESULT"] == "signed" {
			signed++
			r.want(t, map[string]string{"SIGNSTAR_KEY": "repo", "SIGNSTAR_MODE": "ssh"})
		}
	}
	if signed != 3 {
		t.Errorf("%d signed audit records, want 3 (package, db, files db)", signed)
	}

	// repo-add --verify checks the database's signature before it updates
	// the database, with "gpg --verify DB.sig", which the front end hands
	// to the real gpg. (repo-add --verify DB alone checks nothing in
	// pacman 6.0.2: its repodir is unset there.)
	if out, err := repoAddVerify(g, pacmanCopyRepo(t, repo)); err != nil || !strings.Contains(out, "Database signature file verified.") {
		t.Fatalf("repo-add --verify: %v\n%s", err, out)
	}

	keyring := verifytest.NewPacmanKeyring(t)
	if err := keyring.Run("--add", g.certFile("repo")); err != nil {
		t.Fatal(err)
	}
	t.Run("not lsigned", func(t *testing.T) {
		out, err := newPacmanRoot(t, repo, keyring.GPGDir).run("-Sy")
		if err == nil || !strings.Contains(out, "unknown trust") {
			t.Fatalf("pacman -Sy with the repo key added but not lsigned: %v, want unknown trust\n%s", err, out)
		}
	})
	if err := keyring.Run("--lsign-key", fingerprintOf(t, g.certs["repo"])); err != nil {
		t.Fatal(err)
	}
	t.Run("installs", func(t *testing.T) {
		p := newPacmanRoot(t, repo, keyring.GPGDir)
		p.ok(t, "-Sy")
		p.ok(t, "-S", "signstar-hello")
		got, err := os.ReadFile(filepath.Join(p.root, "usr/share/signstar-hello/README"))
		if err != nil || string(got) != "hello from signstar\n" {
			t.Fatalf("installed file: %q, %v", got, err)
		}
	})
	t.Run("database signature changed", func(t *testing.T) {
		bad := pacmanCopyRepo(t, repo)
		flipSigLastByte(t, filepath.Join(bad, "myrepo.db.tar.gz.sig"))
		if out, err := repoAddVerify(g, pacmanCopyRepo(t, bad)); err == nil || !strings.Contains(out, "Database signature was NOT valid!") {
			t.Errorf("repo-add --verify accepted a changed database signature: %v\n%s", err, out)
		}
		out, err := newPacmanRoot(t, bad, keyring.GPGDir).run("-Sy")
		if err == nil || !strings.Contains(out, "invalid or corrupted database (PGP signature)") {
			t.Fatalf("pacman -Sy accepted a changed database signature: %v\n%s", err, out)
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		// gpg --list-secret-key nosuchkey fails: repo-add stops before
		// it writes a database.
		dir := t.TempDir()
		copyFileT(t, filepath.Join(repo, makepkgPackage), filepath.Join(dir, makepkgPackage))
		out, err := g.command(dir, "repo-add", "--sign", "--key", "nosuchkey", "myrepo.db.tar.gz", makepkgPackage).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "The key nosuchkey does not exist in your keyring.") {
			t.Fatalf("repo-add --sign --key nosuchkey: %v\n%s", err, out)
		}
		if _, err := os.Stat(filepath.Join(dir, "myrepo.db.tar.gz")); err == nil {
			t.Error("repo-add wrote a database for an unknown key")
		}
	})
	t.Run("package signature changed", func(t *testing.T) {
		// repo-add embeds the package's signature in the database, which
		// it signs again, here with no --key: the front end's default key
		// (gpg --detach-sign --use-agent --no-armor FILE, no -u). pacman
		// -S checks the embedded package signature.
		bad := t.TempDir()
		copyFileT(t, filepath.Join(repo, makepkgPackage), filepath.Join(bad, makepkgPackage))
		copyFileT(t, filepath.Join(repo, makepkgPackage+".sig"), filepath.Join(bad, makepkgPackage+".sig"))
		flipSigLastByte(t, filepath.Join(bad, makepkgPackage+".sig"))
		if out, err := g.command(bad, "repo-add", "--sign", "myrepo.db.tar.gz", makepkgPackage).CombinedOutput(); err != nil || strings.Contains(string(out), "Failed to sign") {
			t.Fatalf("repo-add --sign: %v\n%s", err, out)
		}
		p := newPacmanRoot(t, bad, keyring.GPGDir)
		p.ok(t, "-Sy")
		out, err := p.run("-S", "signstar-hello")
		if err == nil || !strings.Contains(out, "invalid or corrupted package (PGP signature)") {
			t.Fatalf("pacman -S installed a package whose signature was changed: %v\n%s", err, out)
		}
	})
}

// makepkg runs recipe with bash in a new directory holding pkgbuild, with
// the front end's environment and makepkgConf, and returns the directory.
// makepkg refuses to run as root; as root the recipe runs as nobody (see
// asBuilder). repo-add warns but exits 0 when gpg fails, so its output is
// checked too.
func (g *gpgFront) makepkg(t *testing.T, recipe string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "PKGBUILD"), pkgbuild, 0o644)
	conf := filepath.Join(t.TempDir(), "makepkg.conf")
	writeFile(t, conf, makepkgConf, 0o644)
	args := append(asBuilder(t), "bash", "-euo", "pipefail", "-c", recipe)
	cmd := g.command(dir, args[0], args[1:]...)
	cmd.Env = append(cmd.Env, "MAKEPKG_CONF="+conf, "HOME="+dir, "LC_ALL=C",
		"PACKAGER=signstar tests <signstar@example.org>")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "Failed to sign") {
		g.recipeFailed(t, recipe, err, out)
	}
	return dir
}

// repoAddVerify runs repo-add --verify --sign on the repository in dir,
// adding its package again, and returns repo-add's output.
func repoAddVerify(g *gpgFront, dir string) (string, error) {
	out, err := g.command(dir, "repo-add", "--verify", "--sign", "--key", "repo", "myrepo.db.tar.gz", makepkgPackage).CombinedOutput()
	return string(out), err
}

// asBuilder is the command prefix that runs makepkg, which refuses root:
// none for a user, and for root unshare into a new user namespace where
// root is mapped to nobody. makepkg then sees uid 65534 while the files
// the front end reads (the harness's 0700 temp dirs, the ssh identity,
// the client config) stay its own, which setpriv to nobody would not
// give.
func asBuilder(t *testing.T) []string {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	unshare := testenv.Tool(t, "unshare")
	prefix := []string{unshare, "--user", "--map-user=65534", "--map-group=65534"}
	if out, err := exec.Command(prefix[0], append(prefix[1:], "true")...).CombinedOutput(); err != nil {
		testenv.SkipOrFatal(t, "makepkg refuses root, and unshare cannot map root to nobody: %v\n%s", err, out)
	}
	return prefix
}

// pacmanRoot is a scratch pacman installation: its root, database,
// cache, log and hook directories under one temporary directory, and a
// pacman.conf with the repository "myrepo" at file://repo and SigLevel =
// Required DatabaseRequired. Nothing of the system's pacman is read or
// written.
type pacmanRoot struct {
	dir, root string
	args      []string
}

func newPacmanRoot(t *testing.T, repo, gpgdir string) *pacmanRoot {
	t.Helper()
	dir := t.TempDir()
	p := &pacmanRoot{dir: dir, root: filepath.Join(dir, "root")}
	for _, d := range []string{"root", "db", "cache", "hooks"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(dir, "pacman.conf")
	writeFile(t, conf, "[options]\nHookDir = "+filepath.Join(dir, "hooks")+
		"\nArchitecture = auto\nSigLevel = Required DatabaseRequired\n\n[myrepo]\nServer = file://"+repo+"\n", 0o644)
	p.args = append(verifytest.AsRoot(t), testenv.Tool(t, "pacman"), "--noconfirm", "--noprogressbar", "--color", "never",
		"--config", conf, "--root", p.root, "--dbpath", filepath.Join(dir, "db"),
		"--cachedir", filepath.Join(dir, "cache"), "--gpgdir", gpgdir, "--logfile", filepath.Join(dir, "pacman.log"))
	return p
}

// run runs pacman with args and returns its combined output.
func (p *pacmanRoot) run(args ...string) (string, error) {
	a := append(append([]string(nil), p.args...), args...)
	cmd := exec.Command(a[0], a[1:]...)
	cmd.Dir = p.dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// ok runs pacman with args and fails the test unless it exits 0.
func (p *pacmanRoot) ok(t *testing.T, args ...string) {
	t.Helper()
	if out, err := p.run(args...); err != nil {
		t.Fatalf("pacman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// pacmanCopyRepo copies a repository directory, its files and repo-add's
// relative symlinks (myrepo.db -> myrepo.db.tar.gz), into a new one.
func pacmanCopyRepo(t *testing.T, repo string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(repo)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		from := filepath.Join(repo, e.Name())
		switch {
		case e.Type().IsRegular():
			copyFileT(t, from, filepath.Join(dst, e.Name()))
		case e.Type()&os.ModeSymlink != 0:
			target, err := os.Readlink(from)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, filepath.Join(dst, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dst
}

// flipSigLastByte changes one byte of a signature: the last byte of its
// signature value, so that it still parses and no longer verifies.
func flipSigLastByte(t *testing.T, path string) {
	t.Helper()
	data := readFile(t, path)
	data[len(data)-1] ^= 0x01
	writeFile(t, path, data, 0o644)
}
