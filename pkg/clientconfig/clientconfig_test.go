package clientconfig

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"signstar/pkg/client"
	"signstar/pkg/pgp"
)

// testCert is a certificate to pin, and its armored form.
func testCert(t *testing.T) (*pgp.Certificate, []byte) {
	t.Helper()
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	cert, err := pgp.NewCertificate(key, "test <test@example.org>", time.Unix(1700000000, 0), time.Time{}, crypto.SHA512)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := cert.WriteArmored(&b); err != nil {
		t.Fatal(err)
	}
	return cert, b.Bytes()
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		wantErr string // "" accepts
	}{
		{"minimal", "hosts = [\"signer@a\"]\n[keys.repo]\ncert = \"repo.asc\"\n", ""},
		{"full", "hosts = [\"signer@a\", \"ssh://signer@b:2222\"]\nssh-options = [\"-oConnectTimeout=5\"]\ntimeout = \"30s\"\n" +
			"[keys.repo]\ncert = \"/etc/signstar/repo.asc\"\nremote = \"repo-2026\"\ndefault = true\n[keys.pkg]\ncert = \"pkg.asc\"\n", ""},
		{"unknown key", "hosts = [\"a\"]\nhost = \"b\"\n[keys.repo]\ncert = \"r\"\n", `line 2: unknown key "host"`},
		{"no hosts", "[keys.repo]\ncert = \"r\"\n", "hosts: no hosts given"},
		{"host is an option", "hosts = [\"-oProxyCommand=sh\"]\n[keys.repo]\ncert = \"r\"\n", "hosts: invalid host"},
		{"host with a space", "hosts = [\"a b\"]\n[keys.repo]\ncert = \"r\"\n", "hosts: invalid host"},
		{"no keys", "hosts = [\"a\"]\n", "no [keys.NAME] table"},
		{"no cert", "hosts = [\"a\"]\n[keys.repo]\n", "keys.repo: cert is required"},
		{"bad remote", "hosts = [\"a\"]\n[keys.repo]\ncert = \"r\"\nremote = \"--all\"\n", "not a valid key name"},
		{"bad name", "hosts = [\"a\"]\n[keys.\"a b\"]\ncert = \"r\"\n", "invalid key name"},
		{"two defaults", "hosts = [\"a\"]\n[keys.a]\ncert = \"r\"\ndefault = true\n[keys.b]\ncert = \"r\"\ndefault = true\n", "more than one key"},
		{"bad timeout", "hosts = [\"a\"]\ntimeout = \"soon\"\n[keys.a]\ncert = \"r\"\n", `timeout "soon"`},
		{"not toml", "hosts = [\n", "line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("ParseConfig: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("ParseConfig = %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

// LoadConfig reads the pinned certificates, relative to the config file,
// and Key gives the host's name for a key.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	cert, asc := testCert(t)
	if err := os.WriteFile(filepath.Join(dir, "repo.asc"), asc, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "client.toml")
	doc := "hosts = [\"signer@a\"]\n[keys.repo]\ncert = \"repo.asc\"\nremote = \"repo-2026\"\n[keys.gone]\ncert = \"gone.asc\"\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "keys.gone") {
		t.Fatalf("LoadConfig with a missing certificate = %v, want an error naming keys.gone", err)
	}
	doc = strings.Split(doc, "[keys.gone]")[0]
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	k := c.Key("repo")
	if k.Name != "repo-2026" || k.Cert.Fingerprint() != cert.Fingerprint() {
		t.Errorf("Key(repo) = %s %s, want repo-2026 %s", k.Name, k.Cert.Fingerprint(), cert.Fingerprint())
	}
	if c.DefaultKey() != "repo" {
		t.Errorf("DefaultKey() = %q, want the only key, repo", c.DefaultKey())
	}
}

// The user's config wins over the system's, and SIGNSTAR_CLIENT_CONFIG
// over both, even when it names a file that does not exist (an error
// then, not a fallback to another config).
func TestFind(t *testing.T) {
	home := t.TempDir()
	user := filepath.Join(home, ".config", "signstar", "client.toml")
	env := map[string]string{"HOME": home}
	getenv := func(k string) string { return env[k] }
	system := ""
	if _, err := os.Stat(System); err == nil {
		system = System
	}
	if got := Find(getenv); got != system {
		t.Errorf("FindConfig with no user config = %q, want %q", got, system)
	}
	if err := os.MkdirAll(filepath.Dir(user), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(user, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := Find(getenv); got != user {
		t.Errorf("FindConfig = %q, want the user's %q", got, user)
	}
	env["XDG_CONFIG_HOME"] = t.TempDir()
	if got := Find(getenv); got != system {
		t.Errorf("FindConfig with an empty XDG_CONFIG_HOME = %q, want %q", got, system)
	}
	env[Env] = "/nonexistent/client.toml"
	if got := Find(getenv); got != "/nonexistent/client.toml" {
		t.Errorf("FindConfig = %q, want $%s", got, Env)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("hosts = [\"signer@a\"]\n[keys.repo]\ncert = \"repo.asc\"\n")
	f.Add("hosts = [\"a\", \"ssh://b:22\"]\nssh-options = [\"-v\"]\ntimeout = \"1m\"\n[keys.a]\ncert = \"x\"\nremote = \"b\"\ndefault = true\n")
	f.Add("hosts = [\n")
	f.Fuzz(func(t *testing.T, doc string) {
		c, err := Parse([]byte(doc))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("ParseConfig error is not one line: %q", err)
			}
			return
		}
		for _, h := range c.Hosts {
			if err := client.CheckHost(h); err != nil {
				t.Fatalf("Parse accepted a host client refuses: %v", err)
			}
		}
		for _, name := range c.KeyNames() {
			if c.Key(name).Name == "" {
				t.Fatalf("key %q has no name on the host", name)
			}
		}
	})
}
