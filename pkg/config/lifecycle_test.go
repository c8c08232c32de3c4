package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSetDefault(t *testing.T) {
	old := "[keys.old]\ntype = \"ed25519\"\nid = \"0a\"\ncert = \"certs/old.asc\"\ndefault = true  # until 2027\n"
	next := "[keys.new]\ntype = \"p256\"\nid = \"0b\"\ncert = \"certs/new.asc\"\n"
	plainOld := strings.Replace(old, "default = true  # until 2027\n", "", 1)
	tests := []struct {
		name    string
		doc     string
		key     string
		want    string
		wantErr string
	}{
		{"moves the mark", base + old + "\n# next year's key\n" + next, "new",
			base + plainOld + "\n# next year's key\n" + next + "default = true\n", ""},
		{"no mark before", base + plainOld + next, "new", base + plainOld + next + "default = true\n", ""},
		{"replaces default = false", base + plainOld + next + "default = false\n", "new", base + plainOld + next + "default = true\n", ""},
		{"already the default", base + old + next, "old", base + plainOld + "default = true\n" + next, ""},
		{"unknown key", base + old + next, "nope", "", `key "nope" is not configured`},
		{"inline table it cannot edit", "keys.new = {type = \"p256\", id = \"0b\", cert = \"c\"}\n" + base + old, "new", "",
			"no [keys.new] table"},
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
			err = c.SetDefault(tt.key)
			data, _ := os.ReadFile(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("SetDefault: %v, want error containing %q", err, tt.wantErr)
				}
				if string(data) != tt.doc {
					t.Fatalf("a refused SetDefault changed the file:\n%s", data)
				}
				return
			}
			if err != nil {
				t.Fatalf("SetDefault: %v", err)
			}
			if string(data) != tt.want {
				t.Fatalf("file after SetDefault:\n%s\nwant:\n%s", data, tt.want)
			}
			if def, _ := c.DefaultKey(); def != tt.key {
				t.Fatalf("in memory default = %q", def)
			}
		})
	}
}
