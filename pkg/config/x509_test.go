package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const keyTable = "[keys.k]\ntype = \"rsa3072\"\nid = \"0a\"\ncert = \"certs/k.asc\"\n"

func TestParseX509(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		wantErr string
	}{
		{"none", base + keyTable, ""},
		{"relative", base + keyTable + "x509 = \"certs/k.pem\"\n", ""},
		{"absolute", base + keyTable + "x509 = \"/etc/signstar/certs/k.pem\"\n", ""},
		{"unclean", base + keyTable + "x509 = \"certs/../k.pem\"\n", `keys.k: x509 "certs/../k.pem": want a clean path`},
		{"trailing slash", base + keyTable + "x509 = \"certs/\"\n", "want a clean path"},
		{"the OpenPGP certificate", base + keyTable + "x509 = \"certs/k.asc\"\n", "is the OpenPGP certificate's file"},
		{"not a string", base + keyTable + "x509 = 1\n", `key "keys.k.x509"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.doc))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if want := strings.Contains(tt.doc, "x509 = "); (c.Keys["k"].X509 != "") != want {
					t.Fatalf("x509 = %q", c.Keys["k"].X509)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Parse: %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestSetX509: the x509 line goes into the key's own table, or replaces
// the one there; every other byte of the file stays.
func TestSetX509(t *testing.T) {
	other := "[keys.other]\ntype = \"p256\"\nid = \"0b\"\ncert = \"certs/other.asc\"\n"
	tests := []struct {
		name    string
		doc     string
		key     string
		path    string
		want    string
		wantErr string
	}{
		{"last table", base + "\n" + keyTable, "k", "certs/k.pem",
			base + "\n" + keyTable + "x509 = 'certs/k.pem'\n", ""},
		{"before the next table, comments kept", base + "# keys\n" + keyTable + "# the other key\n\n" + other, "k", "certs/k.pem",
			base + "# keys\n" + keyTable + "# the other key\nx509 = 'certs/k.pem'\n\n" + other, ""},
		{"replaces its line", base + keyTable + "x509 = \"old.pem\"  # renewed yearly\nhash = \"sha256\"\n", "k", "certs/k.pem",
			base + keyTable + "x509 = 'certs/k.pem'\nhash = \"sha256\"\n", ""},
		{"quoted header", base + strings.Replace(keyTable, "[keys.k]", "[ keys.\"k\" ] # main", 1), "k", "k.pem",
			base + strings.Replace(keyTable, "[keys.k]", "[ keys.\"k\" ] # main", 1) + "x509 = 'k.pem'\n", ""},
		{"no final newline", base + strings.TrimSuffix(keyTable, "\n"), "k", "k.pem",
			base + keyTable + "x509 = 'k.pem'\n", ""},
		{"other key's table untouched", base + other + keyTable + "x509 = 'a.pem'\n", "other", "o.pem",
			base + other + "x509 = 'o.pem'\n" + keyTable + "x509 = 'a.pem'\n", ""},
		{"unknown key", base + keyTable, "nope", "x.pem", "", `key "nope" is not configured`},
		{"bad path", base + keyTable, "k", "certs/k.asc", "", "is the OpenPGP certificate's file"},
		{"inline table it cannot edit", "keys.k = {type = \"rsa3072\", id = \"0a\", cert = \"c\"}\n" + base, "k", "k.pem", "",
			`no [keys.k] table; add x509 = "k.pem" to [keys.k] by hand`},
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
			err = c.SetX509(tt.key, tt.path)
			data, _ := os.ReadFile(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("SetX509: %v, want error containing %q", err, tt.wantErr)
				}
				if string(data) != tt.doc {
					t.Fatalf("a refused SetX509 changed the file:\n%s", data)
				}
				return
			}
			if err != nil {
				t.Fatalf("SetX509: %v", err)
			}
			if string(data) != tt.want {
				t.Fatalf("file after SetX509:\n%s\nwant:\n%s", data, tt.want)
			}
			if c.Keys[tt.key].X509 != tt.path {
				t.Fatalf("in memory x509 = %q", c.Keys[tt.key].X509)
			}
			if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
				t.Fatalf("mode %v, want 0640 kept", fi.Mode())
			}
		})
	}
}
