package main

// The deployment shapes of the README through OpenSSH's real sshd and the
// shipped drop-in: signstar as the account's shell (ssh_test.go), signstar
// as the forced command under an ordinary shell, keys pinned to one
// request with command=, and what environment a client can set.

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"signstar/internal/sshdtest"
	"signstar/internal/testenv"
	"signstar/internal/verifytest"
)

// newShapeFixture is newSSHFixture for the shell, forced command and key
// options in o.
func newShapeFixture(t *testing.T, o sshdtest.Options) *sshFixture {
	t.Helper()
	sshdtest.Require(t)
	f := newFixture(t)
	s := &sshFixture{fixture: f}
	s.repoCert = f.generate("repo", "ed25519")
	s.pkgCert = f.generate("pkg", "p256")
	o.Shell, o.Env = binary, []string{"SIGNSTAR_CONFIG=" + f.conf, f.hsm.Env()}
	s.srv = sshdtest.Start(t, o)
	audit := filepath.Join(f.dir, "audit.jsonl")
	if err := os.WriteFile(audit, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s.srv.Grant(f.hsm.Dir, filepath.Join(f.dir, "pin"), filepath.Join(f.dir, "token.lock"), audit)
	return s
}

// TestSSHForcedUnderBash: an account whose shell is bash, with signstar as
// its forced command, works as one whose shell is signstar. sshd runs
// "bash -c /path/to/signstar", which starts signstar with no arguments.
func TestSSHForcedUnderBash(t *testing.T) {
	bash := testenv.Tool(t, "bash")
	for _, shape := range []struct {
		name string
		o    sshdtest.Options
	}{
		{"ForceCommand", sshdtest.Options{AccountShell: bash, ForceCommand: sshdtest.Binary}},
		{"command option", sshdtest.Options{AccountShell: bash, ForceCommand: "none", KeyOptions: `command="` + sshdtest.Binary + `"`}},
	} {
		t.Run(shape.name, func(t *testing.T) {
			s := newShapeFixture(t, shape.o)
			s.assertSigns(t)

			// bash does not run the client's command: signstar refuses it.
			shell := sshdtest.Run(t, s.srv.SSH("cat", "/etc/passwd"), nil)
			if shell.Code != exitRefused || len(shell.Stdout) != 0 || !strings.Contains(string(shell.Stderr), `refused: unknown command "cat"`) {
				t.Fatalf("cat /etc/passwd: exit %d, stdout %.60q, stderr %s", shell.Code, shell.Stdout, shell.Stderr)
			}
		})
	}
}

// TestSSHPinnedKey: a key whose authorized_keys line says
// command="signstar sign --key pkg" signs with pkg and nothing else; a key
// with command="signstar" still chooses. This is the shape
// sshd/authorized_keys.example documents: signstar as the shell,
// "ForceCommand none" in the drop-in, command= on every line.
func TestSSHPinnedKey(t *testing.T) {
	s := newShapeFixture(t, sshdtest.Options{ForceCommand: "none", KeyOptions: `command="signstar"`})
	pinned, pinnedFpr := s.srv.NewClientKeyWith("pinned", `command="signstar sign --key pkg"`)
	data := sample(t)
	for _, args := range [][]string{nil, {"sign", "--key", "pkg"}} {
		r := sshdtest.Run(t, s.srv.SSHWith(pinned, nil, args...), data)
		if r.Code != 0 {
			t.Fatalf("pinned key, command %q: exit %d: %s", args, r.Code, r.Stderr)
		}
		verifytest.All(t, s.pkgCert, data, r.Stdout)
	}

	r := sshdtest.Run(t, s.srv.SSHWith(pinned, nil, "sign", "--key", "repo"), data)
	const want = "this key may only run: sign --key pkg"
	if r.Code != exitRefused || len(r.Stdout) != 0 || !strings.Contains(string(r.Stderr), want) || bytes.Count(r.Stderr, []byte("\n")) != 1 {
		t.Fatalf("pinned key asking for key repo: exit %d, %d bytes out, stderr %q; want exit %d and one line saying %q",
			r.Code, len(r.Stdout), r.Stderr, exitRefused, want)
	}
	recs := readAuditFile(t, s.fixture)
	if len(recs) != 3 {
		t.Fatalf("%d audit records, want 3: %v", len(recs), recs)
	}
	recs[2].want(t, map[string]string{"SIGNSTAR_RESULT": "refused", "SIGNSTAR_REQUEST": "sign --key repo",
		"SIGNSTAR_SSH_KEY": pinnedFpr, "SIGNSTAR_INPUT_SHA256": "-"})
	if !strings.Contains(recs[2]["SIGNSTAR_ERROR"], want) {
		t.Errorf("record's error %q does not say %q", recs[2]["SIGNSTAR_ERROR"], want)
	}

	// The unpinned key chooses its key.
	free := sshdtest.Run(t, s.srv.SSH("sign", "--key", "pkg"), data)
	if free.Code != 0 {
		t.Fatalf("unpinned key, sign --key pkg: exit %d: %s", free.Code, free.Stderr)
	}
	verifytest.All(t, s.pkgCert, data, free.Stdout)
}

// TestSSHClientEnvironment: Debian's sshd_config accepts LANG and LC_*
// from any client; the drop-in narrows that for the account, so what a
// client sends never reaches the session signstar runs in. sshd -T shows
// the narrowing; a session whose forced command is env(1) shows the
// environment sshd hands the forced command. (signstar clears what it does
// not need on top of that: TestKeepEnv, TestClearEnv.)
func TestSSHClientEnvironment(t *testing.T) {
	bash, env := testenv.Tool(t, "bash"), testenv.Tool(t, "env")
	srv := sshdtest.Start(t, sshdtest.Options{Shell: binary, AccountShell: bash, ForceCommand: env})

	acceptEnv := func(user string) []string {
		var names []string
		for _, l := range strings.Split(srv.Effective(user), "\n") {
			if name, ok := strings.CutPrefix(l, "acceptenv "); ok {
				names = append(names, name)
			}
		}
		return names
	}
	if got := acceptEnv("root"); strings.Join(got, " ") != "LANG LC_*" {
		t.Fatalf("sshd -T for another user: acceptenv %q, want the base config's LANG LC_*", got)
	}
	if got := acceptEnv(srv.User); len(got) != 1 || got[0] == "LANG" || strings.HasPrefix(got[0], "LC_") {
		t.Errorf("sshd -T for the account: acceptenv %q, want one variable that is not LANG or LC_*", got)
	}

	r := sshdtest.Run(t, srv.SSHWith(srv.Key, []string{"-o", "SetEnv=LANG=de_DE.UTF-8 LC_ALL=tr_TR.UTF-8 LC_MESSAGES=C"}), nil)
	if r.Code != 0 {
		t.Fatalf("env as the forced command: exit %d: %s", r.Code, r.Stderr)
	}
	if !bytes.Contains(r.Stdout, []byte("SSH_CONNECTION=")) {
		t.Fatalf("env(1) did not print the session's environment: %q", r.Stdout)
	}
	for _, sent := range []string{"LANG=", "LC_ALL=", "LC_MESSAGES="} {
		if bytes.Contains(r.Stdout, []byte("\n"+sent)) || bytes.HasPrefix(r.Stdout, []byte(sent)) {
			t.Errorf("the client's %s reached the session:\n%s", sent, r.Stdout)
		}
	}
}
