package remote

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"signstar/pkg/keyname"
	"signstar/pkg/refusal"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    Command
		wantErr string
	}{
		{"empty", "", Command{Action: Sign, Implicit: true}, ""},
		{"blank", "   ", Command{Action: Sign, Implicit: true}, ""},
		{"request", "sign --request --key repo", Command{Action: Sign, Key: "repo", Request: true}, ""},
		{"request armor", "sign --request --armor", Command{}, "does not apply"},
		{"cert request", "cert --request", Command{}, `does not take "--request"`},
		{"sign", "sign", Command{Action: Sign}, ""},
		{"sign key armor", "sign --key repo --armor", Command{Action: Sign, Key: "repo", Armor: true}, ""},
		{"sign key=", "sign --key=repo", Command{Action: Sign, Key: "repo"}, ""},
		{"armor first", "sign --armor --key pkg-2", Command{Action: Sign, Key: "pkg-2", Armor: true}, ""},
		{"cert", "cert", Command{Action: Cert}, ""},
		{"cert key", "cert --key repo", Command{Action: Cert, Key: "repo"}, ""},
		{"version", "version", Command{Action: Version}, ""},
		{"certs", "certs", Command{Action: Certs}, ""},
		{"certs with a key", "certs --key repo", Command{}, "certs takes no arguments"},
		{"help", "help", Command{Action: Help}, ""},
		{"cert armor", "cert --armor", Command{}, `does not take "--armor"`},
		{"shell", "sign; rm -rf /", Command{}, `unknown command "sign;"`},
		{"shell after flag", "sign --armor && id", Command{}, `does not take "&&"`},
		{"shell pipe", "cat /etc/passwd | nc x 1", Command{}, `unknown command "cat"`},
		{"scp", "scp -t /tmp", Command{}, `unknown command "scp"`},
		{"sftp", "/usr/lib/openssh/sftp-server", Command{}, "unknown command"},
		{"bash", "bash", Command{}, `unknown command "bash"`},
		{"duplicate armor", "sign --armor --armor", Command{}, `"--armor" given twice`},
		{"two keys", "sign --key a --key=b", Command{Action: Sign, Key: "a", Also: []string{"b"}}, ""},
		{"three keys clearsign", "sign --key a --clearsign --key b --key c", Command{Action: Sign, Key: "a", Also: []string{"b", "c"}, Clearsign: true}, ""},
		{"duplicate key", "sign --key a --key=a", Command{}, `key "a" named twice`},
		{"duplicate later key", "sign --key a --key b --key b", Command{}, `key "b" named twice`},
		{"request two keys", "sign --request --key a --key b", Command{}, "--request signs with one key"},
		{"cert two keys", "cert --key a --key b", Command{}, `"--key" given twice`},
		{"key missing value", "sign --key", Command{}, "--key needs a key name"},
		{"key bad name", "sign --key ../etc", Command{}, "invalid key name"},
		{"armor value", "sign --armor=yes", Command{}, "does not take"},
		{"version args", "version now", Command{}, "takes no arguments"},
		{"nul", "sign\x00", Command{}, "byte 0x00"},
		{"tab", "sign\t--armor", Command{}, "byte 0x09"},
		{"newline", "sign\nrm", Command{}, "byte 0x0a"},
		{"high byte", "sign \xff", Command{}, "byte 0xff"},
		{"long", "sign " + strings.Repeat("a", 300), Command{}, "longer than 256"},
		{"uppercase", "SIGN", Command{}, "unknown command"},
		{"text", "sign --text", Command{Action: Sign, Text: true}, ""},
		{"text armor key", "sign --armor --text --key repo", Command{Action: Sign, Key: "repo", Armor: true, Text: true}, ""},
		{"clearsign", "sign --clearsign --key repo", Command{Action: Sign, Key: "repo", Clearsign: true}, ""},
		{"clearsign armor", "sign --clearsign --armor", Command{}, "--armor does not apply to --clearsign"},
		{"clearsign text", "sign --text --clearsign", Command{}, "--text does not apply to --clearsign"},
		{"request clearsign", "sign --request --clearsign", Command{}, "do not apply to --request"},
		{"request text", "sign --text --request", Command{}, "do not apply to --request"},
		{"clearsign value", "sign --clearsign=yes", Command{}, "does not take"},
		{"cert clearsign", "cert --clearsign", Command{}, `does not take "--clearsign"`},
		{"cert text", "cert --text", Command{}, `does not take "--text"`},
		{"duplicate clearsign", "sign --clearsign --clearsign", Command{}, `"--clearsign" given twice`},
		{"kmod", "sign --format kmod --key mod", Command{Action: Sign, Key: "mod", Format: Kmod}, ""},
		{"format=", "sign --format=authenticode --append", Command{Action: Sign, Format: Authenticode, Append: true}, ""},
		{"cms pem", "sign --armor --format cms", Command{Action: Sign, Format: CMS, Armor: true}, ""},
		{"unknown format", "sign --format x509", Command{}, `unknown format "x509"`},
		{"format missing value", "sign --format", Command{}, "--format needs one of"},
		{"two formats", "sign --format kmod --format cms", Command{}, `"--format" given twice`},
		{"format and text", "sign --format cms --text", Command{}, "OpenPGP forms"},
		{"x509 request", "sign --request --format kmod", Command{Action: Sign, Request: true, Format: Kmod}, ""},
		{"x509 request append", "sign --request --format authenticode --append", Command{}, "--append does not apply to --request"},
		{"x509 request armor", "sign --request --format cms --armor", Command{}, "--armor does not apply to --request"},
		{"format and clearsign", "sign --format cms --clearsign", Command{}, "OpenPGP forms"},
		{"format two keys", "sign --format kmod --key a --key b", Command{}, "signs with one key"},
		{"kmod armor", "sign --format kmod --armor", Command{}, "--armor does not apply to --format kmod"},
		{"append without authenticode", "sign --append", Command{}, "--append applies to --format authenticode only"},
		{"append kmod", "sign --format kmod --append", Command{}, "--append applies"},
		{"cert x509", "cert --x509 --key sb", Command{Action: Cert, Key: "sb", X509: true}, ""},
		{"kmod keyid", "sign --format kmod --keyid", Command{Action: Sign, Format: Kmod, KeyID: true}, ""},
		{"kmod request keyid", "sign --request --format kmod --keyid", Command{Action: Sign, Format: Kmod, Request: true, KeyID: true}, ""},
		{"keyid without kmod", "sign --format cms --keyid", Command{}, "--keyid applies to --format kmod only"},
		{"keyid openpgp", "sign --keyid", Command{}, "--keyid applies"},
		{"sign x509", "sign --x509", Command{}, `does not take "--x509"`},
		{"cert format", "cert --format kmod", Command{}, `does not take "--format"`},
		{"batch", "sign --batch", Command{Action: Sign, Batch: true}, ""},
		{"batch key", "sign --batch --key=repo", Command{Action: Sign, Key: "repo", Batch: true}, ""},
		{"key batch", "sign --key repo --batch", Command{Action: Sign, Key: "repo", Batch: true}, ""},
		{"batch twice", "sign --batch --batch", Command{}, `"--batch" given twice`},
		{"batch value", "sign --batch=yes", Command{}, `does not take "--batch=yes"`},
		{"batch request", "sign --batch --request", Command{}, "leave out --request"},
		{"batch armor", "sign --batch --armor", Command{}, "do not apply to --batch"},
		{"batch text", "sign --text --batch", Command{}, "do not apply to --batch"},
		{"batch clearsign", "sign --batch --clearsign", Command{}, "do not apply to --batch"},
		{"batch format", "sign --batch --format kmod", Command{}, "OpenPGP requests only"},
		{"batch keyid", "sign --batch --keyid", Command{}, "OpenPGP requests only"},
		{"batch two keys", "sign --batch --key a --key b", Command{}, "--batch signs with one key"},
		{"batch same key twice", "sign --batch --key a --key a", Command{}, "--batch signs with one key"},
		{"cert batch", "cert --batch", Command{}, `does not take "--batch"`},
		{"batch alone", "--batch", Command{}, `unknown command "--batch"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.line)
			if tt.wantErr != "" {
				if !errors.Is(err, refusal.Err) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want refusal containing %q", tt.line, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", tt.line, got, err, tt.want)
			}
		})
	}
}

// FuzzParse checks the grammar's promises on any input: an accepted line is
// short printable ASCII with a known action and a valid key name, and a
// refusal's message is itself printable and bounded.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "sign", "sign --key repo --armor", "cert --key=x", "version", "help",
		"sign --clearsign --key repo", "sign --text --armor", "sign --request --text",
		"scp -t .", "sign --key a --key b", "sign --key a --key a", "sign --request --key a --key b", "sign\x00", strings.Repeat("x", 300),
		"sign --format kmod --key m", "sign --format=authenticode --append", "sign --format cms --armor", "cert --x509", "certs", "certs --x509",
		"sign --batch", "sign --batch --key repo", "sign --batch --request", "sign --batch --key a --key b", "cert --batch"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := Parse(line)
		if err != nil {
			if !errors.Is(err, refusal.Err) {
				t.Fatalf("error is not a refusal: %v", err)
			}
			msg := err.Error()
			if len(msg) > 128 || Sanitize(msg) != msg {
				t.Fatalf("refusal message is not bounded printable text: %q", msg)
			}
			return
		}
		if len(line) > MaxLen {
			t.Fatalf("accepted a %d-byte line", len(line))
		}
		if Sanitize(line) != line {
			t.Fatalf("accepted non-printable line %q", line)
		}
		switch c.Action {
		case Sign, Cert, Certs, Version, Help, Log:
		default:
			t.Fatalf("unknown action %q", c.Action)
		}
		if c.Action == Log && !c.Equal(Command{Action: Log, Log: c.Log}) || c.Action != Log && c.Log != (LogQuery{}) {
			t.Fatalf("a log query with other flags, or flags with one: %+v", c)
		}
		if c.Key != "" && !strings.Contains(line, c.Key) {
			t.Fatalf("key %q not in line %q", c.Key, line)
		}
		if (c.Armor || c.Request || c.Text || c.Clearsign) && c.Action != Sign || c.Armor && c.Request {
			t.Fatalf("armor on %s", c.Action)
		}
		for i, k := range c.Also {
			if c.Action != Sign || c.Request || c.Key == "" || !keyname.Valid(k) || k == c.Key || slices.Contains(c.Also[:i], k) {
				t.Fatalf("second key %q accepted in %+v", k, c)
			}
		}
		if c.Clearsign && (c.Armor || c.Text || c.Request) || c.Request && c.Text {
			t.Fatalf("contradicting flags accepted: %+v", c)
		}
		if c.Batch && !c.Equal(Command{Action: Sign, Key: c.Key, Batch: true}) {
			t.Fatalf("a batch with other flags accepted: %+v", c)
		}
	})
}
