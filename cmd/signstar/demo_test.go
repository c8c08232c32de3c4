package main

import (
	"net"
	"os"
	"os/exec"
	"os/user"
	"regexp"
	"strings"
	"testing"

	"signstar/internal/sshdtest"
)

// TestDemo runs the script behind 'just demo' with the test binary: the
// README's first command must work on a machine without journald, as CI is.
// As root, the demo also signs through a throwaway sshd, with signstar as a
// throwaway account's login shell, verifies those signatures, and leaves
// neither the account nor sshd behind; otherwise it says how to see that.
func TestDemo(t *testing.T) {
	root := os.Geteuid() == 0
	if root {
		sshdtest.Require(t)
	}
	cmd := exec.Command("scripts/demo", binary)
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/demo: %v\n%s", err, out)
	}
	wants := []string{"every signature verified", `with key "repo" for `}
	if root {
		wants = append(wants,
			"gpgv        ok  ssh/sample.txt.sig", "sqv         ok  ssh/sample.txt.sig",
			"pacman-key  ok  ssh/sample.txt.sig", "gpgv        ok  ssh/sample.txt.asc",
			"pacman-key  ok  ssh/sample.db.tar.gz.sig", "pacman-key  ok  signed/sample.txt.sig",
			" from 127.0.0.1 ")
	} else {
		wants = append(wants, "needs root", "sudo ./just demo")
	}
	for _, want := range wants {
		if !strings.Contains(string(out), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if root {
		assertSSHDGone(t, string(out))
	}
}

// assertSSHDGone checks that the account and the sshd the demo reported
// are gone once it has exited.
func assertSSHDGone(t *testing.T, out string) {
	t.Helper()
	m := regexp.MustCompile(`sshd on (127\.0\.0\.1:\d+) .*; account (\S+),`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("demo output does not say where sshd ran:\n%s", out)
	}
	if _, err := user.Lookup(m[2]); err == nil {
		t.Errorf("account %s still exists after the demo", m[2])
	}
	if c, err := net.Dial("tcp", m[1]); err == nil {
		c.Close()
		t.Errorf("something still listens on %s after the demo", m[1])
	}
}
