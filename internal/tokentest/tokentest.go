// Package tokentest makes throwaway SoftHSM2 tokens for tests.
//
// [NewSoftHSM] creates an initialized token in t.TempDir(); [ImportEd25519]
// stores a fixed Ed25519 key on it for byte-exact golden tests. A missing
// tool skips the test, or fails it where SIGNSTAR_E2E=1 (see [Require]).
//
// SoftHSM2 reads SOFTHSM2_CONF once, when the module is initialized in a
// process. Tests that open the token in-process must set it with
// t.Setenv("SOFTHSM2_CONF", s.Conf), which also keeps them from running
// in parallel; tests that run subprocesses pass [SoftHSM.Env] instead.
package tokentest

import (
	"os"
	"os/exec"
	"path/filepath"
	"signstar/internal/testenv"
	"strings"
	"testing"
)

// SoftHSM is a fresh SoftHSM2 token with an initialized user PIN.
type SoftHSM struct {
	Module string // path of libsofthsm2.so
	Label  string // token label
	PIN    string // user PIN
	Conf   string // path of the softhsm2.conf naming the token directory
	Dir    string // directory holding Conf and the token store
}

// Fixed PINs: the token lives in a temporary directory only this test
// can reach, so there is nothing for them to protect.
const (
	pin   = "123456"
	soPIN = "12345678"
)

// moduleCandidates are where distributions install libsofthsm2.so: Debian
// and Ubuntu, Fedora, Arch, and a source build.
var moduleCandidates = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib64/pkcs11/libsofthsm2.so",
	"/usr/lib/pkcs11/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
}

// findModule returns the path of the SoftHSM2 PKCS#11 module, or "" if
// none is installed. SIGNSTAR_SOFTHSM2_MODULE overrides the search.
func findModule() string {
	if m := os.Getenv("SIGNSTAR_SOFTHSM2_MODULE"); m != "" {
		return m
	}
	for _, m := range moduleCandidates {
		if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() {
			return m
		}
	}
	return ""
}

// NewSoftHSM creates a token labelled label in a new softhsm2.conf under
// t.TempDir(). It does not touch the process environment: see the package
// documentation for SOFTHSM2_CONF.
func NewSoftHSM(t testing.TB, label string) *SoftHSM {
	t.Helper()
	Require(t, "softhsm2-util")
	s := &SoftHSM{Module: findModule(), Label: label, PIN: pin, Dir: t.TempDir()}
	if s.Module == "" {
		testenv.SkipOrFatal(t, "the SoftHSM2 PKCS#11 module (libsofthsm2.so) is missing")
	}
	tokens := filepath.Join(s.Dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatal(err)
	}
	s.Conf = filepath.Join(s.Dir, "softhsm2.conf")
	conf := "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\n"
	if err := os.WriteFile(s.Conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("softhsm2-util", "--init-token", "--free",
		"--label", label, "--pin", pin, "--so-pin", soPIN)
	cmd.Env = append(os.Environ(), s.Env())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util --init-token --label %q: %v\n%s", label, err, out)
	}
	return s
}

// Env returns "SOFTHSM2_CONF=..." for the environment of a subprocess.
func (s *SoftHSM) Env() string {
	return "SOFTHSM2_CONF=" + s.Conf
}

// Require skips the test if a tool is missing, or fails it if the
// environment sets SIGNSTAR_E2E=1, so CI never skips silently. A tool
// containing a slash is a file path; otherwise it is looked up in PATH.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		var err error
		if strings.Contains(tool, "/") {
			_, err = os.Stat(tool)
		} else {
			_, err = exec.LookPath(tool)
		}
		if err != nil {
			testenv.SkipOrFatal(t, "%s is missing", tool)
		}
	}
}
