//go:build linux && cgo

package main

// signstar host plan|apply|check as an admin runs them: on a scratch root
// with the shipped example, and for real, with accounts made by apply
// behind OpenSSH's sshd reading the drop-in apply wrote.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"signstar/internal/sshdtest"
	"signstar/internal/testenv"
	"signstar/internal/verifytest"
)

// runHost runs signstar host ARGS and returns what the admin sees.
func runHost(t *testing.T, args ...string) result {
	t.Helper()
	f := &fixture{t: t, env: os.Environ()}
	return f.run(nil, append([]string{"host"}, args...)...)
}

func wantHost(t *testing.T, r result, code int, stdout, stderr string) {
	t.Helper()
	if r.code != code || !strings.Contains(string(r.stdout), stdout) || !strings.Contains(string(r.stderr), stderr) {
		t.Fatalf("exit %d, want %d; stdout %q, want %q in it; stderr %q, want %q in it", r.code, code, r.stdout, stdout, r.stderr, stderr)
	}
}

// TestHostScratchRoot: the shipped example on an empty root. apply makes
// what it can and names, with exit 1, what only an admin can make (the
// configs); plan then lists nothing to change, and check names a hand
// edit.
func TestHostScratchRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.SkipOrFatal(t, "host apply needs root (chown, useradd --root)")
	}
	testenv.Tool(t, "sshd")
	root := t.TempDir()
	example := "../../sshd/host.example.toml"
	plan := runHost(t, "plan", "--file", example, "--root", root)
	wantHost(t, plan, 0, "create account signer", "")
	apply := runHost(t, "apply", "--file", example, "--root", root)
	wantHost(t, apply, 1, string(plan.stdout), "the host still lacks 3 thing(s) apply does not make")
	if strings.Contains(string(apply.stderr), "reload sshd") {
		t.Errorf("apply under --root tells the admin to reload sshd: %s", apply.stderr)
	}
	if strings.Count(string(plan.stdout), "\n") != 15 {
		t.Errorf("plan printed %q, want 9 changes and 3 missing things with their hints, one a line", plan.stdout)
	}
	const hint = "missing: config /etc/signstar/release.toml (config release)\n   hint: signstar --config /etc/signstar/release.toml init --pin-file FILE"
	if !strings.Contains(string(plan.stdout), hint) {
		t.Errorf("plan printed %q, want %q in it", plan.stdout, hint)
	}

	again := runHost(t, "plan", "--file", example, "--root", root)
	wantHost(t, again, 0, "missing: config /etc/signstar/release.toml", "nothing to change")
	if strings.Contains(string(again.stdout), "create") {
		t.Errorf("plan after apply: %s", again.stdout)
	}

	keys := filepath.Join(root, "etc/signstar/authorized_keys/signer")
	appendFile(t, keys, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOiHTwWPY+pHG/d5rDpruXgZNnHbXWq59bhczAuVvIJE\n")
	check := runHost(t, "check", "--file", example, "--root", root)
	wantHost(t, check, 1, "drift: write /etc/signstar/authorized_keys/signer: its contents differ from the host file's\n", "the host differs from the host file: 1 change(s) to apply, 3 thing(s) missing")
}

func TestHostParseError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "host.toml")
	if err := os.WriteFile(file, []byte("[accounts.signer]\nhome = \"/var/lib/signstar\"\nshell = \"/bin/sh\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runHost(t, "check", "--file", file)
	wantHost(t, r, 1, "", `signstar: error: host file `+file+`: line 3: unknown key "accounts.signer.shell"`)
	if len(r.stdout) != 0 {
		t.Errorf("stdout %q, want nothing", r.stdout)
	}
}

// hostSSHD is a host made by 'signstar host apply': two accounts on two
// tokens, three client keys, sshd reading the drop-in apply wrote.
type hostSSHD struct {
	srv                 *sshdtest.Server
	file                string
	a, b                string // the accounts
	k1, k2, k3          string // client key files: k1, k2 of a; k3 of b
	repo, pkg, otherKey []byte // certificates: a's repo and pkg, b's repo
}

func newHostSSHD(t *testing.T) *hostSSHD {
	t.Helper()
	sshdtest.Require(t)
	fa, fb := newFixture(t), newFixture(t)
	h := &hostSSHD{a: "ssa" + randomSuffix(t), b: "ssb" + randomSuffix(t)}
	h.repo, h.pkg = fa.generate("repo", "ed25519"), fa.generate("pkg", "p256")
	h.otherKey = fb.generate("repo", "ed25519")
	dir := sshdtest.WorldDir(t)
	shell := filepath.Join(dir, "signstar")
	copyExecutable(t, binary, shell)
	for _, u := range []string{h.a, h.b} {
		t.Cleanup(func() {
			exec.Command("pkill", "-KILL", "-u", u).Run()
			exec.Command("userdel", u).Run()
		})
	}
	keys := map[string]string{}
	for _, k := range []string{"k1", "k2", "k3"} {
		path := filepath.Join(dir, k)
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", k, "-f", path).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v: %s", err, out)
		}
		pub, err := os.ReadFile(path + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		keys[k] = strings.TrimSpace(string(pub))
	}
	h.k1, h.k2, h.k3 = filepath.Join(dir, "k1"), filepath.Join(dir, "k2"), filepath.Join(dir, "k3")
	h.file = filepath.Join(dir, "host.toml")
	doc := fmt.Sprintf(`[sshd]
drop-in = %[1]q
authorized-keys = %[2]q
shell = %[3]q
config = %[15]q # written by sshdtest.StartInclude after the first apply

[configs.a]
path = %[4]q
allow.repo = ["k1"]
allow.pkg = ["k2"]

[configs.b]
path = %[5]q

[accounts.%[6]s]
home = %[8]q
config = "a"
set-env = [%[10]q]
clients.k1 = { key = %[12]q, from = ["127.0.0.1"] }
clients.k2 = { key = %[13]q, from = ["127.0.0.1", "::1"], comment = "second key" }

[accounts.%[7]s]
home = %[9]q
config = "b"
set-env = [%[11]q]
clients.k3 = { key = %[14]q, from = ["127.0.0.1"] }
`, filepath.Join(dir, "sshd_config.d", "50-signstar.conf"), filepath.Join(dir, "authorized_keys"), shell,
		fa.conf, fb.conf, h.a, h.b, filepath.Join(dir, "home-a"), filepath.Join(dir, "home-b"),
		fa.hsm.Env(), fb.hsm.Env(), keys["k1"], keys["k2"], keys["k3"], filepath.Join(dir, "sshd_config"))
	if err := os.WriteFile(h.file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	wantHost(t, runHost(t, "apply", "--file", h.file), 0, "create account "+h.a, "applied 11 change(s)\nsignstar: hint: reload sshd")
	h.srv = sshdtest.StartInclude(t, dir, filepath.Join(dir, "sshd_config.d", "50-signstar.conf"))
	for u, f := range map[string]*fixture{h.a: fa, h.b: fb} {
		audit := filepath.Join(f.dir, "audit.jsonl")
		if err := os.WriteFile(audit, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		h.srv.As(u).Grant(f.hsm.Dir, filepath.Join(f.dir, "pin"), filepath.Join(f.dir, "token.lock"), audit)
	}
	return h
}

func randomSuffix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 3)
	f, err := os.Open("/dev/urandom")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Read(b)
	return fmt.Sprintf("%x", b)
}

func copyExecutable(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestHostSSHD: each client key signs with the token keys the host file
// allows it and is refused the others, through the sshd apply set up; a
// second apply changes nothing; check names a hand edit.
func TestHostSSHD(t *testing.T) {
	h := newHostSSHD(t)
	data := []byte("release artifact\n")
	tests := []struct {
		name    string
		account string
		key     string
		args    []string
		cert    []byte // nil: refused
		code    int
		stderr  string
	}{
		{"k1 signs with repo", h.a, h.k1, []string{"sign", "--key", "repo"}, h.repo, 0, ""},
		{"k1 is refused pkg", h.a, h.k1, []string{"sign", "--key", "pkg"}, nil, 2, "is not allowed to use this key"},
		{"k2 signs with pkg", h.a, h.k2, []string{"sign", "--key", "pkg"}, h.pkg, 0, ""},
		{"k2 is refused repo", h.a, h.k2, []string{"sign", "--key", "repo"}, nil, 2, "is not allowed to use this key"},
		{"k3 signs on its account", h.b, h.k3, nil, h.otherKey, 0, ""},
		{"k3 is not authorized on the other account", h.a, h.k3, []string{"sign", "--key", "repo"}, nil, 255, "Permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sshdtest.Run(t, h.srv.As(tt.account).SSHWith(tt.key, nil, tt.args...), data)
			if r.Code != tt.code || !strings.Contains(string(r.Stderr), tt.stderr) {
				t.Fatalf("exit %d, want %d; stderr %q, want %q in it", r.Code, tt.code, r.Stderr, tt.stderr)
			}
			if tt.cert == nil {
				if len(r.Stdout) != 0 {
					t.Fatalf("refused, yet %d bytes on stdout", len(r.Stdout))
				}
				return
			}
			if err := verifytest.GPGV(t, tt.cert, data, r.Stdout); err != nil {
				t.Fatal(err)
			}
		})
	}

	wantHost(t, runHost(t, "apply", "--file", h.file), 0, "", "nothing changed")
	wantHost(t, runHost(t, "check", "--file", h.file), 0, "", "the host matches")

	// sshd without the drop-in: check says sshd does not apply it.
	conf := filepath.Join(filepath.Dir(h.file), "sshd_config")
	full, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	included := regexp.MustCompile(`(?m)^Include .*\n`)
	if err := os.WriteFile(conf, included.ReplaceAll(full, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	wantHost(t, runHost(t, "check", "--file", h.file), 1,
		"missing: sshd ("+conf+`) does not apply the drop-in's "maxstartups 64:30:256, authorizedkeysfile `, "0 change(s) to apply, 2 thing(s) missing")
	if err := os.WriteFile(conf, full, 0o644); err != nil {
		t.Fatal(err)
	}

	keys := filepath.Join(filepath.Dir(h.file), "authorized_keys", h.a)
	pub, _ := os.ReadFile(h.k3 + ".pub")
	appendFile(t, keys, "restrict "+string(pub))
	wantHost(t, runHost(t, "check", "--file", h.file), 1,
		"drift: write "+keys+": its contents differ from the host file's\n", "the host differs from the host file")
	wantHost(t, runHost(t, "apply", "--file", h.file), 0, "write "+keys, "applied 1 change(s)")
	r := sshdtest.Run(t, h.srv.As(h.a).SSHWith(h.k3, nil, "sign", "--key", "repo"), data)
	if r.Code != 255 {
		t.Fatalf("k3 on %s after apply undid the edit: exit %d: %s", h.a, r.Code, r.Stderr)
	}
}
