package config

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Notation is an OpenPGP notation (RFC 4880 section 5.2.3.16) that a key
// adds to the hashed area of every signature it makes, after the notations
// signstar sets itself. It is never critical: a verifier that does not know
// the name must still accept the signature (section 5.2.3.1; rpm and yum
// refuse critical subpackets they do not know).
//
//	[keys.repo]
//	notations = [
//	  { name = "build-host@example.org", value = "sign1.example.org" },
//	  { name = "policy@example.org", value = "https://example.org/p", human-readable = false },
//	]
type Notation struct {
	// Name is "tag@domain": the user namespace of section 5.2.3.16.
	Name string `toml:"name"`
	// Value is stored as its UTF-8 bytes.
	Value string `toml:"value"`
	// HumanReadable sets the notation's human-readable flag (0x80 of the
	// first flag octet); omitted, it is set, since the value is text.
	HumanReadable *bool `toml:"human-readable,omitempty"`
}

// IsHumanReadable reports whether the notation's human-readable flag is set.
func (n Notation) IsHumanReadable() bool { return n.HumanReadable == nil || *n.HumanReadable }

// String is how `signstar key list` shows the notation.
func (n Notation) String() string {
	s := n.Name + "=" + strconv.Quote(n.Value)
	if !n.IsHumanReadable() {
		s += " (not human-readable)"
	}
	return s
}

// Bounds on a key's notations: each signature carries all of them in its
// hashed area, which holds at most 65535 bytes (RFC 4880 section 5.2.3);
// 16 notations at these bounds stay far below that.
const (
	maxNotations     = 16
	maxNotationName  = 255
	maxNotationValue = 1024
)

// reservedNotations are names a config may not add, compared without
// regard to case: a verifier could not tell the config's notation from
// the one signstar sets, or would take it for one signstar promises never
// to set.
var reservedNotations = []string{
	// request.DigestNotationName: signstar puts the file's digest there on
	// every signature made from a signing request.
	"data-digest@archlinux.org",
	// Salts (go-crypto's packet.SaltNotationName, Sequoia's): signstar's
	// signatures are reproducible, and pkg/pgp refuses go-crypto's.
	"salt@notations.openpgpjs.org",
	"salt@notations.sequoia-pgp.org",
}

// validateNotations checks the notations of key name.
func (k *Key) validateNotations(name string) error {
	if len(k.Notations) > maxNotations {
		return fmt.Errorf("keys.%s: notations: %d given, at most %d", name, len(k.Notations), maxNotations)
	}
	seen := make(map[string]bool, len(k.Notations))
	for i, n := range k.Notations {
		if err := n.check(); err != nil {
			return fmt.Errorf("keys.%s: notations[%d]: %w", name, i, err)
		}
		if seen[n.Name] {
			return fmt.Errorf("keys.%s: notations[%d]: name %q appears twice", name, i, n.Name)
		}
		seen[n.Name] = true
	}
	return nil
}

func (n Notation) check() error {
	if err := checkNotationName(n.Name); err != nil {
		return fmt.Errorf("name %s: %w", quoteShort(n.Name), err)
	}
	if err := checkNotationValue(n.Value); err != nil {
		return fmt.Errorf("value: %w", err)
	}
	return nil
}

// checkNotationName accepts a name in the user namespace, "tag@domain"
// (RFC 4880 section 5.2.3.16): the tag printable ASCII without spaces or
// '@', the domain a DNS name. Names without '@' belong to the IETF
// namespace, which only IANA assigns.
func checkNotationName(s string) error {
	if len(s) > maxNotationName {
		return fmt.Errorf("longer than %d bytes", maxNotationName)
	}
	tag, domain, ok := strings.Cut(s, "@")
	if !ok {
		return fmt.Errorf("want tag@domain, as in build-host@example.org (names without '@' are the IETF's)")
	}
	if tag == "" {
		return fmt.Errorf("empty before '@'")
	}
	for _, r := range tag {
		if r <= ' ' || r > '~' {
			return fmt.Errorf("before '@': want printable ASCII without spaces, got %q", r)
		}
	}
	if err := checkDNSName(domain); err != nil {
		return fmt.Errorf("after '@': %w", err)
	}
	for _, r := range reservedNotations {
		if strings.EqualFold(s, r) {
			return fmt.Errorf("reserved: signstar sets it itself or never sets it")
		}
	}
	return nil
}

// checkDNSName accepts a domain name as RFC 1123 section 2.1 allows a host
// name: dot-separated labels of ASCII letters, digits and inner hyphens,
// each 1 to 63 bytes, at most 253 in all, at least two labels (a notation
// names its owner's domain, not a host), and a last label that is not all
// digits (not an IPv4 address).
func checkDNSName(s string) error {
	if s == "" {
		return fmt.Errorf("empty; want a domain name such as example.org")
	}
	if len(s) > 253 {
		return fmt.Errorf("domain longer than 253 bytes")
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return fmt.Errorf("%q: want a domain name with a dot, such as example.org", s)
	}
	for _, l := range labels {
		if err := checkLabel(l); err != nil {
			return fmt.Errorf("%q: %w", s, err)
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return fmt.Errorf("%q: the last label is all digits", s)
	}
	return nil
}

func checkLabel(l string) error {
	if l == "" || len(l) > 63 {
		return fmt.Errorf("a label is empty or longer than 63 bytes")
	}
	if l[0] == '-' || l[len(l)-1] == '-' {
		return fmt.Errorf("label %q starts or ends with '-'", l)
	}
	for _, c := range []byte(l) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return fmt.Errorf("label %q: want letters, digits and '-'", l)
		}
	}
	return nil
}

// checkNotationValue bounds the value and refuses control and format
// characters (C0, DEL, C1, bidirectional overrides, zero-width ones):
// GnuPG and Sequoia print human-readable values as they are, and `signstar
// key list` shows every value; neither should show text that is not there.
func checkNotationValue(s string) error {
	if s == "" {
		return fmt.Errorf("empty")
	}
	if len(s) > maxNotationValue {
		return fmt.Errorf("%d bytes, at most %d", len(s), maxNotationValue)
	}
	for i, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return fmt.Errorf("control, format or invalid character %U at byte %d", r, i)
		}
	}
	return nil
}

// quoteShort echoes a name back in an error: quoted, at most 64 bytes.
func quoteShort(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "..."
	}
	return strconv.Quote(s)
}
