package config

import (
	"strings"
	"testing"
)

const logKeys = base + `[keys.repo]
type = "ed25519"
id = "0a"
cert = "repo.asc"
default = true
[keys.log]
type = "ed25519"
id = "0b"
cert = "log.asc"
[keys.rsa]
type = "rsa4096"
id = "0c"
cert = "rsa.asc"
`

func TestParseLog(t *testing.T) {
	tests := []struct {
		name    string
		log     string
		wantErr string // substring; empty means success
	}{
		{"none", "", ""},
		{"key", "[log]\nkey = \"log\"\n", ""},
		{"all", "[log]\nkey = \"log\"\ndir = \"/srv/log\"\norigin = \"sign.example.org/build\"\n", ""},
		{"dir without key", "[log]\ndir = \"/srv/log\"\n", "log: key is required"},
		{"origin without key", "[log]\norigin = \"o\"\n", "log: key is required"},
		{"key is a file", "[log]\nkey = \"/etc/signstar/log.key\"\n", "not a file"},
		{"key relative file", "[log]\nkey = \"log.pem\"\n", "not a file"},
		{"unknown key", "[log]\nkey = \"nolog\"\n", `"nolog" is not configured`},
		{"rsa key", "[log]\nkey = \"rsa\"\n", "checkpoints are signed with ed25519"},
		{"default key", "[log]\nkey = \"repo\"\n", "is the default signing key"},
		{"relative dir", "[log]\nkey = \"log\"\ndir = \"log\"\n", `dir "log": want an absolute`},
		{"unclean dir", "[log]\nkey = \"log\"\ndir = \"/var/lib/../log\"\n", "clean path"},
		{"root dir", "[log]\nkey = \"log\"\ndir = \"/\"\n", "below /"},
		{"origin space", "[log]\nkey = \"log\"\norigin = \"a b\"\n", "without space or '+'"},
		{"origin plus", "[log]\nkey = \"log\"\norigin = \"a+b\"\n", "without space or '+'"},
		{"origin unicode", "[log]\nkey = \"log\"\norigin = \"h\u00e9te\"\n", "printable ASCII"},
		{"origin long", "[log]\nkey = \"log\"\norigin = \"" + strings.Repeat("a", 257) + "\"\n", "longer than 256"},
		{"unknown field", "[log]\nkey = \"log\"\nkey-file = \"/k\"\n", `unknown key "log.key-file"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(logKeys + tt.log))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("Parse succeeded, want error containing %q", tt.wantErr)
			case err != nil && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("Parse: %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestLogDefaults(t *testing.T) {
	c, err := Parse([]byte(logKeys + "[log]\nkey = \"log\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Log.Enabled() || c.Log.LogDir() != DefaultLogDir {
		t.Errorf("log enabled %v in %q, want enabled in %q", c.Log.Enabled(), c.Log.LogDir(), DefaultLogDir)
	}
	if o := c.Log.OriginFor("sign.example.org", "build"); o != "sign.example.org/build" {
		t.Errorf("origin %q, want sign.example.org/build", o)
	}
	c.Log.Origin = "example.org/log"
	if o := c.Log.OriginFor("h", "a"); o != "example.org/log" {
		t.Errorf("origin %q, want the configured one", o)
	}
	c, err = Parse([]byte(logKeys))
	if err != nil || c.Log.Enabled() {
		t.Errorf("a config without [log] keeps a log (%v)", err)
	}
}
