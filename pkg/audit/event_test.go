package audit

import (
	"strings"
	"testing"
	"time"
)

// testEvent is a key generate record, as the admin CLI writes it.
func testEvent() *Record {
	return &Record{RequestID: testID, Mode: CLI, Result: Changed, User: "root",
		Key: "repo", KeyFingerprint: testFpr, Event: KeyGenerate, Detail: "ed25519, expires 2028-01-31"}
}

func TestFieldsKeyEvent(t *testing.T) {
	tests := []struct {
		name   string
		change func(r *Record)
		want   map[string]string
	}{
		{"changed", func(r *Record) {}, map[string]string{
			"MESSAGE":                  `key generate "repo" (` + testFpr + `) by root via cli: ed25519, expires 2028-01-31`,
			"PRIORITY":                 "5",
			"SYSLOG_IDENTIFIER":        "signstar",
			"SIGNSTAR_REQUEST_ID":      testID,
			"SIGNSTAR_MODE":            "cli",
			"SIGNSTAR_RESULT":          "changed",
			"SIGNSTAR_USER":            "root",
			"SIGNSTAR_KEY":             "repo",
			"SIGNSTAR_KEY_FINGERPRINT": testFpr,
			"SIGNSTAR_EVENT":           "generate",
			"SIGNSTAR_DETAIL":          "ed25519, expires 2028-01-31",
		}},
		{"refused, no fingerprint", func(r *Record) {
			r.Result, r.Error, r.Event, r.KeyFingerprint, r.Detail = Refused, "refused: give --yes\nSIGNSTAR_RESULT=changed", KeyDelete, "", ""
		}, map[string]string{
			"MESSAGE":             `refused key delete "repo" by root via cli: give --yes?SIGNSTAR_RESULT=changed`,
			"PRIORITY":            "4",
			"SYSLOG_IDENTIFIER":   "signstar",
			"SIGNSTAR_REQUEST_ID": testID,
			"SIGNSTAR_MODE":       "cli",
			"SIGNSTAR_RESULT":     "refused",
			"SIGNSTAR_ERROR":      "refused: give --yes?SIGNSTAR_RESULT=changed",
			"SIGNSTAR_USER":       "root",
			"SIGNSTAR_KEY":        "repo",
			"SIGNSTAR_EVENT":      "delete",
		}},
		{"failed", func(r *Record) { r.Result, r.Error, r.Event, r.Detail = Failed, "CKR_DEVICE_ERROR", KeyX509, "" }, map[string]string{
			"MESSAGE":                  `failed key x509 "repo" (` + testFpr + `) by root via cli: CKR_DEVICE_ERROR`,
			"PRIORITY":                 "3",
			"SYSLOG_IDENTIFIER":        "signstar",
			"SIGNSTAR_REQUEST_ID":      testID,
			"SIGNSTAR_MODE":            "cli",
			"SIGNSTAR_RESULT":          "failed",
			"SIGNSTAR_ERROR":           "CKR_DEVICE_ERROR",
			"SIGNSTAR_USER":            "root",
			"SIGNSTAR_KEY":             "repo",
			"SIGNSTAR_KEY_FINGERPRINT": testFpr,
			"SIGNSTAR_EVENT":           "x509",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testEvent()
			tt.change(r)
			f, err := r.fields()
			if err != nil {
				t.Fatal(err)
			}
			if d := diffEntry(asMap(t, f), tt.want); d != nil {
				t.Fatalf("fields:\n%s", strings.Join(d, "\n"))
			}
		})
	}
}

// TestCheckKeyEvent: a lifecycle record that would say more than happened
// is a BUG.
func TestCheckKeyEvent(t *testing.T) {
	tests := []struct {
		name   string
		change func(r *Record)
	}{
		{"changed without event", func(r *Record) { r.Event = "" }},
		{"unknown event", func(r *Record) { r.Event = "sign" }},
		{"in the login shell", func(r *Record) { r.Mode = SSH }},
		{"changed without key", func(r *Record) { r.Key = "" }},
		{"changed without fingerprint", func(r *Record) { r.KeyFingerprint = "" }},
		{"changed with error", func(r *Record) { r.Error = "x" }},
		{"refused without error", func(r *Record) { r.Result = Refused }},
		{"failed without error", func(r *Record) { r.Result = Failed }},
		{"signed event", func(r *Record) { r.Result = Signed }},
		{"answered event", func(r *Record) { r.Result = Answered }},
		{"with input", func(r *Record) { r.InputSize = 1 }},
		{"with sha512", func(r *Record) { r.InputSHA512 = make([]byte, 64) }},
		{"with format", func(r *Record) { r.Format = Detached }},
		{"with signature time", func(r *Record) { r.SignatureCreated = time.Now() }},
		{"with signed digest", func(r *Record) { r.SignedDigest = make([]byte, 32) }},
		{"detail without event", func(r *Record) { r.Result, r.Error, r.Event = Failed, "x", "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testEvent()
			tt.change(r)
			if _, err := r.fields(); err == nil || !strings.HasPrefix(err.Error(), "BUG: ") {
				t.Fatalf("fields() error = %v, want a BUG", err)
			}
		})
	}
}

// TestCheckKeyEventAccepts: every event, and a refusal before the key
// (or its fingerprint) was known.
func TestCheckKeyEventAccepts(t *testing.T) {
	for _, e := range []Event{KeyGenerate, KeyAdopt, KeyImport, KeyExtend, KeyRevoke, KeyRotate, KeyDelete, KeyX509} {
		r := testEvent()
		r.Event = e
		if _, err := r.fields(); err != nil {
			t.Errorf("%s: %v", e, err)
		}
	}
	r := testEvent()
	r.Result, r.Error, r.Key, r.KeyFingerprint, r.Detail = Refused, "refused: --expires 2020-01-01 is in the past", "", "", ""
	if _, err := r.fields(); err != nil {
		t.Errorf("refused without key: %v", err)
	}
}
