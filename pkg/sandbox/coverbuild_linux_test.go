//go:build linux

package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"signstar/internal/testenv"
	"strings"
	"testing"
)

// TestCoverageBuildLocked builds a program that locks down as signstar
// does for coverage (scripts/build with SIGNSTAR_COVER=1) and checks that
// it ends as the shipped build does, saying nothing more on stderr, and
// that its counters cover code that ran after lockdown: Lockdown's check
// of the process status, which runs once the seccomp filter is loaded.
func TestCoverageBuildLocked(t *testing.T) {
	requireLandlock(t, abiFiles)
	script, err := filepath.Abs("../../scripts/build")
	if err != nil {
		t.Fatal(err)
	}
	goTool := testenv.Tool(t, "go")
	bin, coverDir := filepath.Join(t.TempDir(), "locked"), t.TempDir()
	build := exec.Command(script, bin, "test", "./pkg/sandbox/testdata/locked")
	build.Env = append(os.Environ(), "SIGNSTAR_COVER=1")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("SIGNSTAR_COVER=1 scripts/build: %v\n%s", err, b)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "GOCOVERDIR="+coverDir)
	cmd.Stdin = strings.NewReader("hello")
	if b, err := cmd.CombinedOutput(); err != nil || string(b) != "locked; read 5 bytes\n" {
		t.Fatalf("locked, built for coverage: %v\n%s", err, b)
	}
	out, err := exec.Command(goTool, "tool", "covdata", "func", "-i="+coverDir, "-pkg=signstar/pkg/sandbox").CombinedOutput()
	if err != nil {
		t.Fatalf("go tool covdata func: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 3 && strings.Contains(f[0], "/sandbox_linux.go:") && f[1] == "check" {
			if f[2] == "0.0%" {
				t.Fatalf("no counters from after lockdown: check is %s covered\n%s", f[2], out)
			}
			return
		}
	}
	t.Fatalf("go tool covdata func lists no check in sandbox_linux.go:\n%s", out)
}
