// Package testenv is the rule every test harness follows for what the
// machine lacks: a missing tool or privilege skips the test on a laptop,
// and fails it where SIGNSTAR_E2E=1 is set (just test, CI), so that
// nothing is skipped silently.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Tool returns the path of the external tool name: from PATH, or else from
// /usr/sbin, where Debian installs daemons (sshd, tpm2-abrmd) and which a
// user's PATH may lack. If it is in neither, Tool skips the test, or fails
// it when the environment has SIGNSTAR_E2E=1.
func Tool(t testing.TB, name string) string {
	t.Helper()
	if path, err := exec.LookPath(name); err == nil {
		return path
	}
	if path, err := exec.LookPath(filepath.Join("/usr/sbin", name)); err == nil {
		return path
	}
	SkipOrFatal(t, "%s not found in PATH (scripts/deps installs it)", name)
	return ""
}

// SkipOrFatal skips a test that lacks something it needs, or fails it
// under SIGNSTAR_E2E=1 (just test, CI), where nothing may be skipped
// silently.
func SkipOrFatal(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("SIGNSTAR_E2E") == "1" {
		t.Fatalf(format+"; SIGNSTAR_E2E=1 forbids skipping", args...)
	}
	t.Skipf(format, args...)
}

// DebianTool is [Tool] for one of Debian's own release tools (reprepro,
// aptly, debsign, debsigs): Arch Linux packages none of them, so on a
// system without /etc/debian_version the test is skipped, even under
// SIGNSTAR_E2E=1, and says why. On Debian it is [Tool].
func DebianTool(t testing.TB, name string) string {
	t.Helper()
	if _, err := os.Stat("/etc/debian_version"); err != nil {
		t.Skipf("%s is a Debian tool and this is not Debian (no /etc/debian_version)", name)
	}
	return Tool(t, name)
}
