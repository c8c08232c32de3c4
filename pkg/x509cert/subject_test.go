package x509cert

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"strings"
	"testing"
)

func TestParseSubject(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string // canonical form, pkix.Name.String(); "" with wantErr
		wantCN  string
		wantErr string
	}{
		{"common name", "CN=Example Secure Boot 2026", "CN=Example Secure Boot 2026", "Example Secure Boot 2026", ""},
		{"several, order kept", "CN=Kernel,OU=Build,O=Example,C=DE", "CN=Kernel,OU=Build,O=Example,C=DE", "Kernel", ""},
		{"other order kept", "O=Example,CN=Kernel", "O=Example,CN=Kernel", "Kernel", ""},
		{"lower-case types and spaces", " cn = Kernel , o = Example ", "CN=Kernel,O=Example", "Kernel", ""},
		{"every type", "SERIALNUMBER=1,CN=a,OU=b,O=c,POSTALCODE=d,STREET=e,L=f,ST=g,C=US", "SERIALNUMBER=1,CN=a,OU=b,O=c,POSTALCODE=d,STREET=e,L=f,ST=g,C=US", "a", ""},
		{"two OUs", "OU=a,OU=b", "OU=a,OU=b", "", ""},
		{"escaped comma", `CN=Example\, Inc.`, `CN=Example\, Inc.`, "Example, Inc.", ""},
		{"escaped plus and specials", `CN=a\+b\;c\<d\>e\"f\\g`, `CN=a\+b\;c\<d\>e\"f\\g`, `a+b;c<d>e"f\g`, ""},
		{"equals sign in value", "CN=a=b", "CN=a=b", "a=b", ""},
		{"escaped spaces kept", `CN=\ a\ `, `CN=\ a\ `, " a ", ""},
		{"escaped leading hash", `CN=\#1`, `CN=\#1`, "#1", ""},
		{"UTF-8", "CN=Schlüssel für Module", "CN=Schlüssel für Module", "Schlüssel für Module", ""},
		{"64 characters", "CN=" + strings.Repeat("x", 64), "CN=" + strings.Repeat("x", 64), strings.Repeat("x", 64), ""},

		{"empty", "", "", "", "empty subject"},
		{"blank", "  ", "", "", "empty subject"},
		{"unknown type", "CN=a,E=a@example.org", "", "", `unknown attribute type "E"; known: CN, SERIALNUMBER, C, L, ST, STREET, O, OU, POSTALCODE`},
		{"OID type", "2.5.4.3=a", "", "", `unknown attribute type "2.5.4.3"`},
		{"openssl slash form", "/CN=a/O=b", "", "", `unknown attribute type "/CN"`},
		{"no equals", "CN=a,Example", "", "", `"Example" is not TYPE=value`},
		{"empty value", "CN=", "", "", "CN: empty value"},
		{"empty RDN", "CN=a,,O=b", "", "", `"" is not TYPE=value`},
		{"trailing comma", "CN=a,", "", "", `"" is not TYPE=value`},
		{"multi-valued", "CN=a+O=b", "", "", "multi-valued RDNs (+) are not supported"},
		{"hex value", "CN=#0403616263", "", "", "hex-encoded values"},
		{"unescaped semicolon", "CN=a;b", "", "", `';' must be escaped`},
		{"unescaped quote", `CN="a"`, "", "", `'"' must be escaped`},
		{"unknown escape", `CN=a\n`, "", "", `\n is no escape`},
		{"hex pair escape", `CN=a\41`, "", "", `\4 is no escape`},
		{"lone backslash", `CN=a\`, "", "", `lone \`},
		{"control character", "CN=a\nb", "", "", "control or format character U+000A"},
		{"bidi override", "CN=a\u202eb", "", "", "U+202E"},
		{"not UTF-8", "CN=\xff", "", "", "not UTF-8"},
		{"too long", "CN=" + strings.Repeat("x", 65), "", "", "value of 65 characters; at most 64"},
		{"country not two letters", "C=Germany", "", "", "two-letter ISO 3166"},
		{"country lower case", "C=de", "", "", "two-letter ISO 3166"},
		{"CN twice", "CN=a,CN=b", "", "", "CN given twice"},
		{"huge", strings.Repeat("O=a,", 300), "", "", "at most 1024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ParseSubject(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSubject(%q) = %v, %v; want error containing %q", tt.in, n, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSubject(%q): %v", tt.in, err)
			}
			if got := n.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if n.CommonName != tt.wantCN {
				t.Errorf("CommonName = %q, want %q", n.CommonName, tt.wantCN)
			}
		})
	}
}

// TestParseSubjectDER: the DER order is the string's reversed (RFC 4514
// section 2.1) and C is a PrintableString, as openssl writes them.
func TestParseSubjectDER(t *testing.T) {
	n, err := ParseSubject("CN=Kernel,O=Example,C=DE")
	if err != nil {
		t.Fatal(err)
	}
	der, err := asn1.Marshal(n.ToRDNSequence())
	if err != nil {
		t.Fatal(err)
	}
	var seq pkix.RDNSequence
	if _, err := asn1.Unmarshal(der, &seq); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, rdn := range seq {
		types = append(types, rdn[0].Type.String())
	}
	if got, want := strings.Join(types, " "), "2.5.4.6 2.5.4.10 2.5.4.3"; got != want {
		t.Errorf("RDN types in DER order: %s, want %s (C, O, CN)", got, want)
	}
	// C=DE: SET { SEQUENCE { OID 2.5.4.6, PrintableString "DE" } }
	if !bytes.Contains(der, []byte{0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, 'D', 'E'}) {
		t.Errorf("C is not a PrintableString: % x", der)
	}
}

// FuzzParseSubject: what ParseSubject accepts encodes to DER, and its
// canonical form reads back to the same DER.
func FuzzParseSubject(f *testing.F) {
	for _, s := range []string{
		"CN=Example Secure Boot 2026", "CN=Kernel,OU=Build,O=Example,C=DE", `CN=a\,b\+c`, `CN=\ a\ `,
		`CN=\#x`, "cn = a , o = b", "CN=a=b", "CN=a+O=b", "CN=#00", `CN=a\`, "SERIALNUMBER=1,POSTALCODE=2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSubject(s)
		if err != nil {
			return
		}
		der, err := asn1.Marshal(n.ToRDNSequence())
		if err != nil {
			t.Fatalf("accepted %q does not encode: %v", s, err)
		}
		if len(n.ExtraNames) == 0 {
			t.Fatalf("accepted %q with no attribute", s)
		}
		back, err := ParseSubject(n.String())
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", n.String(), s, err)
		}
		der2, err := asn1.Marshal(back.ToRDNSequence())
		if err != nil || !bytes.Equal(der, der2) {
			t.Fatalf("%q -> %q reads back differently", s, n.String())
		}
	})
}
