//go:build linux

package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"signstar/internal/testenv"
	"strings"
	"testing"
)

// glibcLib matches what ldd may list for signstar: the vDSO, glibc's
// libraries and its loader (glibc 2.34 and later fold libdl, libpthread and
// librt into libc, older ones do not).
var glibcLib = regexp.MustCompile(`^(linux-vdso\.so\.1|lib(c|m|dl|pthread|rt)\.so\.[0-9]+|ld-linux[-a-z0-9_]*\.so\.[0-9]+)$`)

// TestBuildLinksOnlyGlibc builds as scripts/build does and checks that
// libseccomp is linked in, not loaded: ldd lists glibc only, and a program
// that locks down still loads its filter.
func TestBuildLinksOnlyGlibc(t *testing.T) {
	script, err := filepath.Abs("../../scripts/build")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(script); err != nil {
		testenv.SkipOrFatal(t, "scripts/build is missing")
	}
	for _, tool := range []string{"go", "ldd", "readelf", "pkg-config"} {
		testenv.Tool(t, tool)
	}
	dir := t.TempDir()
	for _, pkg := range []string{"./cmd/signstar", "./pkg/sandbox/testdata/locked"} {
		out := filepath.Join(dir, filepath.Base(pkg))
		if b, err := exec.Command(script, out, "test", pkg).CombinedOutput(); err != nil {
			t.Fatalf("scripts/build %s: %v\n%s", pkg, err, b)
		}
		checkLdd(t, out)
	}
	requireLandlock(t, abiFiles)
	cmd := exec.Command(filepath.Join(dir, "locked"))
	cmd.Stdin = strings.NewReader("hello")
	if b, err := cmd.CombinedOutput(); err != nil || string(b) != "locked; read 5 bytes\n" {
		t.Fatalf("locked: %v\n%s", err, b)
	}
}

func checkLdd(t *testing.T, bin string) {
	t.Helper()
	b, err := exec.Command("ldd", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("ldd %s: %v\n%s", bin, err, b)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		lib := filepath.Base(strings.Fields(line)[0])
		if !glibcLib.MatchString(lib) {
			t.Errorf("%s needs %s; only glibc may be dynamic:\n%s", filepath.Base(bin), lib, b)
		}
	}
}
