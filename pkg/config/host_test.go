package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const hostBase = `# kept
[token]
module = "/usr/lib/softhsm/libsofthsm2.so"
label = "signstar"
pin-file = "pin"

[keys.repo]
type = "ed25519"
id = "01"
cert = "repo.asc"
`

const fpr1 = "SHA256:kGc1ievqX8XLsyTDL+UYc7FZy2PO0hk6MCW+MAiTD+g"

func writeConfig(t *testing.T, doc string) *Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSetDefaultAction(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"no remote table", hostBase, hostBase + "\n[remote]\ndefault-action = 'request'\n"},
		{"remote table", "[remote]\nidle-timeout = '1m'\n" + hostBase, "[remote]\ndefault-action = 'request'\nidle-timeout = '1m'\n" + hostBase},
		{"replaced", hostBase + "[remote] # the login shell\ndefault-action = \"sign\" # was\n", hostBase + "[remote] # the login shell\ndefault-action = 'request'\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := writeConfig(t, tt.doc)
			if err := c.SetDefaultAction("request"); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(c.Path())
			if string(got) != tt.want {
				t.Errorf("config now\n%s\nwant\n%s", got, tt.want)
			}
			if c2, _ := Load(c.Path()); c2.Remote.DefaultAction != "request" {
				t.Errorf("default-action %q", c2.Remote.DefaultAction)
			}
		})
	}
	if err := writeConfig(t, hostBase).SetDefaultAction("verify"); err == nil || !strings.Contains(err.Error(), "want sign or request") {
		t.Errorf("SetDefaultAction(verify): %v", err)
	}
}

func TestSetAllow(t *testing.T) {
	c := writeConfig(t, hostBase)
	if err := c.SetAllow("repo", []string{fpr1}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(c.Path()); !strings.HasSuffix(string(got), "cert = \"repo.asc\"\nallow = ['"+fpr1+"']\n") || !strings.HasPrefix(string(got), "# kept\n") {
		t.Errorf("config now\n%s", got)
	}
	if c2, _ := Load(c.Path()); !slices.Equal(c2.Keys["repo"].Allow, []string{fpr1}) {
		t.Errorf("allow %q", c2.Keys["repo"].Allow)
	}
	if err := c.SetAllow("repo", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(c.Path()); string(got) != hostBase {
		t.Errorf("after removing the allow list:\n%s", got)
	}
	for _, bad := range []struct {
		key   string
		allow []string
		want  string
	}{
		{"nope", nil, `key "nope" is not configured`},
		{"repo", []string{"MD5:xx"}, "is not an SSH key fingerprint"},
	} {
		if err := c.SetAllow(bad.key, bad.allow); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("SetAllow(%s, %q): %v, want %q", bad.key, bad.allow, err, bad.want)
		}
	}
}
