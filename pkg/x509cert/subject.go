package x509cert

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// attribute is one attribute type a subject may hold: the names
// crypto/x509/pkix prints (so that [pkix.Name.String] reads back), and
// the upper bounds of RFC 5280 appendix A.1 (ub-common-name and so on).
type attribute struct {
	name   string
	oid    asn1.ObjectIdentifier
	max    int  // characters
	single bool // at most once in a subject
	set    func(n *pkix.Name, v string)
}

var attributes = []attribute{
	{"CN", asn1.ObjectIdentifier{2, 5, 4, 3}, 64, true, func(n *pkix.Name, v string) { n.CommonName = v }},
	{"SERIALNUMBER", asn1.ObjectIdentifier{2, 5, 4, 5}, 64, true, func(n *pkix.Name, v string) { n.SerialNumber = v }},
	{"C", asn1.ObjectIdentifier{2, 5, 4, 6}, 2, true, func(n *pkix.Name, v string) { n.Country = append(n.Country, v) }},
	{"L", asn1.ObjectIdentifier{2, 5, 4, 7}, 128, false, func(n *pkix.Name, v string) { n.Locality = append(n.Locality, v) }},
	{"ST", asn1.ObjectIdentifier{2, 5, 4, 8}, 128, false, func(n *pkix.Name, v string) { n.Province = append(n.Province, v) }},
	{"STREET", asn1.ObjectIdentifier{2, 5, 4, 9}, 128, false, func(n *pkix.Name, v string) { n.StreetAddress = append(n.StreetAddress, v) }},
	{"O", asn1.ObjectIdentifier{2, 5, 4, 10}, 64, false, func(n *pkix.Name, v string) { n.Organization = append(n.Organization, v) }},
	{"OU", asn1.ObjectIdentifier{2, 5, 4, 11}, 64, false, func(n *pkix.Name, v string) { n.OrganizationalUnit = append(n.OrganizationalUnit, v) }},
	{"POSTALCODE", asn1.ObjectIdentifier{2, 5, 4, 17}, 40, false, func(n *pkix.Name, v string) { n.PostalCode = append(n.PostalCode, v) }},
}

// MaxSubject bounds a subject string; a real one is under 200 bytes.
const MaxSubject = 1024

// ParseSubject reads a distinguished name as RFC 4514 writes it, the
// last RDN first: "CN=Example Secure Boot 2026,O=Example" is the
// sequence O, CN, which is what `openssl x509 -subject` prints as
// "O = Example, CN = Example Secure Boot 2026". Attribute types are CN,
// O, OU, L, ST, C, STREET, POSTALCODE and SERIALNUMBER, in any case; a
// value may escape , + " \ < > ; = # and spaces with a backslash, and
// spaces around types and values are dropped. Refused: other attribute
// types, multi-valued RDNs (+), hex values (#...), control characters,
// values over RFC 5280's bounds, C other than two letters, CN, C or
// SERIALNUMBER twice. The order of the string is kept: the returned
// name's ExtraNames holds every attribute in RDN sequence order (the
// other fields are filled in for reading), and [pkix.Name.String] gives
// s back in canonical form.
func ParseSubject(s string) (pkix.Name, error) {
	switch {
	case len(s) > MaxSubject:
		return pkix.Name{}, fmt.Errorf("subject of %d bytes: at most %d", len(s), MaxSubject)
	case !utf8.ValidString(s):
		return pkix.Name{}, errors.New("subject is not UTF-8")
	case strings.TrimSpace(s) == "":
		return pkix.Name{}, errors.New(`empty subject: want "CN=...", for example "CN=Example Secure Boot 2026,O=Example"`)
	}
	rdns, err := splitRDNs(s)
	if err != nil {
		return pkix.Name{}, err
	}
	var n pkix.Name
	seen := map[string]bool{}
	for i := len(rdns) - 1; i >= 0; i-- {
		a, v, err := parseAttribute(rdns[i])
		if err != nil {
			return pkix.Name{}, err
		}
		if a.single && seen[a.name] {
			return pkix.Name{}, fmt.Errorf("subject: %s given twice", a.name)
		}
		seen[a.name] = true
		a.set(&n, v)
		n.ExtraNames = append(n.ExtraNames, pkix.AttributeTypeAndValue{Type: a.oid, Value: v})
	}
	return n, nil
}

// splitRDNs cuts s at the commas that are not escaped.
func splitRDNs(s string) ([]string, error) {
	var rdns []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // the escaped character; unescape checks it
		case ',':
			rdns = append(rdns, s[start:i])
			start = i + 1
		case '+':
			return nil, errors.New(`subject: multi-valued RDNs (+) are not supported; write \+ for a plus sign in a value`)
		}
	}
	return append(rdns, s[start:]), nil
}

// parseAttribute reads "TYPE=value".
func parseAttribute(rdn string) (attribute, string, error) {
	typ, raw, ok := strings.Cut(rdn, "=")
	typ = strings.TrimSpace(typ)
	if !ok {
		return attribute{}, "", fmt.Errorf("subject: %q is not TYPE=value", strings.TrimSpace(rdn))
	}
	a, ok := lookup(typ)
	if !ok {
		return attribute{}, "", fmt.Errorf("subject: unknown attribute type %q; known: %s", typ, knownTypes())
	}
	v, err := unescape(raw)
	if err != nil {
		return attribute{}, "", fmt.Errorf("subject: %s: %v", a.name, err)
	}
	if err := a.check(v); err != nil {
		return attribute{}, "", fmt.Errorf("subject: %s: %v", a.name, err)
	}
	return a, v, nil
}

func lookup(typ string) (attribute, bool) {
	for _, a := range attributes {
		if strings.EqualFold(a.name, typ) {
			return a, true
		}
	}
	return attribute{}, false
}

func knownTypes() string {
	names := make([]string, len(attributes))
	for i, a := range attributes {
		names[i] = a.name
	}
	return strings.Join(names, ", ")
}

// specials are the characters RFC 4514 section 2.4 escapes, and '='
// which it allows to be escaped.
const specials = `,+"\<>;=# `

// unescape decodes an RFC 4514 value and drops the unescaped spaces
// around it.
func unescape(raw string) (string, error) {
	var out []rune
	var escaped []bool
	for i := 0; i < len(raw); {
		r, size := utf8.DecodeRuneInString(raw[i:])
		i += size
		esc := false
		if r == '\\' {
			if i == len(raw) {
				return "", errors.New(`value ends in a lone \`)
			}
			r, size = utf8.DecodeRuneInString(raw[i:])
			i += size
			if !strings.ContainsRune(specials, r) {
				return "", fmt.Errorf(`\%c is no escape; escape only %s and space`, r, strings.TrimSpace(specials))
			}
			esc = true
		} else if strings.ContainsRune(`"<>;`, r) {
			return "", fmt.Errorf(`%q must be escaped as \%c`, r, r)
		}
		out, escaped = append(out, r), append(escaped, esc)
	}
	for len(out) > 0 && out[0] == ' ' && !escaped[0] {
		out, escaped = out[1:], escaped[1:]
	}
	for len(out) > 0 && out[len(out)-1] == ' ' && !escaped[len(out)-1] {
		out, escaped = out[:len(out)-1], escaped[:len(out)-1]
	}
	if len(out) > 0 && out[0] == '#' && !escaped[0] {
		return "", errors.New(`hex-encoded values (#...) are not supported; write \# for a leading #`)
	}
	return string(out), nil
}

// check applies the attribute's bounds to the decoded value v.
func (a attribute) check(v string) error {
	if a.name == "C" && !isCountry(v) {
		return fmt.Errorf("%q: want a two-letter ISO 3166 code (DE, US)", v)
	}
	switch n := utf8.RuneCountInString(v); {
	case n == 0:
		return errors.New("empty value")
	case n > a.max:
		return fmt.Errorf("value of %d characters; at most %d (RFC 5280 appendix A.1)", n, a.max)
	}
	for _, r := range v {
		// Format characters too (Cf): a bidi override would make a
		// subject read differently from what it holds.
		if unicode.In(r, unicode.Cc, unicode.Cf) || r == utf8.RuneError {
			return fmt.Errorf("control or format character %U in value", r)
		}
	}
	return nil
}

func isCountry(v string) bool {
	return len(v) == 2 && v[0] >= 'A' && v[0] <= 'Z' && v[1] >= 'A' && v[1] <= 'Z'
}
