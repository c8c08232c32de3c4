package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"signstar/internal/testenv"
	"strings"
	"testing"
	"time"
)

// TestJustWrapper runs ./just, the README's Quick start command, as a user
// who is not root, on a PATH without just: it must print the command that
// installs what is missing and fail, never run itself as the real just, and
// hand its arguments to a real just when there is one. It runs from a copy
// in a world-readable temp dir, so nothing outside that dir is touched.
func TestJustWrapper(t *testing.T) {
	tests := []struct {
		name       string
		onPath     string // what PATH has as "just": "", "wrapper" or "real"
		args       []string
		wantCode   int
		wantStdout string
		wantStderr []string
	}{
		{"no just", "", []string{"demo"}, 1, "", []string{"installing needs root; run:", "sudo %REPO%/scripts/deps", "then run again: ./just demo"}},
		{"wrapper on PATH", "wrapper", []string{"demo"}, 1, "", []string{"sudo %REPO%/scripts/deps", "then run again: ./just demo"}},
		{"real just", "real", []string{"demo", "--dry-run", "two words"}, 0, "real just: 'demo' '--dry-run' 'two words'", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo, bin := wrapperSandbox(t)
			switch tt.onPath {
			case "wrapper":
				must(t, os.Symlink(filepath.Join(repo, "just"), filepath.Join(bin, "just")))
			case "real":
				fake := "#!/bin/bash\necho \"real just: ${*@Q}\"\n"
				must(t, os.WriteFile(filepath.Join(bin, "just"), []byte(fake), 0o755))
			}
			r := runUnprivileged(t, repo, bin, "./just", tt.args...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			if got := strings.TrimSpace(string(r.stdout)); got != tt.wantStdout {
				t.Errorf("stdout %q, want %q", got, tt.wantStdout)
			}
			for _, want := range tt.wantStderr {
				if want = strings.ReplaceAll(want, "%REPO%", repo); !strings.Contains(string(r.stderr), want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wrapperSandbox copies ./just and scripts/deps into a world-readable temp
// dir and makes a bin dir of symlinks to the tools they use, without just.
func wrapperSandbox(t *testing.T) (repo, bin string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "signstar-just-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	must(t, os.Chmod(dir, 0o755))
	repo, bin = filepath.Join(dir, "repo"), filepath.Join(dir, "bin")
	must(t, os.MkdirAll(filepath.Join(repo, "scripts"), 0o755))
	must(t, os.Mkdir(bin, 0o755))
	for _, f := range []string{"just", "scripts/deps"} {
		data, err := os.ReadFile(filepath.Join("../..", f))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(repo, f), data, 0o755))
	}
	// The Debian or the Arch half of scripts/deps; a tool this system lacks
	// is left out, as on a fresh machine.
	for _, tool := range []string{"bash", "env", "readlink", "dirname", "awk", "grep", "sort",
		"dpkg-query", "dpkg", "apt-get", "pacman"} {
		if path, err := exec.LookPath(tool); err == nil {
			must(t, os.Symlink(path, filepath.Join(bin, tool)))
		}
	}
	return repo, bin
}

// runUnprivileged runs name in dir with PATH=bin and nothing else in the
// environment, as nobody when the test runs as root.
func runUnprivileged(t *testing.T, dir, bin, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	argv := append([]string{"env", "-i", "PATH=" + bin, name}, args...)
	if os.Geteuid() == 0 {
		setpriv := testenv.Tool(t, "setpriv")
		argv = append([]string{setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	var r result
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish within 30 s (does it run itself?)\nstderr: %s", name, errb.String())
	}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s: %v", name, err)
	}
	r.stdout, r.stderr = []byte(out.String()), []byte(errb.String())
	return r
}
