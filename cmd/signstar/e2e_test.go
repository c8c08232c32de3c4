package main

// End-to-end tests: the real binary, a real SoftHSM2 token per test, and
// signatures checked by gpgv, sqv and pacman-key.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"signstar/internal/testenv"
	"signstar/internal/tokentest"
	"signstar/internal/verifytest"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "signstar-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "signstar")
	// The binary 'just build' makes: libseccomp linked statically.
	build := exec.Command("../../scripts/build", binary, "e2e-test")
	build.Stderr = os.Stderr
	uncover, err := coverE2E(build) // with -cover under go test -cover
	if err == nil {
		err = build.Run()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "build signstar:", err)
		os.Exit(1)
	}
	code := m.Run()
	uncover()
	os.RemoveAll(dir)
	os.Exit(code)
}

// fixture is a fresh token and a config for it.
type fixture struct {
	t    *testing.T
	dir  string
	hsm  *tokentest.SoftHSM
	env  []string
	conf string
}

// newFixture records audit entries in dir/audit.jsonl.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, "")
}

// newFixtureWith uses the audit sink given ("" for dir/audit.jsonl).
func newFixtureWith(t *testing.T, sink string) *fixture {
	t.Helper()
	hsm := tokentest.NewSoftHSM(t, "signstar")
	dir := t.TempDir()
	if sink == "" {
		sink = "file:" + filepath.Join(dir, "audit.jsonl")
	}
	f := &fixture{t: t, dir: dir, hsm: hsm, conf: filepath.Join(dir, "signstar.toml")}
	f.env = append(os.Environ(), hsm.Env(), "SIGNSTAR_CONFIG="+f.conf)
	f.writePIN(hsm.PIN, 0o600)
	f.ok(nil, "init", "--module", hsm.Module, "--token", hsm.Label,
		"--pin-file", filepath.Join(dir, "pin"), "--lock-file", filepath.Join(dir, "token.lock"),
		"--audit", sink)
	return f
}

func (f *fixture) writePIN(pin string, mode os.FileMode) {
	f.t.Helper()
	p := filepath.Join(f.dir, "pin")
	if err := os.WriteFile(p, []byte(pin+"\n"), mode); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		f.t.Fatal(err)
	}
}

type result struct {
	stdout, stderr []byte
	code           int
}

// run executes signstar with stdin (nil: empty) and returns what a user sees.
func (f *fixture) run(stdin any, args ...string) result {
	f.t.Helper()
	return f.runCmd(exec.Command(binary, args...), stdin)
}

// runCmd runs cmd (signstar, or signstar wrapped in a namespace) with the
// fixture's environment and returns what a user sees.
func (f *fixture) runCmd(cmd *exec.Cmd, stdin any) result {
	f.t.Helper()
	cmd.Env = f.env
	switch in := stdin.(type) {
	case nil:
	case []byte:
		cmd.Stdin = bytes.NewReader(in)
	case *os.File:
		cmd.Stdin = in
	default:
		f.t.Fatalf("BUG: stdin of type %T", stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	return f.result(cmd, cmd.Run(), &out, &errb)
}

// result is what a user saw of cmd, which ended with err.
func (f *fixture) result(cmd *exec.Cmd, err error, out, errb *bytes.Buffer) result {
	f.t.Helper()
	var exit *exec.ExitError
	code := 0
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		f.t.Fatalf("run %v: %v", cmd.Args, err)
	}
	return result{out.Bytes(), errb.Bytes(), code}
}

// ok runs signstar and fails the test unless it exits 0.
func (f *fixture) ok(stdin any, args ...string) []byte {
	f.t.Helper()
	r := f.run(stdin, args...)
	if r.code != 0 {
		f.t.Fatalf("signstar %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

func (f *fixture) generate(name, typ string) []byte {
	f.t.Helper()
	out := f.ok(nil, "key", "generate", "--name", name, "--type", typ, "--uid", "Test "+name+" <"+name+"@example.org>")
	if fpr := strings.TrimSpace(string(out)); len(fpr) != 40 {
		f.t.Fatalf("key generate printed %q, want a fingerprint", out)
	}
	return f.ok(nil, "key", "export", "--name", name)
}

func sample(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile("../../testdata/pacman/sample.db.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestSignEveryKeyType(t *testing.T) {
	data := sample(t)
	for _, typ := range []string{"ed25519", "rsa3072", "rsa4096", "p256", "p384"} {
		t.Run(typ, func(t *testing.T) {
			f := newFixture(t)
			cert := f.generate("k", typ)
			for _, args := range [][]string{{"sign"}, {"sign", "--key", "k", "--armor"}} {
				sig := f.ok(data, args...)
				armored := bytes.HasPrefix(sig, []byte("-----BEGIN PGP SIGNATURE-----"))
				if want := len(args) > 1; armored != want {
					t.Fatalf("%v: armored = %v, want %v", args, armored, want)
				}
				verifytest.All(t, cert, data, sig)
			}
		})
	}
}

func TestFirstKeyIsDefault(t *testing.T) {
	f := newFixture(t)
	first := f.generate("first", "p256")
	f.generate("second", "ed25519")
	data := []byte("signed with the default key\n")
	sig := f.ok(data, "sign")
	if err := verifytest.GPGV(t, first, data, sig); err != nil {
		t.Fatalf("default key is not the first one generated: %v", err)
	}
	list := string(f.ok(nil, "key", "list"))
	if !strings.Contains(list, "first (default)") || !strings.Contains(list, "second") {
		t.Fatalf("key list:\n%s", list)
	}
}

func TestInitRefusesToOverwrite(t *testing.T) {
	f := newFixture(t)
	before, _ := os.ReadFile(f.conf)
	r := f.run(nil, "init", "--module", f.hsm.Module, "--token", "x", "--pin-file", "pin")
	assertError(t, r, exitFailed, "already exists")
	after, _ := os.ReadFile(f.conf)
	if !bytes.Equal(before, after) {
		t.Fatal("init changed an existing config")
	}
}

// assertError checks what a user sees on failure: the exit status, one
// line on stderr naming the problem (and, at the command line, perhaps
// one hint line), and nothing at all on stdout.
func assertError(t *testing.T, r result, code int, want string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit %d, want %d; stderr: %s", r.code, code, r.stderr)
	}
	if len(r.stdout) != 0 {
		t.Errorf("stdout has %d bytes on failure, want none", len(r.stdout))
	}
	stderr := strings.TrimSuffix(string(r.stderr), "\n")
	first, hint, _ := strings.Cut(stderr, "\n")
	if !strings.HasPrefix(first, "signstar: error: ") || hint != "" &&
		(strings.Contains(hint, "\n") || !strings.HasPrefix(hint, "signstar: hint: ")) {
		t.Errorf("stderr is not one error line and at most one hint: %q", stderr)
	}
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr %q does not mention %q", stderr, want)
	}
}

func TestErrors(t *testing.T) {
	data := []byte("some data\n")
	tests := []struct {
		name  string
		setup func(f *fixture)
		stdin func(t *testing.T) any
		want  string
	}{
		{"missing module", func(f *fixture) {
			replaceInFile(t, f.conf, f.hsm.Module, "/nonexistent/libpkcs11.so")
		}, nil, `/nonexistent/libpkcs11.so`},
		{"token not found", func(f *fixture) {
			replaceInFile(t, f.conf, `label = 'signstar'`, `label = 'no-such-token'`)
		}, nil, `no-such-token`},
		{"wrong pin", func(f *fixture) { f.writePIN("999999", 0o600) }, nil, "wrong PIN"},
		{"pin file readable by others", func(f *fixture) { f.writePIN(f.hsm.PIN, 0o644) }, nil, "chmod 600"},
		{"key not configured", nil, nil, `key "nope" is not configured`},
		{"key missing on token", func(f *fixture) {
			replaceInFile(t, f.conf, "id = '", "id = '00")
		}, nil, "not on token"},
		{"certificate mismatch", func(f *fixture) {
			other := f.generate("other", "ed25519")
			if err := os.WriteFile(filepath.Join(f.dir, "certs", "k.asc"), other, 0o644); err != nil {
				t.Fatal(err)
			}
		}, nil, "does not match"},
		{"empty input", nil, func(t *testing.T) any { return []byte{} }, "empty input"},
		{"read error", nil, func(t *testing.T) any {
			d, err := os.Open(t.TempDir()) // read(2) on a directory fails with EISDIR
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			return d
		}, "is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.generate("k", "ed25519")
			if tt.setup != nil {
				tt.setup(f)
			}
			var stdin any = data
			if tt.stdin != nil {
				stdin = tt.stdin(t)
			}
			args := []string{"sign"}
			if tt.name == "key not configured" {
				args = append(args, "--key", "nope")
			}
			assertError(t, f.run(stdin, args...), exitFailed, tt.want)
		})
	}
}

// TestMissingConfig: a config that cannot be read is the error reported,
// whether or not the default audit sink (journald) could record it.
func TestMissingConfig(t *testing.T) {
	f := newFixture(t)
	f.env = append(f.env, "SIGNSTAR_CONFIG="+filepath.Join(f.dir, "nope.toml"))
	assertError(t, f.run([]byte("x"), "sign"), exitFailed, "read config")
}

func TestUsageErrors(t *testing.T) {
	f := newFixture(t)
	assertError(t, f.run(nil, "sign", "--bogus"), exitRefused, "--bogus")
	assertError(t, f.run(nil, "key", "generate", "--name", "x", "--uid", "x", "--type", "dsa"), exitRefused, "dsa")
	assertError(t, f.run(nil, "key", "generate", "--name", "a b", "--uid", "x"), exitFailed, "invalid key name")
}

func replaceInFile(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(old)) {
		t.Fatalf("%s does not contain %q:\n%s", path, old, data)
	}
	if err := os.WriteFile(path, bytes.Replace(data, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentSign starts 32 signers at once against one SoftHSM2 token;
// the config's lock file serializes their sessions and all must succeed.
func TestConcurrentSign(t *testing.T) {
	f := newFixture(t)
	cert := f.generate("k", "ed25519")
	outs := f.signConcurrently(32)
	for i, o := range outs {
		if o.r.code != 0 {
			t.Errorf("signer %d: exit %d: %s", i, o.r.code, o.r.stderr)
			continue
		}
		if err := verifytest.GPGV(t, cert, o.data, o.r.stdout); err != nil {
			t.Errorf("signer %d: %v", i, err)
		}
	}
}

func TestCheck(t *testing.T) {
	f := newFixture(t)
	f.generate("repo", "ed25519")
	f.generate("pkg", "rsa3072")
	out := string(f.ok(nil, "check"))
	for _, want := range []string{"ok    token", "ok    lock", "repo (default): ed25519", "pkg: rsa3072", "certificate matches the token"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}

	// A config others can change: the module is not even loaded.
	chmodT(t, f.conf, 0o666)
	r := f.run(nil, "check")
	if r.code != exitFailed || !strings.Contains(string(r.stderr), "check failed: 1 problem(s)") {
		t.Fatalf("check with a loose config: exit %d, stderr %s", r.code, r.stderr)
	}
	for _, want := range []string{"FAIL  trust    config: may be changed by someone other than root", "hint:    make root the owner", "skip  token"} {
		if !strings.Contains(string(r.stdout), want) {
			t.Errorf("check output lacks %q:\n%s", want, r.stdout)
		}
	}

	chmodT(t, f.conf, 0o644)
	f.writePIN(f.hsm.PIN, 0o640)
	r = f.run(nil, "check")
	if r.code != exitFailed || !strings.Contains(string(r.stderr), "check failed: 1 problem(s)") {
		t.Fatalf("check with a loose PIN file: exit %d, stderr %s", r.code, r.stderr)
	}
	for _, want := range []string{"ok    trust", "FAIL  pin-file", "chmod 600"} {
		if !strings.Contains(string(r.stdout), want) {
			t.Errorf("check output lacks %q:\n%s", want, r.stdout)
		}
	}

	// SoftHSM2 without a lock file: signing works alone, and fails now and
	// then under concurrency; check says so.
	f.writePIN(f.hsm.PIN, 0o600)
	replaceInFile(t, f.conf, "lock-file = '", "# lock-file = '")
	r = f.run(nil, "check")
	for _, want := range []string{"FAIL  lock     no token.lock-file", "hint:    name one in the config"} {
		if r.code != exitFailed || !strings.Contains(string(r.stdout), want) {
			t.Errorf("check without a lock file: exit %d, lacks %q\n%s", r.code, want, r.stdout)
		}
	}
	replaceInFile(t, f.conf, "# lock-file = '", "lock-file = '")

	// check and sign agree on the audit sink: file:/a/../b passed check
	// and then failed sign; both now refuse it.
	f.writePIN(f.hsm.PIN, 0o600)
	replaceInFile(t, f.conf, "sink = 'file:"+f.dir, "sink = 'file:"+f.dir+"/../"+filepath.Base(f.dir))
	r = f.run(nil, "check")
	if r.code != exitFailed || !strings.Contains(string(r.stdout), "absolute, clean PATH") {
		t.Errorf("check with audit sink file:/a/../b: exit %d\n%s", r.code, r.stdout)
	}
	assertError(t, f.run([]byte("x"), "sign"), exitFailed, "absolute, clean PATH")

	// check opens the sink: one sign cannot open fails check too.
	replaceInFile(t, f.conf, "sink = 'file:"+f.dir+"/../"+filepath.Base(f.dir), "sink = 'file:"+f.dir+"/no/such/dir")
	r = f.run(nil, "check")
	if r.code != exitFailed || !strings.Contains(string(r.stdout), "FAIL  audit") {
		t.Errorf("check with an audit file sign cannot open: exit %d\n%s", r.code, r.stdout)
	}
}

// TestLoginShellRefusesTerminal: if a pty reaches signstar anyway (an admin
// turned PermitTTY back on), an interactive login is refused.
func TestLoginShellRefusesTerminal(t *testing.T) {
	script := testenv.Tool(t, "script") // util-linux: runs a command on a new pty
	bash := testenv.Tool(t, "bash")
	f := newFixture(t)
	f.generate("repo", "ed25519")
	// bash's exec -a sets argv[0] to "-signstar", as sshd does for a login
	// shell. script runs its command with $SHELL, which is dash or unset in CI.
	cmd := exec.Command(script, "-qec", "exec -a -signstar "+binary, "/dev/null")
	cmd.Env = append(f.env, "SHELL="+bash)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitRefused {
		t.Fatalf("login shell on a terminal: %v, want exit %d\n%s", err, exitRefused, out)
	}
	if !strings.Contains(string(out), "refused: interactive logins are not possible") {
		t.Fatalf("output does not explain the refusal:\n%s", out)
	}
}

// TestLoginShellInvocations: the three ways sshd starts a login shell.
func TestLoginShellInvocations(t *testing.T) {
	f := newFixture(t)
	cert := f.generate("repo", "ed25519")
	data := []byte("signed through the login shell\n")
	tests := []struct {
		name    string
		argv0   string
		args    []string
		env     []string
		armored bool
	}{
		{"login shell, no command", "-signstar", nil, nil, false},
		{"shell -c client command", "signstar", []string{"-c", "sign --armor"}, nil, true},
		{"ForceCommand, client sent nothing", "signstar", []string{"-c", "signstar"}, nil, false},
		{"ForceCommand, client command", "signstar", []string{"-c", "signstar"}, []string{"SSH_ORIGINAL_COMMAND=sign --armor"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(binary, tt.args...)
			cmd.Args[0] = tt.argv0
			cmd.Env = append(f.env, tt.env...)
			cmd.Stdin = bytes.NewReader(data)
			sig, err := cmd.Output()
			if err != nil {
				t.Fatalf("%v", err)
			}
			if got := bytes.HasPrefix(sig, []byte("-----BEGIN PGP")); got != tt.armored {
				t.Fatalf("armored = %v, want %v", got, tt.armored)
			}
			verifytest.All(t, cert, data, sig)
		})
	}
	// The admin CLI is out of reach from a client: its words are refused.
	cmd := exec.Command(binary, "-c", "signstar")
	cmd.Env = append(f.env, "SSH_ORIGINAL_COMMAND=init --module /tmp/evil.so")
	out, err := cmd.CombinedOutput()
	if !strings.Contains(string(out), `refused: unknown command "init"`) || err == nil {
		t.Fatalf("admin words through the login shell: %v\n%s", err, out)
	}
}
