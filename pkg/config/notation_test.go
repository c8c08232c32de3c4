package config

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"signstar/pkg/request"
)

// keyWith is a config with one key, repo, whose notations are the TOML
// array given.
func keyWith(notations string) string {
	return base + "[keys.repo]\ntype = \"ed25519\"\nid = \"0a\"\ncert = \"c\"\nnotations = " + notations + "\n"
}

func TestNotations(t *testing.T) {
	c, err := Parse([]byte(keyWith(`[
  { name = "build-host@example.org", value = "sign1.example.org" },
  { name = "policy@sub.Example-1.org", value = "https://example.org/p", human-readable = false },
  { name = "text@example.org", value = "café ✓", human-readable = true },
]`)))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	var got []string
	for _, n := range c.Keys["repo"].Notations {
		got = append(got, n.String())
	}
	want := []string{
		`build-host@example.org="sign1.example.org"`,
		`policy@sub.Example-1.org="https://example.org/p" (not human-readable)`,
		`text@example.org="café ✓"`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("notations = %q, want %q", got, want)
	}
}

// TestNotationRefusals: every refusal, with the text the admin sees.
func TestNotationRefusals(t *testing.T) {
	one := func(name, value string) string {
		return `[{ name = "` + name + `", value = "` + value + `" }]`
	}
	many := func(n int) string {
		var s []string
		for i := range n {
			s = append(s, `{ name = "n`+strings.Repeat("x", i)+`@example.org", value = "v" }`)
		}
		return "[" + strings.Join(s, ", ") + "]"
	}
	tests := []struct {
		name, notations, want string
	}{
		{"no @", one("build-host", "v"),
			`keys.repo: notations[0]: name "build-host": want tag@domain, as in build-host@example.org (names without '@' are the IETF's)`},
		{"two @", one("a@b@example.org", "v"),
			`keys.repo: notations[0]: name "a@b@example.org": after '@': "b@example.org": label "b@example": want letters, digits and '-'`},
		{"empty tag", one("@example.org", "v"), `keys.repo: notations[0]: name "@example.org": empty before '@'`},
		{"space in tag", one("build host@example.org", "v"),
			`keys.repo: notations[0]: name "build host@example.org": before '@': want printable ASCII without spaces, got ' '`},
		{"control in tag", one(`a\u0007b@example.org`, "v"), `before '@': want printable ASCII without spaces, got '\a'`},
		{"non-ascii tag", one("café@example.org", "v"), `before '@': want printable ASCII without spaces, got 'é'`},
		{"empty domain", one("a@", "v"), `keys.repo: notations[0]: name "a@": after '@': empty; want a domain name such as example.org`},
		{"single label", one("a@localhost", "v"), `after '@': "localhost": want a domain name with a dot, such as example.org`},
		{"trailing dot", one("a@example.org.", "v"), `after '@': "example.org.": a label is empty or longer than 63 bytes`},
		{"empty label", one("a@example..org", "v"), `after '@': "example..org": a label is empty or longer than 63 bytes`},
		{"long label", one("a@"+strings.Repeat("x", 64)+".org", "v"), `a label is empty or longer than 63 bytes`},
		{"leading hyphen", one("a@-example.org", "v"), `label "-example" starts or ends with '-'`},
		{"trailing hyphen", one("a@example-.org", "v"), `label "example-" starts or ends with '-'`},
		{"underscore", one("a@ex_ample.org", "v"), `label "ex_ample": want letters, digits and '-'`},
		{"ip address", one("a@192.0.2.1", "v"), `after '@': "192.0.2.1": the last label is all digits`},
		{"long name", one(strings.Repeat("t", 250)+"@example.org", "v"), `notations[0]: name "tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt"...: longer than 255 bytes`},
		{"data digest", one("data-digest@archlinux.org", "v"),
			`keys.repo: notations[0]: name "data-digest@archlinux.org": reserved: signstar sets it itself or never sets it`},
		{"data digest other case", one("Data-Digest@ArchLinux.ORG", "v"), `name "Data-Digest@ArchLinux.ORG": reserved`},
		{"go-crypto salt", one(packet.SaltNotationName, "v"), `name "salt@notations.openpgpjs.org": reserved`},
		{"sequoia salt", one("salt@notations.sequoia-pgp.org", "v"), `name "salt@notations.sequoia-pgp.org": reserved`},
		{"empty value", one("a@example.org", ""), `keys.repo: notations[0]: value: empty`},
		{"long value", one("a@example.org", strings.Repeat("v", 1025)), `keys.repo: notations[0]: value: 1025 bytes, at most 1024`},
		{"newline in value", one("a@example.org", `x\ny`), `keys.repo: notations[0]: value: control, format or invalid character U+000A at byte 1`},
		{"escape in value", one("a@example.org", `\u001b[31mred`), `value: control, format or invalid character U+001B at byte 0`},
		{"DEL in value", one("a@example.org", `x\u007f`), `value: control, format or invalid character U+007F at byte 1`},
		{"C1 in value", one("a@example.org", `x\u0085`), `value: control, format or invalid character U+0085 at byte 1`},
		{"bidi override in value", one("a@example.org", `abc\u202edcba`), `value: control, format or invalid character U+202E at byte 3`},
		{"zero-width space in value", one("a@example.org", `a\u200bb`), `value: control, format or invalid character U+200B at byte 1`},
		{"duplicate", `[{ name = "a@example.org", value = "1" }, { name = "a@example.org", value = "2" }]`,
			`keys.repo: notations[1]: name "a@example.org" appears twice`},
		{"second bad", `[{ name = "a@example.org", value = "1" }, { name = "b", value = "2" }]`, `keys.repo: notations[1]: name "b": want tag@domain`},
		{"too many", many(17), `keys.repo: notations: 17 given, at most 16`},
		{"missing name", `[{ value = "v" }]`, `keys.repo: notations[0]: name "": want tag@domain`},
		{"missing value", `[{ name = "a@example.org" }]`, `keys.repo: notations[0]: value: empty`},
		{"unknown field", `[{ name = "a@example.org", value = "v", critical = true }]`, `line 9: unknown key "keys.repo.critical"`},
		{"human-readable not a bool", `[{ name = "a@example.org", value = "v", human-readable = "yes" }]`, `line 9: key "keys.repo.notations": cannot decode TOML string into struct field config.Notation.HumanReadable of type bool`},
		{"not an array", `"a@example.org=v"`, `line 9: key "keys.repo.notations"`},
		{"value not a string", `[{ name = "a@example.org", value = 5 }]`, `line 9: key "keys.repo.notations": cannot decode TOML integer into struct field config.Notation.Value of type string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(keyWith(tt.notations)))
			if err == nil {
				t.Fatalf("Parse accepted %s: %+v", tt.notations, c.Keys["repo"].Notations)
			}
			if c != nil {
				t.Fatal("Parse returned a config with an error")
			}
			if msg := err.Error(); !strings.Contains(msg, tt.want) || strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("error = %q, want one line containing %q", msg, tt.want)
			}
		})
	}
	if _, err := Parse([]byte(keyWith(many(16)))); err != nil {
		t.Fatalf("16 notations: %v", err)
	}
}

// TestDNSName covers what a name's 255-byte bound hides from Parse.
func TestDNSName(t *testing.T) {
	for _, tt := range []struct{ domain, want string }{
		{strings.Repeat("abcdefghi.", 25) + "org", ""},
		{strings.Repeat("abcdefghi.", 25) + "orgx", "domain longer than 253 bytes"},
		{strings.Repeat("x", 63) + ".org", ""},
		{"xn--caf-dma.example", ""},
		{"1.example.2a", ""},
	} {
		err := checkDNSName(tt.domain)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || err.Error() != tt.want) {
			t.Errorf("checkDNSName(%q) = %v, want %q", tt.domain, err, tt.want)
		}
	}
}

// TestReservedNotations: the names signstar sets itself are among those a
// config may not add.
func TestReservedNotations(t *testing.T) {
	for _, name := range []string{request.DigestNotationName, packet.SaltNotationName} {
		if !slices.Contains(reservedNotations, name) {
			t.Errorf("%s is not reserved", name)
		}
	}
}

// notationName is RFC 4880 section 5.2.3.16's user namespace written as a
// regular expression, to check the hand-written parser against.
var notationName = regexp.MustCompile(`^[!-?A-~]+@` +
	`([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+` +
	`[A-Za-z0-9-]*[A-Za-z-][A-Za-z0-9-]*$`)

// FuzzNotation: an accepted notation has a name the regular expression
// accepts, not reserved, and a short value without control characters.
func FuzzNotation(f *testing.F) {
	f.Add("build-host@example.org", "sign1", true)
	f.Add("a@b.c", "x", false)
	f.Add("data-digest@archlinux.org", "v", true)
	f.Add("a@192.0.2.1", "v", true)
	f.Add("a@x-.org", "\u202e", true)
	f.Fuzz(func(t *testing.T, name, value string, readable bool) {
		k := &Key{Type: "ed25519", ID: "0a", Cert: "c", Notations: []Notation{{Name: name, Value: value, HumanReadable: &readable}}}
		if err := k.validate("repo"); err != nil {
			if !strings.HasPrefix(err.Error(), "keys.repo: notations[0]: ") {
				t.Fatalf("refusal does not name the notation: %v", err)
			}
			return
		}
		_, domain, _ := strings.Cut(name, "@")
		if !notationName.MatchString(name) || len(name) > 255 || len(domain) > 253 {
			t.Fatalf("accepted name %q", name)
		}
		for _, r := range reservedNotations {
			if strings.EqualFold(name, r) {
				t.Fatalf("accepted reserved name %q", name)
			}
		}
		if value == "" || len(value) > 1024 || strings.IndexFunc(value, func(r rune) bool {
			return unicode.IsControl(r) || unicode.In(r, unicode.Cf) || r == unicode.ReplacementChar
		}) >= 0 {
			t.Fatalf("accepted value %q", value)
		}
	})
}
