package translog

import (
	"bytes"
	"strings"
	"testing"
)

func TestEntryRoundTrip(t *testing.T) {
	e := testEntry(7)
	b, err := e.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseEntry(b)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := got.MarshalText()
	if !bytes.Equal(again, b) || !got.Time.Equal(e.Time) || got.Signature != e.Signature {
		t.Fatalf("round trip changed the entry:\n%s\n%s", b, again)
	}
	want := "signstar-log-entry v1\ntime 2026-11-29T19:00:07Z\naccount signstar\n"
	if !strings.HasPrefix(string(b), want) {
		t.Fatalf("encoding starts %q, want %q", b, want)
	}
}

// TestParseEntryRefuses changes one thing in a good entry's text: every
// change is refused, so one entry has one encoding.
func TestParseEntryRefuses(t *testing.T) {
	good, _ := testEntry(7).MarshalText()
	tests := []struct{ name, old, new, want string }{
		{"header", "v1", "v2", "want the line"},
		{"field order", "account signstar\nssh-key", "ssh-key signstar\naccount", `want "account"`},
		{"time zone", "19:00:07Z", "19:00:07+00:00", "time"},
		{"fraction", "19:00:07Z", "19:00:07.5Z", "time"},
		{"size sign", "size 7", "size +7", "size"},
		{"size zero", "size 7", "size 07", "size"},
		{"digest case", "sha512:", "SHA512:", "digest"},
		{"digest length", "sha512:", "sha256:", "digest"},
		{"hex case", "signature sha256:", "signature sha256:A", "signature"},
		{"space", "account signstar", "account sign star", "account"},
		{"empty value", "account signstar", "account ", "account"},
		{"no final newline", "\nsignature", "\nsignature", ""},
		{"extra line", "size 7\n", "size 7\nsize 7\n", "want"},
		{"CRLF", "account signstar\n", "account signstar\r\n", "account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := strings.Replace(string(good), tt.old, tt.new, 1)
			if tt.name == "no final newline" {
				b = strings.TrimSuffix(b, "\n")
			}
			if b == string(good) {
				t.Fatal("the change changed nothing")
			}
			_, err := ParseEntry([]byte(b))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseEntry = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestMarshalRefuses(t *testing.T) {
	for name, change := range map[string]func(*Entry){
		"space in account": func(e *Entry) { e.Account = "a b" },
		"empty key":        func(e *Entry) { e.Key = "" },
		"short digest":     func(e *Entry) { e.Digest = e.Digest[:10] },
		"year 10000":       func(e *Entry) { e.Time = e.Time.AddDate(8000, 0, 0) },
		"long format":      func(e *Entry) { e.Format = strings.Repeat("x", 257) },
	} {
		e := testEntry(1)
		change(&e)
		if _, err := e.MarshalText(); err == nil {
			t.Errorf("%s: MarshalText took it", name)
		}
	}
}

// FuzzParseEntry checks that ParseEntry accepts only canonical text: an
// entry it returns encodes back to exactly its input.
func FuzzParseEntry(f *testing.F) {
	for i := range 3 {
		b, _ := testEntry(i).MarshalText()
		f.Add(b)
	}
	e := testEntry(3)
	e.Size = -1
	b, _ := e.MarshalText()
	f.Add(b)
	f.Add([]byte("signstar-log-entry v1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEntry(b)
		if err != nil {
			return
		}
		again, err := e.MarshalText()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("ParseEntry took %q, which encodes as %q (%v)", b, again, err)
		}
	})
}
