package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRemoveKey: the key's tables go, with their own comments; every
// other byte of the file stays.
func TestRemoveKey(t *testing.T) {
	k := "[keys.k]\ntype = \"rsa3072\"\nid = \"0a\"\ncert = \"certs/k.asc\"\ndefault = true\n"
	other := "[keys.other]\ntype = \"p256\"\nid = \"0b\"\ncert = \"certs/other.asc\"\n"
	notations := "[[keys.k.notations]]\nname = \"a@example.org\"\nvalue = \"b\"\n"
	tests := []struct {
		name    string
		doc     string
		key     string
		want    string
		wantErr string
	}{
		{"last table", base + "\n" + other + "\n" + k, "k", base + "\n" + other, ""},
		{"first of two, the other's comment kept", base + "\n# the main key\n" + k + "\n# the other key\n" + other, "k",
			base + "\n# the other key\n" + other, ""},
		{"between two", base + "\n" + other + "\n" + k + "\n" + strings.ReplaceAll(other, "other", "third"), "k",
			base + "\n" + other + "\n" + strings.ReplaceAll(other, "other", "third"), ""},
		{"quoted header with comment", base + "\n[ keys.'k' ] # main\ntype = \"rsa3072\"\nid = \"0a\"\ncert = \"c\"\n\n" + other, "k",
			base + "\n" + other, ""},
		{"sub-tables", base + "\n" + k + "\n" + notations + "\n" + other, "k", base + "\n" + other, ""},
		{"the only key", base + "\n" + k, "k", base, ""},
		{"no final newline", base + "\n" + other + "\n" + strings.TrimSuffix(k, "\n"), "k", base + "\n" + other, ""},
		{"a name that is a prefix", base + "\n" + k + "\n" + strings.ReplaceAll(other, "other", "kk"), "k",
			base + "\n" + strings.ReplaceAll(other, "other", "kk"), ""},
		{"unknown key", base + k, "nope", "", `key "nope" is not configured`},
		{"inline table it cannot edit", "keys.k = {type = \"rsa3072\", id = \"0a\", cert = \"c\"}\n" + base, "k", "",
			`no [keys.k] table; remove its [keys.k] table by hand`},
		{"a header inside a string", base + "\n" + k + "\n[lockdown]\nread-only = [\"\"\"/srv\n[keys.k]\n\"\"\"]\n", "k", "",
			"the edited file does not parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "signstar.toml")
			if err := os.WriteFile(path, []byte(tt.doc), 0o640); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			err = c.RemoveKey(tt.key)
			got, rerr := os.ReadFile(path)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("RemoveKey: %v, want error containing %q", err, tt.wantErr)
				}
				if string(got) != tt.doc {
					t.Errorf("a refused edit changed the file:\n%s", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("RemoveKey: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("file:\n%s\nwant:\n%s", got, tt.want)
			}
			if _, ok := c.Keys[tt.key]; ok {
				t.Error("the key is still in c.Keys")
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 {
				t.Errorf("mode %v (%v), want 0640 kept", fi.Mode(), err)
			}
		})
	}
}
