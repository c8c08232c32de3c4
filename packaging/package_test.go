// Package packaging holds signstar's distribution packaging (debian/ and
// arch/) and its test: 'just package' (scripts/package) builds the .deb
// and the .pkg.tar.zst, and the test installs the one, lists the other,
// runs lintian and builds both twice to compare them byte for byte.
package packaging

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"signstar/internal/testenv"
)

// debFiles is every file the .deb installs (dpkg -L, directories left
// out): Debian's places for completions (zsh: vendor-completions), the
// man page and README compressed by dh_compress, copyright for LICENSE.
var debFiles = []string{
	"/usr/bin/signstar",
	"/usr/lib/sysusers.d/signstar.conf",
	"/usr/lib/tmpfiles.d/signstar.conf",
	"/usr/share/bash-completion/completions/signstar",
	"/usr/share/doc/signstar/README.md.gz",
	"/usr/share/doc/signstar/changelog.Debian.gz",
	"/usr/share/doc/signstar/copyright",
	"/usr/share/fish/vendor_completions.d/signstar.fish",
	"/usr/share/man/man1/signstar.1.gz",
	"/usr/share/signstar/50-signstar.conf",
	"/usr/share/signstar/authorized_keys.example",
	"/usr/share/signstar/host.example.toml",
	"/usr/share/zsh/vendor-completions/_signstar",
}

// archFiles is every file of the Arch package (bsdtar -tf, directories
// left out): pacman's metadata, zsh's site-functions, the man page
// compressed by makepkg (zipman), LICENSE under /usr/share/licenses.
var archFiles = []string{
	".BUILDINFO",
	".MTREE",
	".PKGINFO",
	"usr/bin/signstar",
	"usr/lib/sysusers.d/signstar.conf",
	"usr/lib/tmpfiles.d/signstar.conf",
	"usr/share/bash-completion/completions/signstar",
	"usr/share/doc/signstar/README.md",
	"usr/share/fish/vendor_completions.d/signstar.fish",
	"usr/share/licenses/signstar/LICENSE",
	"usr/share/man/man1/signstar.1.gz",
	"usr/share/signstar/50-signstar.conf",
	"usr/share/signstar/authorized_keys.example",
	"usr/share/signstar/host.example.toml",
	"usr/share/zsh/site-functions/_signstar",
}

// copyrightFormat is the first line of a machine-readable
// debian/copyright (DEP-5).
const copyrightFormat = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"

// TestPackages: 'just package' builds a .deb that lintian passes without
// errors and that installs with dpkg -i, puts every file in its place and
// creates the signing account, and an Arch package with the files
// expected; signstar --version from either prints the commit's version;
// a second build from the same commit is byte-identical.
func TestPackages(t *testing.T) {
	for _, tool := range []string{"git", "go", "makepkg", "fakeroot", "bsdtar", "unshare"} {
		testenv.Tool(t, tool)
	}
	debian := isDebian()
	if debian {
		for _, tool := range []string{"dpkg-buildpackage", "dh", "lintian", "dpkg"} {
			testenv.DebianTool(t, tool)
		}
	}
	// One commit for both builds, whatever is committed meanwhile.
	commit := strings.TrimSpace(run(t, "git", "rev-parse", "HEAD"))
	version := strings.TrimSpace(run(t, "git", "describe", "--tags", "--always", commit))
	first := buildPackages(t, commit)
	t.Run("arch", func(t *testing.T) {
		pkg := onlyFile(t, first, "*.pkg.tar.zst")
		assertFiles(t, "bsdtar -tf", archList(t, pkg), archFiles)
		dir := t.TempDir()
		run(t, "bsdtar", "-xf", pkg, "-C", dir, "usr/bin/signstar", "usr/lib/sysusers.d/signstar.conf")
		assertSameFile(t, filepath.Join(dir, "usr/lib/sysusers.d/signstar.conf"), "../sshd/signstar.sysusers")
		assertVersion(t, filepath.Join(dir, "usr/bin/signstar"), version)
	})
	if debian {
		deb := onlyFile(t, first, "*.deb")
		t.Run("lintian", func(t *testing.T) { assertLintian(t, deb) })
		t.Run("dpkg -i", func(t *testing.T) { assertInstalls(t, deb, version) })
	}
	t.Run("reproducible", func(t *testing.T) {
		second := buildPackages(t, commit)
		for _, glob := range []string{"*.pkg.tar.zst", "*.deb"} {
			if glob == "*.deb" && !debian {
				continue
			}
			a, b := onlyFile(t, first, glob), onlyFile(t, second, glob)
			if sa, sb := sha256File(t, a), sha256File(t, b); sa != sb {
				t.Errorf("two builds of one commit differ: %s sha256 %s, then %s", filepath.Base(a), sa, sb)
			} else {
				t.Logf("%s: sha256 %s both times", filepath.Base(a), sa)
			}
		}
	})
}

func isDebian() bool {
	_, err := os.Stat("/etc/debian_version")
	return err == nil
}

// buildPackages runs scripts/package as 'just package' does, for commit,
// into a new directory, and returns the directory.
func buildPackages(t *testing.T, commit string) string {
	t.Helper()
	out := t.TempDir()
	cmd := exec.Command("../scripts/package", out, commit)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/package: %v\n%s", err, b)
	}
	return out
}

// assertInstalls installs deb with dpkg -i, checks what dpkg -L lists and
// what the postinst made, and purges it again, leaving the machine as it
// was: the account and directories the postinst created are removed too
// (dpkg -P leaves them, as Debian Policy 9.2.2 asks of system users).
func assertInstalls(t *testing.T, deb, version string) {
	if os.Geteuid() != 0 {
		testenv.SkipOrFatal(t, "dpkg -i needs root")
	}
	if exec.Command("dpkg-query", "-W", "signstar").Run() == nil {
		testenv.SkipOrFatal(t, "a signstar package is installed already; the test would replace it")
	}
	if _, err := os.Lstat("/usr/bin/signstar"); err == nil {
		testenv.SkipOrFatal(t, "/usr/bin/signstar exists; dpkg -i would overwrite it")
	}
	undo := snapshotPostinst()
	t.Cleanup(func() {
		if out, err := exec.Command("dpkg", "-P", "signstar").CombinedOutput(); err != nil {
			t.Errorf("dpkg -P signstar: %v\n%s", err, out)
		}
		undo(t)
	})
	run(t, "dpkg", "-i", deb)
	var files []string
	for _, p := range strings.Split(strings.TrimSpace(run(t, "dpkg", "-L", "signstar")), "\n") {
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			files = append(files, p)
		}
	}
	assertFiles(t, "dpkg -L signstar", files, debFiles)
	assertSameFile(t, "/usr/lib/sysusers.d/signstar.conf", "../sshd/signstar.sysusers")
	assertSameFile(t, "/usr/lib/tmpfiles.d/signstar.conf", "../sshd/signstar.tmpfiles")
	if b, err := os.ReadFile("/usr/share/doc/signstar/copyright"); err != nil || !bytes.HasPrefix(b, []byte(copyrightFormat)) {
		t.Errorf("/usr/share/doc/signstar/copyright: %.80q, %v; want machine-readable (%q)", b, err, copyrightFormat)
	}
	if _, err := os.Stat("/etc/ssh/sshd_config.d/50-signstar.conf"); err == nil {
		t.Error("the package enabled the sshd drop-in; it is an example only")
	}
	// The postinst ran systemd-sysusers: the account has signstar as its shell.
	if pw := strings.Split(strings.TrimSpace(run(t, "getent", "passwd", "signer")), ":"); len(pw) != 7 || pw[6] != "/usr/bin/signstar" {
		t.Errorf("getent passwd signer: %q, want the shell /usr/bin/signstar", pw)
	}
	assertVersion(t, "/usr/bin/signstar", version)
}

// postinstMade is what the postinst makes (systemd-sysusers, then
// systemd-tmpfiles --create from the snippets), children after parents.
var postinstMade = []string{"/etc/signstar", "/etc/signstar/authorized_keys", "/var/lib/signstar", "/run/signstar", "/run/signstar/config.lock"}

// snapshotPostinst records which of the account and postinstMade exist
// now, and returns what removes those that did not.
func snapshotPostinst() func(*testing.T) {
	hadUser := exec.Command("getent", "passwd", "signer").Run() == nil
	var absent []string
	for _, p := range postinstMade {
		if _, err := os.Lstat(p); err != nil {
			absent = append(absent, p)
		}
	}
	return func(t *testing.T) {
		for _, p := range slices.Backward(absent) {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				t.Errorf("remove what the package made: %v", err)
			}
		}
		if !hadUser {
			if out, err := exec.Command("userdel", "signer").CombinedOutput(); err != nil {
				t.Errorf("userdel signer: %v\n%s", err, out)
			}
		}
	}
}

// assertLintian runs lintian on deb: no error (E:) tags; the warnings are
// logged.
func assertLintian(t *testing.T, deb string) {
	out, err := exec.Command("lintian", "--tag-display-limit", "0", deb).CombinedOutput()
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		switch {
		case strings.HasPrefix(line, "E: "):
			t.Errorf("lintian: %s", line)
		case line != "" && !strings.Contains(line, "running with root privileges"):
			t.Logf("lintian: %s", line)
		}
	}
	// lintian exits non-zero for errors only (its default --fail-on), or
	// when it could not check at all.
	if err != nil && !t.Failed() {
		t.Errorf("lintian %s: %v\n%s", deb, err, out)
	}
}

// archList is the package's files, directories left out.
func archList(t *testing.T, pkg string) []string {
	t.Helper()
	var files []string
	for _, p := range strings.Split(strings.TrimSpace(run(t, "bsdtar", "-tf", pkg)), "\n") {
		if !strings.HasSuffix(p, "/") {
			files = append(files, p)
		}
	}
	return files
}

// assertFiles fails the test for every file want lacks or got lacks.
func assertFiles(t *testing.T, what string, got, want []string) {
	t.Helper()
	for _, f := range want {
		if !slices.Contains(got, f) {
			t.Errorf("%s lacks %s", what, f)
		}
	}
	for _, f := range got {
		if !slices.Contains(want, f) {
			t.Errorf("%s lists %s, which is not expected", what, f)
		}
	}
}

func assertSameFile(t *testing.T, installed, source string) {
	t.Helper()
	a, err := os.ReadFile(installed)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(source); err != nil || !bytes.Equal(a, b) {
		t.Errorf("%s is not %s (%v)", installed, source, err)
	}
}

// assertVersion runs bin --version: "signstar VERSION (go..., ...)".
func assertVersion(t *testing.T, bin, version string) {
	t.Helper()
	out := run(t, bin, "--version")
	if want := "signstar " + version + " ("; !strings.HasPrefix(out, want) {
		t.Errorf("%s --version: %q, want it to begin %q", bin, out, want)
	}
}

func onlyFile(t *testing.T, dir, glob string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, glob))
	if len(m) != 1 {
		t.Fatalf("%s in %s: %q, want one file", glob, dir, m)
	}
	return m[0]
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// run runs a command and returns its standard output; it fails the test
// if the command fails.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out)
}
