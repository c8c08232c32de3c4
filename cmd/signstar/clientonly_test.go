package main

// The client-only build (clientonly.go) as a release engineer builds it
// for a laptop: without cgo, it signs through the real login shell behind
// sshd, and its help lists only what it has.

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"signstar/internal/verifytest"
)

// buildClient builds the client-only signstar with CGO_ENABLED=0, as the
// justfile's test recipe cross-compiles it.
func buildClient(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "signstar")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-X main.version=e2e-client", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build ./cmd/signstar: %v\n%s", err, out)
	}
	return bin
}

func TestClientBuild(t *testing.T) {
	client := buildClient(t)
	t.Run("help", func(t *testing.T) { testClientHelp(t, client) })
	t.Run("version", func(t *testing.T) {
		out, err := exec.Command(client, "--version").Output()
		want := regexp.MustCompile(`^signstar e2e-client \(` + regexp.QuoteMeta(runtime.Version()) + `, client only\)\n$`)
		if err != nil || !want.Match(out) {
			t.Errorf("--version: %v, %q, want %v", err, out, want)
		}
	})
	t.Run("admin commands refused", func(t *testing.T) {
		for _, args := range [][]string{{"sign"}, {"key", "list"}, {"--config", "x.toml", "check"}, {"-c", "version"}} {
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(client, args...)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			r := (&fixture{t: t}).result(cmd, cmd.Run(), &stdout, &stderr)
			if r.code != exitRefused || len(r.stdout) != 0 || !strings.HasPrefix(string(r.stderr), "signstar: error: ") {
				t.Errorf("signstar %s: exit %d, stdout %q, stderr %q; want exit %d and a usage error",
					strings.Join(args, " "), r.code, r.stdout, r.stderr, exitRefused)
			}
		}
	})
	t.Run("request through sshd", func(t *testing.T) { testClientRequest(t, client) })
}

// testClientHelp holds --help to the build: the client lists request and
// --version, and no admin command or --config. The full binary's help
// goes through the same reading, so a change in kong's layout cannot make
// the client's check pass by finding nothing.
func testClientHelp(t *testing.T, client string) {
	tests := []struct {
		name      string
		binary    string
		wantCmds  []string
		wantFlags []string
	}{
		{"client", client, []string{"request", "gpg"}, []string{"--help", "--version"}},
		{"full", binary, []string{"init", "key", "sign", "check", "host", "log", "request", "gpg"}, []string{"--help", "--config", "--version"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command(tt.binary, "--help").Output()
			if err != nil {
				t.Fatalf("--help: %v", err)
			}
			cmds, flags := helpLists(string(out))
			if !slices.Equal(cmds, tt.wantCmds) || !slices.Equal(flags, tt.wantFlags) {
				t.Errorf("--help lists commands %q and flags %q, want %q and %q\n%s", cmds, flags, tt.wantCmds, tt.wantFlags, out)
			}
		})
	}
}

// helpLists reads kong's top-level help: the first word of each command
// under "Commands:", once each, and the long flags under "Flags:".
func helpLists(help string) (cmds, flags []string) {
	section := ""
	for _, line := range strings.Split(help, "\n") {
		if strings.HasSuffix(line, ":") && !strings.HasPrefix(line, " ") {
			section = line
			continue
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case section == "Commands:" && strings.HasPrefix(line, "  ") && line[2] != ' ':
			if !slices.Contains(cmds, f[0]) {
				cmds = append(cmds, f[0])
			}
		case section == "Flags:":
			for _, w := range f {
				if strings.HasPrefix(w, "--") {
					flags = append(flags, strings.SplitN(w, "=", 2)[0])
					break
				}
			}
		}
	}
	return cmds, flags
}

// testClientRequest signs two files with the client-only binary through
// the full one as the login shell behind sshd, as request_test.go does
// with the full binary on both ends.
func testClientRequest(t *testing.T, client string) {
	s := newSSHFixture(t, "")
	dir := t.TempDir()
	files := []string{randomFile(t, dir, 1), randomFile(t, dir, 1<<20)}
	args := s.requestArgs([]string{"--host", s.srv.Target()}, files...)
	r := s.runCmd(exec.Command(client, args...), nil)
	if r.code != 0 {
		t.Fatalf("client-only signstar request: exit %d: %s", r.code, r.stderr)
	}
	for _, f := range files {
		data, _ := os.ReadFile(f)
		sig, err := os.ReadFile(f + ".sig")
		if err != nil {
			t.Fatal(err)
		}
		if err := verifytest.GPGV(t, s.repoCert, data, sig); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	recs := readAuditFile(t, s.fixture)
	recs[len(recs)-1].want(t, map[string]string{"SIGNSTAR_RESULT": "signed", "SIGNSTAR_REQUEST": "sign --batch", "SIGNSTAR_INPUT_SHA256": "-"})
}
