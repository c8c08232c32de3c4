package config

import (
	"crypto"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const base = `[token]
module = "/usr/lib/softhsm/libsofthsm2.so"
label = "signstar"
pin-file = "pin"
`

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		wantErr string // substring; empty means success
	}{
		{"module and label", base, ""},
		{"uri", "[token]\nuri = \"pkcs11:token=sign%20star?module-path=/usr/lib/softhsm/libsofthsm2.so\"\npin-file = \"pin\"\n", ""},
		{"uri with serial", "[token]\nuri = \"pkcs11:serial=1234?module-path=/m.so\"\npin-file = \"p\"\n", ""},
		{"key", base + "[keys.repo]\ntype = \"ed25519\"\nid = \"0a0b\"\ncert = \"repo.asc\"\nhash = \"sha256\"\n", ""},
		{"unknown top-level key", "pinfile = 'x'\n" + base, `line 1: unknown key "pinfile"`},
		{"unknown token key", base + "pin = \"1234\"\n", `line 5: unknown key "token.pin"`},
		{"unknown key field", base + "[keys.repo]\ntype = \"ed25519\"\nid = \"0a\"\ncert = \"c\"\nallow-all = true\n", `line 9: unknown key "keys.repo.allow-all"`},
		{"syntax", "[token\n", "line 1"},
		{"wrong type", "[token]\nmodule = 3\n", `line 2: key "token.module"`},
		{"no token", "", "token: set uri, or both module and label"},
		{"uri and module", "[token]\nuri = \"pkcs11:token=a?module-path=/m.so\"\nmodule = \"/m.so\"\npin-file = \"p\"\n", "not both"},
		{"uri without module", "[token]\nuri = \"pkcs11:token=a\"\npin-file = \"p\"\n", "module-path is required"},
		{"uri with pin", "[token]\nuri = \"pkcs11:token=a?module-path=/m.so&pin-value=1234\"\npin-file = \"p\"\n", "must not carry a PIN"},
		{"uri malformed", "[token]\nuri = \"http://x\"\npin-file = \"p\"\n", "token: uri:"},
		{"uri without token", "[token]\nuri = \"pkcs11:?module-path=/m.so\"\npin-file = \"p\"\n", "name the token"},
		{"no pin file", "[token]\nmodule = \"/m.so\"\nlabel = \"l\"\n", "pin-file is required"},
		{"bad key name", base + "[keys.\"a b\"]\ntype = \"ed25519\"\nid = \"0a\"\ncert = \"c\"\n", "invalid key name"},
		{"bad hash", base + "[keys.a]\ntype = \"ed25519\"\nid = \"0a\"\ncert = \"c\"\nhash = \"md5\"\n", `hash "md5"`},
		{"bad id", base + "[keys.a]\ntype = \"ed25519\"\nid = \"zz\"\ncert = \"c\"\n", `id "zz"`},
		{"missing cert", base + "[keys.a]\ntype = \"ed25519\"\nid = \"0a\"\n", "type, id and cert are required"},
		{"allow", base + "[keys.a]\ntype = \"ed25519\"\nid = \"0a\"\ncert = \"c\"\nallow = [\"SHA256:EaGDxUxRfAkBX/ilGde0OsryzmcJfP8KCLcNqVIj5go\"]\n", ""},
		{"allow not a fingerprint", base + "[keys.a]\ntype = \"ed25519\"\nid = \"0a\"\ncert = \"c\"\nallow = [\"ssh-ed25519 AAAA\"]\n", "not an SSH key fingerprint"},
		{"remote request", base + "[remote]\ndefault-action = \"request\"\n", ""},
		{"remote bad action", base + "[remote]\ndefault-action = \"shell\"\n", `default-action "shell"`},
		{"audit file", base + "[audit]\nsink = \"file:/var/log/signstar.jsonl\"\n", ""},
		{"audit relative file", base + "[audit]\nsink = \"file:log\"\n", `sink "file:log"`},
		{"audit unclean file", base + "[audit]\nsink = \"file:/var/log/../tmp/a\"\n", `audit: audit sink "file:/var/log/../tmp/a": want file:PATH with an absolute, clean PATH`},
		{"two defaults", base + "[keys.a]\ntype = \"ed25519\"\nid = \"0a\"\ncert = \"c\"\ndefault = true\n[keys.b]\ntype = \"ed25519\"\nid = \"0b\"\ncert = \"c\"\ndefault = true\n", "more than one key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("Parse succeeded, want error containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("Parse error %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestSelectorFromURI(t *testing.T) {
	c, err := Parse([]byte("[token]\nuri = \"pkcs11:token=sign%20star;serial=42?module-path=/usr/lib/m.so\"\npin-file = \"p\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	sel, err := c.Token.Selector()
	if err != nil {
		t.Fatal(err)
	}
	want := Selector{Module: "/usr/lib/m.so", Label: "sign star", Serial: "42"}
	if sel != want {
		t.Fatalf("Selector = %+v, want %+v", sel, want)
	}
}

func TestCreateAndAddKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signstar.toml")
	tok := Token{Module: "/m.so", Label: "signstar", PINFile: "pin"}
	if err := Create(path, tok, Audit{Sink: "stderr"}); err != nil {
		t.Fatal(err)
	}
	if err := Create(path, tok, Audit{}); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("second Create: %v, want refusal", err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DefaultKey(); err == nil {
		t.Fatal("DefaultKey with no keys succeeded")
	}
	for _, name := range []string{"repo", "pkg"} {
		k := &Key{Type: "ed25519", ID: "0a", Cert: name + ".asc", Default: name == "repo"}
		if err := c.AddKey(name, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.AddKey("repo", &Key{Type: "ed25519", ID: "0b", Cert: "x"}); err == nil {
		t.Fatal("adding an existing key succeeded")
	}
	c, err = Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Keys) != 2 {
		t.Fatalf("reloaded config has %d keys, want 2", len(c.Keys))
	}
	if name, err := c.DefaultKey(); err != nil || name != "repo" {
		t.Fatalf("DefaultKey = %q, %v; want repo", name, err)
	}
	if name, k, err := c.Key(""); err != nil || name != "repo" || k != c.Keys["repo"] {
		t.Fatalf("Key(\"\") = %q, %v, %v; want the default key", name, k, err)
	}
	if _, _, err := c.Key("nope"); !errors.Is(err, ErrUnknownKey) || err.Error() != `key "nope" is not configured` {
		t.Fatalf("Key(nope) error = %v", err)
	}
	if got, want := c.Resolve("repo.asc"), filepath.Join(filepath.Dir(path), "repo.asc"); got != want {
		t.Fatalf("Resolve = %q, want %q", got, want)
	}
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), "# signstar configuration") {
		t.Fatalf("AddKey lost the header comment:\n%s", data)
	}
}

func TestPIN(t *testing.T) {
	dir := t.TempDir()
	c, err := Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	c.path = filepath.Join(dir, "signstar.toml")
	pin := filepath.Join(dir, "pin")
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		want    string
		wantErr string
	}{
		{"private", "1234\n", 0o600, "1234", ""},
		{"read-only owner", "1234", 0o400, "1234", ""},
		{"group readable", "1234\n", 0o640, "", "mode 0640"},
		{"world readable", "1234\n", 0o604, "", "has mode 0604, group or others may access it"},
		{"empty", "\n", 0o600, "", "is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(pin)
			if err := os.WriteFile(pin, []byte(tt.content), tt.mode); err != nil {
				t.Fatal(err)
			}
			os.Chmod(pin, tt.mode)
			got, err := c.PIN()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("PIN error %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "1234") {
					t.Fatalf("error leaks the PIN: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("PIN = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	os.Remove(pin)
	if _, err := c.PIN(); err == nil {
		t.Fatal("PIN with a missing file succeeded")
	}
}

func TestKeyHash(t *testing.T) {
	for in, want := range map[string]crypto.Hash{"": crypto.SHA512, "sha512": crypto.SHA512, "sha256": crypto.SHA256} {
		if got, err := (&Key{Hash: in}).HashFunc(); err != nil || got != want {
			t.Errorf("HashFunc(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}
