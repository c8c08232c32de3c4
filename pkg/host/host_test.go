package host

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

const example = "../../sshd/host.example.toml"

func readExample(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseExample(t *testing.T) {
	f, err := Parse(readExample(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.AccountNames(); strings.Join(got, " ") != "archsign signer" {
		t.Errorf("accounts %v", got)
	}
	n := 0
	for _, a := range f.Accounts {
		n += len(a.Clients)
	}
	if n != 3 {
		t.Errorf("%d client keys, want 3", n)
	}
	// ssh-keygen -lf of the example's repo-release key.
	if got := f.Accounts["signer"].Clients["repo-release"].Fingerprint(); got != "SHA256:kGc1ievqX8XLsyTDL+UYc7FZy2PO0hk6MCW+MAiTD+g" {
		t.Errorf("fingerprint %s", got)
	}
}

// edit returns the example with old replaced by new, which must occur.
func edit(t *testing.T, doc []byte, old, new string) []byte {
	t.Helper()
	if !bytes.Contains(doc, []byte(old)) {
		t.Fatalf("the example no longer contains %q", old)
	}
	return bytes.Replace(doc, []byte(old), []byte(new), 1)
}

func TestParseErrors(t *testing.T) {
	ex := readExample(t)
	const (
		k1 = `key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEKkBVNOlvnVnAQL6yCvy3p5iKkMyJ4H3CNh6yFy4bnR"`
		// The same base64 with the type name's length byte changed.
		k1Bad = `key = "ssh-ed25519 AAAAD3NzaC1lZDI1NTE5AAAAIEKkBVNOlvnVnAQL6yCvy3p5iKkMyJ4H3CNh6yFy4bnR"`
	)
	tests := []struct {
		name string
		doc  []byte
		line string // a string on the line the error names
		want string
	}{
		{"unknown key", edit(t, ex, "[accounts.signer]\n", "[accounts.signer]\nshel = \"/bin/sh\"\n"), "shel = ", `unknown key "accounts.signer.shel"`},
		{"duplicate account", append(bytes.Clone(ex), "\n[accounts.signer] # again\nhome = \"/x\"\n"...), "# again", `key "accounts.signer": table signer already exists`},
		{"undeclared client key", edit(t, ex, `pkg = ["package-builder", "repo-release"]`, `pkg = ["package-builder", "repo-releas"]`), `repo-releas"]`, `configs.release.allow.pkg.1: client key "repo-releas" is not declared`},
		{"client key of another account", edit(t, ex, `repo = ["archlinux-ci"]`, `repo = ["package-builder"]`), `repo = ["package-builder"]`, `configs.archsign.allow.repo.0: client key "package-builder" belongs to account "signer", which does not use config "archsign"`},
		{"bad public key", edit(t, ex, k1, k1Bad), "AAAAD3", `accounts.signer.clients.repo-release.key: ssh-ed25519 key: the key data does not hold a ssh-ed25519 key`},
		{"not base64", edit(t, ex, k1, `key = "ssh-ed25519 AAAA!!"`), "AAAA!!", "accounts.signer.clients.repo-release.key: ssh-ed25519 key: not base64"},
		{"key type", edit(t, ex, k1, `key = "ssh-dss AAAA"`), "ssh-dss", `accounts.signer.clients.repo-release.key: key type "ssh-dss"`},
		{"from pattern", edit(t, ex, `from = ["192.0.2.11"]`, `from = ["192.0.2.11", "a b"]`), `"a b"`, `accounts.signer.clients.package-builder.from.1: "a b"`},
		{"undeclared config", edit(t, ex, `config = "archsign"`, `config = "archsig"`), `archsig"`, `accounts.archsign.config: "archsig" is not a [configs.NAME] table`},
		{"default action", edit(t, ex, `default-action = "request"`, `default-action = "verify"`), "verify", `accounts.archsign.default-action: "verify": want sign or request`},
		{"shared config, two default actions", edit(t, ex, `config = "archsign"`, `config = "release"`), `default-action = "sign"`, `accounts.signer.default-action: "sign", but account "archsign", which shares config "release", has "request"`},
		{"relative home", edit(t, ex, `home = "/var/lib/signstar/signer"`, `home = "signer"`), `home = "signer"`, `accounts.signer.home: "signer": want an absolute, clean path`},
		{"account name", edit(t, ex, "[accounts.signer]\n", "[accounts.Signer]\n"), "[accounts.Signer]", `accounts.Signer: invalid account name`},
		{"SetEnv", edit(t, ex, "[accounts.signer]\n", "[accounts.signer]\nset-env = [\"SIGNSTAR_CONFIG=/tmp/x\"]\n"), "set-env", `accounts.signer.set-env.0: SIGNSTAR_CONFIG comes from config`},
		{"drop-in path", edit(t, ex, `drop-in = "/etc/ssh/sshd_config.d/50-signstar.conf"`, `drop-in = "/etc/ssh/50 signstar.conf"`), "50 signstar", `sshd.drop-in: "/etc/ssh/50 signstar.conf": white space`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.doc)
			want := fmt.Sprintf("line %d: %s", lineOf(t, tt.doc, tt.line), tt.want)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("Parse: %v, want an error containing %q", err, want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// lineOf is the number of the first line of doc holding s.
func lineOf(t *testing.T, doc []byte, s string) int {
	t.Helper()
	i := bytes.Index(doc, []byte(s))
	if i < 0 {
		t.Fatalf("BUG: no %q in the document", s)
	}
	return bytes.Count(doc[:i], []byte("\n")) + 1
}

// TestDropInMatchesShipped: the drop-in apply writes sets, for each
// account, everything the shipped sshd/50-signstar.conf sets, to the same
// values but the account, its authorized_keys and its config.
func TestDropInMatchesShipped(t *testing.T) {
	shipped, err := os.ReadFile("../../sshd/50-signstar.conf")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(readExample(t))
	if err != nil {
		t.Fatal(err)
	}
	f.Accounts = map[string]*Account{"signer": f.Accounts["signer"]}
	f.Configs["release"].Path = "/etc/signstar/config.toml"
	got, want := directives(dropIn(f)), directives(shipped)
	if got != want {
		t.Errorf("generated drop-in sets\n%s\nthe shipped one sets\n%s", got, want)
	}
}

// directives returns a config's settings, one "Keyword value" a line,
// comments and indentation dropped.
func directives(conf []byte) string {
	var b strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(conf))
	space := regexp.MustCompile(`\s+`)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l != "" && !strings.HasPrefix(l, "#") {
			b.WriteString(space.ReplaceAllString(l, " ") + "\n")
		}
	}
	return b.String()
}

func TestKeyLines(t *testing.T) {
	doc := []byte("[a]\nx = 1\n\n[a.b]\nlist = [\n  \"p\",\n  \"q\",\n]\nc.d = \"e\"\n")
	l, err := keyLines(doc)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{"a": 1, "a.x": 2, "a.b": 4, "a.b.list": 5, "a.b.list.1": 7, "a.b.c.d": 9} {
		if got := l.of(strings.Split(path, ".")); got != want {
			t.Errorf("line of %s: %d, want %d", path, got, want)
		}
	}
	if got := l.of([]string{"a", "b", "nope"}); got != 4 {
		t.Errorf("line of a missing key: %d, want its table's, 4", got)
	}
}

// TestFuzzSeedsParse: a seed Parse refuses would leave FuzzParse's
// property unexercised.
func TestFuzzSeedsParse(t *testing.T) {
	for _, s := range []string{"testdata/fuzz-seeds/minimal.toml", "testdata/fuzz-seeds/inline.toml"} {
		data, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(data); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}
