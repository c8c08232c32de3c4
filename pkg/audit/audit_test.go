package audit

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"signstar/pkg/refusal"
	"signstar/pkg/remote"
)

// asMap is fields as a map, failing on a repeated name.
func asMap(t testing.TB, f []field) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, x := range f {
		if _, dup := m[x.name]; dup {
			t.Fatalf("field %s repeated", x.name)
		}
		m[x.name] = x.value
	}
	return m
}

// diffEntry reports every field of want that got lacks or has otherwise,
// and every SIGNSTAR_ field or MESSAGE/PRIORITY/SYSLOG_IDENTIFIER that got
// has and want does not.
func diffEntry(got, want map[string]string) []string {
	var d []string
	for k, v := range want {
		if got[k] != v {
			d = append(d, fmt.Sprintf("%s = %q, want %q", k, got[k], v))
		}
	}
	for k, v := range got {
		_, ok := want[k]
		if !ok && (strings.HasPrefix(k, "SIGNSTAR_") || k == "MESSAGE" || k == "PRIORITY" || k == "SYSLOG_IDENTIFIER") {
			d = append(d, fmt.Sprintf("unexpected %s = %q", k, v))
		}
	}
	return d
}

func TestFields(t *testing.T) {
	want := wantEntries(testID)
	for i, r := range testRecords(testID) {
		t.Run(string(r.Result), func(t *testing.T) {
			f, err := r.fields()
			if err != nil {
				t.Fatal(err)
			}
			if d := diffEntry(asMap(t, f), want[i]); d != nil {
				t.Fatalf("fields:\n%s", strings.Join(d, "\n"))
			}
			if len(f) != len(want[i]) {
				t.Fatalf("%d fields, want %d", len(f), len(want[i]))
			}
		})
	}
}

func TestFieldsEmptyRequest(t *testing.T) {
	// In the login shell an empty request (sign with the default key) is
	// recorded as such, not left out.
	r := testRecords(testID)[0]
	r.Request = ""
	f, err := r.fields()
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := asMap(t, f)["SIGNSTAR_REQUEST"]; !ok || v != "" {
		t.Fatalf("SIGNSTAR_REQUEST = %q, %v; want present and empty", v, ok)
	}
}

func TestFieldsSigningRequest(t *testing.T) {
	// A signing request gives a SHA-512 state only: no SHA-256 to log.
	r := testRecords(testID)[0]
	r.InputSHA256 = nil
	f, err := r.fields()
	if err != nil {
		t.Fatal(err)
	}
	m := asMap(t, f)
	if _, ok := m["SIGNSTAR_INPUT_SHA256"]; ok || m["SIGNSTAR_INPUT_SHA512"] != sha512Hex ||
		!strings.HasPrefix(m["MESSAGE"], "signed 6 bytes (sha512 e7c22b994c59d9cf...) with key") {
		t.Fatalf("fields = %v", m)
	}
}

// testRecord is the record of testRecords with result res.
func testRecord(t *testing.T, res Result) *Record {
	t.Helper()
	for _, r := range testRecords(testID) {
		if r.Result == res {
			return r
		}
	}
	t.Fatalf("no test record %s", res)
	return nil
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		from   Result // the test record changed
		change func(r *Record)
	}{
		{"no request id", Signed, func(r *Record) { r.RequestID = "" }},
		{"no mode", Signed, func(r *Record) { r.Mode = "" }},
		{"bad result", Signed, func(r *Record) { r.Result = "ok" }},
		{"signed with error", Signed, func(r *Record) { r.Error = "x" }},
		{"signed with negative size", Signed, func(r *Record) { r.InputSize = -1 }},
		{"signed without sha512", Signed, func(r *Record) { r.InputSHA512 = nil }},
		{"signed with short sha256", Signed, func(r *Record) { r.InputSHA256 = r.InputSHA256[:16] }},
		{"signed with short sha512", Signed, func(r *Record) { r.InputSHA512 = r.InputSHA512[:32] }},
		{"signed without time", Signed, func(r *Record) { r.SignatureCreated = time.Time{} }},
		{"signed without key", Signed, func(r *Record) { r.Key = "" }},
		{"signed without fingerprint", Signed, func(r *Record) { r.KeyFingerprint = "" }},
		{"signed without format", Signed, func(r *Record) { r.Format = "" }},
		{"signed with unknown format", Signed, func(r *Record) { r.Format = "binary" }},
		{"answered with format", Answered, func(r *Record) { r.Format = Detached }},
		{"undelivered without format", Undelivered, func(r *Record) { r.Format = "" }},
		{"failed without error", Failed, func(r *Record) { r.Error = "" }},
		{"refused without error", Refused, func(r *Record) { r.Error = "" }},
		{"answered with error", Answered, func(r *Record) { r.Error = "x" }},
		{"answered with size", Answered, func(r *Record) { r.InputSize = 6 }},
		{"answered with sha256", Answered, func(r *Record) { r.InputSHA256 = make([]byte, 32) }},
		{"answered with sha512", Answered, func(r *Record) { r.InputSHA512 = make([]byte, 64) }},
		{"answered with signature time", Answered, func(r *Record) { r.SignatureCreated = time.Now() }},
		{"answered with key but no fingerprint", Answered, func(r *Record) { r.KeyFingerprint = "" }},
		{"answered with fingerprint but no key", Answered, func(r *Record) { r.Key = "" }},
		{"undelivered without error", Undelivered, func(r *Record) { r.Error = "" }},
		{"undelivered without sha512", Undelivered, func(r *Record) { r.InputSHA512 = nil }},
		{"undelivered with short sha256", Undelivered, func(r *Record) { r.InputSHA256 = r.InputSHA256[:16] }},
		{"undelivered with negative size", Undelivered, func(r *Record) { r.InputSize = -1 }},
		{"undelivered without time", Undelivered, func(r *Record) { r.SignatureCreated = time.Time{} }},
		{"undelivered without key", Undelivered, func(r *Record) { r.Key = "" }},
		{"undelivered without fingerprint", Undelivered, func(r *Record) { r.KeyFingerprint = "" }},
		{"kmod without signed digest", Signed, func(r *Record) { r.Format = Kmod }},
		{"authenticode with short signed digest", Signed, func(r *Record) { r.Format, r.SignedDigest = Authenticode, make([]byte, 16) }},
		{"answered with signed digest", Answered, func(r *Record) { r.SignedDigest = make([]byte, 32) }},
		{"openpgp without input", Signed, func(r *Record) {
			r.SignedDigest, r.InputSize, r.InputSHA256, r.InputSHA512 = make([]byte, 32), 0, nil, nil
		}},
		{"x509 digest-only without signed digest", Signed, func(r *Record) { r.Format, r.InputSize, r.InputSHA256, r.InputSHA512 = CMS, 0, nil, nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRecord(t, tt.from)
			tt.change(r)
			_, err := r.fields()
			if err == nil || !strings.HasPrefix(err.Error(), "BUG: ") {
				t.Fatalf("fields() error = %v, want a BUG", err)
			}
		})
	}
}

// TestCheckAccepts keeps check from refusing records that are true.
func TestCheckAccepts(t *testing.T) {
	tests := []struct {
		name   string
		from   Result
		change func(r *Record)
	}{
		{"answered version, no key", Answered, func(r *Record) { r.Request, r.Key, r.KeyFingerprint = "version", "", "" }},
		{"answered in the cli", Answered, func(r *Record) { r.Mode, r.Request, r.SSHKey, r.Client = CLI, "", "", "" }},
		{"undelivered signing request, no sha256", Undelivered, func(r *Record) { r.InputSHA256 = nil }},
		{"undelivered empty request file", Undelivered, func(r *Record) { r.InputSize = 0 }},
		{"failed with key and no fingerprint", Failed, func(r *Record) { r.KeyFingerprint = "" }},
		{"kmod", Signed, func(r *Record) { r.Format, r.SignedDigest = Kmod, make([]byte, 32) }},
		{"authenticode", Signed, func(r *Record) { r.Format, r.SignedDigest = Authenticode, make([]byte, 32) }},
		{"cms", Signed, func(r *Record) { r.Format = CMS }},
		{"kmod digest-only", Signed, func(r *Record) {
			r.Format, r.SignedDigest, r.InputSize, r.InputSHA256, r.InputSHA512 = Kmod, make([]byte, 32), 0, nil, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRecord(t, tt.from)
			tt.change(r)
			if _, err := r.fields(); err != nil {
				t.Fatalf("fields() = %v", err)
			}
		})
	}
}

// TestMessage covers the one-line MESSAGE of records the golden entries do
// not: answers without a key or a command, and an undelivered signature
// of a signing request (SHA-512 only).
func TestMessage(t *testing.T) {
	who := "signer (" + testSSHKey + ") from 192.0.2.7 51234"
	tests := []struct {
		name   string
		from   Result
		change func(r *Record)
		want   string
	}{
		{"answered version", Answered, func(r *Record) { r.Request, r.Key, r.KeyFingerprint = "version", "", "" },
			"answered version to " + who},
		{"answered help with arguments", Answered, func(r *Record) { r.Request, r.Key, r.KeyFingerprint = " help\tme ", "", "" },
			"answered help?me to " + who},
		{"answered in the cli", Answered, func(r *Record) { r.Mode, r.Request, r.User, r.SSHKey, r.Client = CLI, "", "root", "", "" },
			`answered a request for key "repo" to root via cli`},
		{"undelivered signing request", Undelivered, func(r *Record) { r.InputSHA256, r.Error = nil, "client hung up" },
			"signature for request " + testID + ` (6 bytes, sha512 e7c22b994c59d9cf...) with key "repo" was NOT delivered to ` + who + ": client hung up"},
		{"undelivered with warning", Undelivered, func(r *Record) { r.Warning = "landlock best-effort" },
			"signature for request " + testID + ` (6 bytes, sha256 5891b5b522d5df08...) with key "repo" was NOT delivered to ` + who +
				": write signature: write /dev/stdout: broken pipe [warning: landlock best-effort]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRecord(t, tt.from)
			tt.change(r)
			f, err := r.fields()
			if err != nil {
				t.Fatal(err)
			}
			if got := asMap(t, f)["MESSAGE"]; got != tt.want {
				t.Fatalf("MESSAGE = %q\n want %q", got, tt.want)
			}
		})
	}
}

func TestClean(t *testing.T) {
	tests := []struct {
		name, in string
		n        int
		want     string
	}{
		{"plain", "signer", 256, "signer"},
		{"utf-8 kept", "José <jose@example.org>", 256, "José <jose@example.org>"},
		{"newline", "a\nMESSAGE=x", 256, "a?MESSAGE=x"},
		{"controls", "a\x00b\x1b[31m\x7f", 256, "a?b?[31m?"},
		{"bidi override", "abc\u202edcba", 256, "abc?dcba"},
		{"line separator", "a\u2028b", 256, "a?b"},
		{"invalid utf-8", "a\xffb", 256, "a?b"},
		{"cut", "abcdef", 4, "abcd..."},
		{"cut on rune boundary", "aéé", 4, "aé..."},
		{"exact", "abcd", 4, "abcd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := clean(tt.in, tt.n); got != tt.want {
				t.Fatalf("clean(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
		})
	}
}

func TestFieldsBounded(t *testing.T) {
	long := strings.Repeat("x", 100_000)
	r := &Record{RequestID: long, Mode: SSH, Result: Failed, Error: long, Warning: long,
		User: long, SSHKey: long, Client: long, Request: long, Key: long, KeyFingerprint: long}
	f, err := r.fields()
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range f {
		if len(x.value) > maxMessage+3 {
			t.Errorf("%s is %d bytes", x.name, len(x.value))
		}
	}
	if n := len(encodeNative(f)); n > 8<<10 {
		t.Errorf("entry is %d bytes, want under 8 KiB", n)
	}
	m := asMap(t, f)
	if len(m["SIGNSTAR_ERROR"]) != maxLong+3 || len(m["SIGNSTAR_USER"]) != maxShort+3 ||
		len(m["SIGNSTAR_REQUEST"]) != remote.MaxLen+3 {
		t.Errorf("bounds: error %d, user %d, request %d bytes", len(m["SIGNSTAR_ERROR"]),
			len(m["SIGNSTAR_USER"]), len(m["SIGNSTAR_REQUEST"]))
	}
}

func TestParseSink(t *testing.T) {
	tests := []struct {
		spec     string
		wantKind string // "" for an error
		wantFile string // SinkFile's answer
	}{
		{"", "journald", ""},
		{"journald", "journald", ""},
		{"stderr", "stderr", ""},
		{"file:/var/log/signstar/audit.jsonl", "file", "/var/log/signstar/audit.jsonl"},
		{"file:", "", ""},
		{"file:audit.jsonl", "", ""},
		{"file:/var/log/../tmp/a", "", ""},
		{"file:/var/log/", "", ""},
		{"syslog", "", ""},
		{"Journald", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			kind, _, err := parseSink(tt.spec)
			if kind != tt.wantKind || (err == nil) != (tt.wantKind != "") {
				t.Fatalf("parseSink(%q) = %q, %v; want %q", tt.spec, kind, err, tt.wantKind)
			}
			if (ParseSink(tt.spec) == nil) != (tt.wantKind != "") {
				t.Fatalf("ParseSink(%q) disagrees with parseSink", tt.spec)
			}
			if path, ok := SinkFile(tt.spec); path != tt.wantFile || ok != (tt.wantFile != "") {
				t.Fatalf("SinkFile(%q) = %q, %v; want %q", tt.spec, path, ok, tt.wantFile)
			}
		})
	}
}

func TestOpenStderrInLoginShell(t *testing.T) {
	if _, err := Open("stderr", true); !errors.Is(err, ErrStderrInLoginShell) {
		t.Fatalf("Open(stderr, login shell) error = %v, want ErrStderrInLoginShell", err)
	}
	s, err := Open("stderr", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestResultOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Result
	}{
		{"nil", nil, Signed},
		{"refused", refusal.Errorf("unknown command"), Refused},
		{"wrapped refusal", fmt.Errorf("serve: %w", refusal.Errorf("x")), Refused},
		{"other", errors.New("CKR_DEVICE_ERROR"), Failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ResultOf(tt.err); got != tt.want {
				t.Fatalf("ResultOf(%v) = %s, want %s", tt.err, got, tt.want)
			}
		})
	}
}

func TestNewRequestID(t *testing.T) {
	hex128 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	a, b := NewRequestID(), NewRequestID()
	if !hex128.MatchString(a) || a == b {
		t.Fatalf("NewRequestID() = %q, %q", a, b)
	}
}

// validName is journald's rule for field names a client may send.
var validName = regexp.MustCompile(`^[A-Z0-9][A-Z0-9_]*$`)

// FuzzFields checks, for any client-controlled text, that the entry keeps
// its fixed fields, every value is bounded, printable UTF-8 on one line, and
// the native encoding decodes back to exactly the fields.
func FuzzFields(f *testing.F) {
	f.Add("signer", "scp -t /tmp", "refused: x\nMESSAGE=forged", "192.0.2.7 51234")
	f.Add("", "", "\xff\x00\u202e", "")
	f.Fuzz(func(t *testing.T, user, request, errText, client string) {
		r := &Record{RequestID: testID, Mode: SSH, Result: Refused, Error: errText + "x",
			User: user, Client: client, Request: request}
		fs, err := r.fields()
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range fs {
			if !validName.MatchString(x.name) {
				t.Errorf("field name %q", x.name)
			}
			if len(x.value) > maxMessage+3 || !utf8.ValidString(x.value) || strings.ContainsAny(x.value, "\n\x00") {
				t.Errorf("%s = %q", x.name, x.value)
			}
		}
		got, err := decodeNative(encodeNative(fs))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(fs) {
			t.Fatalf("decoded %v, want %v", got, fs)
		}
		m := asMap(t, fs)
		if m["SIGNSTAR_RESULT"] != "refused" || m["PRIORITY"] != "4" || m["SIGNSTAR_REQUEST_ID"] != testID {
			t.Fatalf("fixed fields changed: %v", m)
		}
	})
}
