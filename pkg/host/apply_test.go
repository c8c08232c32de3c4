package host

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"signstar/internal/testenv"
	"signstar/pkg/config"
)

var update = flag.Bool("update", false, "rewrite testdata/example from what apply writes")

// scratchRoot is a root holding what apply does not make: the signstar
// binary, the example's two configs with their keys, certificates and PIN
// files, as 'signstar init' and 'key generate' leave them.
func scratchRoot(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.SkipOrFatal(t, "apply on a scratch root needs root (chown, useradd --root)")
	}
	root := t.TempDir()
	files := map[string]string{
		"usr/bin/signstar":            "#!/bin/sh\n",
		"etc/signstar/release.pin":    "1234\n",
		"etc/signstar/archsign.pin":   "1234\n",
		"etc/signstar/certs/repo.asc": "cert\n", "etc/signstar/certs/pkg.asc": "cert\n",
		"etc/signstar/certs/arch.asc": "cert\n",
		"etc/signstar/release.toml": `# made by signstar init; a comment apply keeps
[token]
module = "/usr/lib/softhsm/libsofthsm2.so"
label = "release"
pin-file = "release.pin"
lock-file = "/run/signstar/release.lock"

[keys.repo]
type = "ed25519"
id = "01"
cert = "certs/repo.asc"
default = true

[keys.pkg]
type = "p256"
id = "02"
cert = "certs/pkg.asc"
`,
		"etc/signstar/archsign.toml": `[token]
module = "/usr/lib/softhsm/libsofthsm2.so"
label = "archsign"
pin-file = "/etc/signstar/archsign.pin"
lock-file = "/run/signstar-archsign/archsign.lock"

[keys.repo]
type = "ed25519"
id = "03"
cert = "certs/arch.asc"
`,
	}
	for name, data := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := fs.FileMode(0o644)
		if strings.HasSuffix(name, ".pin") {
			mode = 0o600
		} else if strings.HasPrefix(name, "usr/bin/") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func parseExample(t *testing.T) *File {
	t.Helper()
	f, err := Parse(readExample(t))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func apply(t *testing.T, f *File, o Options) *Plan {
	t.Helper()
	p, err := Compare(f, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Apply(func(Change) {}); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestApplyScratchRoot(t *testing.T) {
	for _, tool := range []string{"systemd-sysusers", "useradd"} {
		t.Run(tool, func(t *testing.T) {
			testenv.Tool(t, tool)
			testenv.Tool(t, "sshd")
			root := scratchRoot(t)
			f := parseExample(t)
			o := Options{Root: root, AccountTool: tool}
			first := apply(t, f, o)
			if len(first.Missing) != 0 {
				t.Errorf("missing after apply: %q", first.Missing)
			}
			assertWritten(t, root)
			assertConfigs(t, root, f)
			assertAccounts(t, root)
			again, err := Compare(f, o)
			if err != nil {
				t.Fatal(err)
			}
			if !again.Clean() {
				t.Fatalf("a second apply would change %q, miss %q", again.Changes, again.Missing)
			}
		})
	}
}

// assertWritten compares the files apply writes with testdata/example,
// and their modes and owners with what sshd's StrictModes and signstar
// need.
func assertWritten(t *testing.T, root string) {
	t.Helper()
	for _, w := range []struct {
		path  string
		mode  fs.FileMode
		owner string
	}{
		{"/etc/signstar/authorized_keys/signer", 0o644, "root"},
		{"/etc/signstar/authorized_keys/archsign", 0o644, "root"},
		{"/etc/ssh/sshd_config.d/50-signstar.conf", 0o644, "root"},
		{"/etc/signstar/authorized_keys", 0o755 | fs.ModeDir, "root"},
		{"/var/lib/signstar/signer", 0o700 | fs.ModeDir, "signer"},
		{"/var/lib/signstar/archsign", 0o700 | fs.ModeDir, "archsign"},
		{"/run/signstar", 0o700 | fs.ModeDir, "signer"},
		{"/run/signstar-archsign", 0o700 | fs.ModeDir, "archsign"},
		{"/etc/tmpfiles.d/signstar-host.conf", 0o644, "root"},
	} {
		p := filepath.Join(root, w.path)
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != w.mode {
			t.Errorf("%s: mode %v, want %v", w.path, fi.Mode(), w.mode)
		}
		uid, _, err := Options{Root: root}.ids(w.owner)
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != uid {
			t.Errorf("%s: owner %d, want %s (%d)", w.path, st.Uid, w.owner, uid)
		}
		if !fi.IsDir() {
			golden(t, p, filepath.Join("testdata", "example", filepath.Base(w.path)))
		}
	}
}

func golden(t *testing.T, got, want string) {
	t.Helper()
	data, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		os.MkdirAll(filepath.Dir(want), 0o755)
		if err := os.WriteFile(want, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	exp, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, exp) {
		t.Errorf("%s differs from %s:\n%s", got, want, data)
	}
}

// assertConfigs checks the allow lists and default actions apply wrote
// through package config, read back through it.
func assertConfigs(t *testing.T, root string, f *File) {
	t.Helper()
	fpr := func(client string) string { _, c := f.client(client); return c.Fingerprint() }
	release, err := config.Load(filepath.Join(root, "etc/signstar/release.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := release.Keys["repo"].Allow, []string{fpr("repo-release")}; !slices.Equal(got, want) {
		t.Errorf("release: keys.repo.allow %q, want %q", got, want)
	}
	if got, want := release.Keys["pkg"].Allow, []string{fpr("package-builder"), fpr("repo-release")}; !slices.Equal(got, want) {
		t.Errorf("release: keys.pkg.allow %q, want %q", got, want)
	}
	if a := release.Remote.DefaultAction; a != "" {
		t.Errorf("release: default-action %q written, want none (sign is the default)", a)
	}
	data, _ := os.ReadFile(release.Path())
	if !bytes.HasPrefix(data, []byte("# made by signstar init; a comment apply keeps\n")) {
		t.Errorf("apply lost the config's comment:\n%s", data)
	}
	arch, err := config.Load(filepath.Join(root, "etc/signstar/archsign.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if a := arch.Remote.DefaultAction; a != "request" {
		t.Errorf("archsign: default-action %q, want request", a)
	}
}

func assertAccounts(t *testing.T, root string) {
	t.Helper()
	accounts, err := Options{Root: root}.readAccounts()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"signer", "archsign"} {
		a, ok := accounts[name]
		want := account{uid: a.uid, gid: a.gid, pw: "*", home: "/var/lib/signstar/" + name, shell: "/usr/bin/signstar"}
		if !ok || a != want {
			t.Errorf("account %s: %+v, want %+v", name, a, want)
		}
	}
}

// TestDrift: each hand change to what apply made is a change in the next
// plan, naming what drifted.
func TestDrift(t *testing.T) {
	testenv.Tool(t, "sshd")
	root := scratchRoot(t)
	f := parseExample(t)
	o := Options{Root: root, AccountTool: "useradd"}
	apply(t, f, o)
	keys := filepath.Join(root, "etc/signstar/authorized_keys/signer")
	tests := []struct {
		name string
		edit func() error
		want string
	}{
		{"authorized_keys edited", func() error {
			return appendTo(keys, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEKkBVNOlvnVnAQL6yCvy3p5iKkMyJ4H3CNh6yFy4bnR intruder\n")
		}, "write /etc/signstar/authorized_keys/signer: its contents differ from the host file's"},
		{"authorized_keys mode", func() error { return os.Chmod(keys, 0o666) }, "chmod 0644 /etc/signstar/authorized_keys/signer (is 0666)"},
		{"home owner", func() error { return os.Chown(filepath.Join(root, "var/lib/signstar/signer"), 0, 0) }, "chown signer /var/lib/signstar/signer (is 0:0)"},
		{"allow list", func() error {
			return replaceIn(filepath.Join(root, "etc/signstar/release.toml"), "allow = [", "allow = ['SHA256:MxOXkapokb8rzyuRqdTvJ4olSRNVIbINC3ZpGpvOEHE', ")
		}, "set keys.repo.allow in /etc/signstar/release.toml to 1 client key(s): repo-release",
		},
		{"password locked", func() error { return Options{Root: root}.run("usermod", "--lock", "signer") },
			`set the password field of account signer to "*" (is locked with '!', which sshd refuses without PAM)`},
		{"stray authorized_keys file", func() error {
			return os.WriteFile(filepath.Join(root, "etc/signstar/authorized_keys/olduser"), []byte("ssh-ed25519 AAAA\n"), 0o644)
		}, `remove /etc/signstar/authorized_keys/olduser: no account "olduser" in the host file`},
		{"drop-in removed", func() error { return os.Remove(filepath.Join(root, "etc/ssh/sshd_config.d/50-signstar.conf")) },
			"create file /etc/ssh/sshd_config.d/50-signstar.conf (0644, root)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.edit(); err != nil {
				t.Fatal(err)
			}
			p, err := Compare(f, o)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Changes) != 1 || !strings.Contains(p.Changes[0].Desc, tt.want) {
				t.Fatalf("plan %q, want one change %q", p.Changes, tt.want)
			}
			apply(t, f, o)
			if p, _ := Compare(f, o); !p.Clean() {
				t.Fatalf("after apply: %q", p.Changes)
			}
		})
	}
}

func appendTo(path, text string) error {
	fh, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = fh.WriteString(text)
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	return err
}

func replaceIn(path, old, new string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, bytes.Replace(data, []byte(old), []byte(new), 1), 0o644)
}

// TestRuntimeDirShared: two accounts' lock files in one directory under
// /run is what the host lacks (each needs its own), not a change.
func TestRuntimeDirShared(t *testing.T) {
	root := scratchRoot(t)
	if err := replaceIn(filepath.Join(root, "etc/signstar/archsign.toml"), "/run/signstar-archsign/", "/run/signstar/"); err != nil {
		t.Fatal(err)
	}
	p, err := Compare(parseExample(t), Options{Root: root, AccountTool: "useradd"})
	if err != nil {
		t.Fatal(err)
	}
	want := Lack{Kind: LackRuntimeDir, Path: "/run/signstar", What: "a runtime directory of its own, not /run/signstar, for each of the accounts archsign, signer (their configs' token.lock-file)"}
	if !slices.Contains(p.Missing, want) {
		t.Errorf("missing %q, want %q in it", p.Missing, want.What)
	}
	for _, c := range p.Changes {
		if strings.Contains(c.Desc, "/run/signstar") {
			t.Errorf("plan changes the shared directory: %s", c.Desc)
		}
	}
}
