package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDemo runs the script behind 'just demo' with the test binary: the
// README's first command must work on a machine without journald, as CI is.
func TestDemo(t *testing.T) {
	cmd := exec.Command("scripts/demo", binary)
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/demo: %v\n%s", err, out)
	}
	for _, want := range []string{"every signature verified", `with key "repo" for `} {
		if !strings.Contains(string(out), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}
