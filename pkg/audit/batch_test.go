package audit

import (
	"strings"
	"testing"
	"time"
)

const testBatch = "5e55105e55105e55105e55105e551050"

// testBatchEnd is the record a batch session ends with.
func testBatchEnd() *Record {
	return &Record{RequestID: testBatch, Batch: testBatch, Mode: SSH, Result: Answered, User: "signer",
		SSHKey: "SHA256:abc", Client: "192.0.2.7 51234", Request: "sign --batch --key repo",
		Key: "repo", KeyFingerprint: testFpr, Event: BatchEnd, Detail: "500 requests, 499 signed, ended by eof"}
}

func TestFieldsBatch(t *testing.T) {
	sha := make([]byte, 64)
	req := &Record{RequestID: testID, Batch: testBatch, BatchSeq: 42, Mode: SSH, Result: Signed, User: "signer",
		Request: "sign --batch", Key: "repo", KeyFingerprint: testFpr, Format: Request,
		InputSize: 7, InputSHA512: sha, SignatureCreated: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	tests := []struct {
		name string
		rec  *Record
		want map[string]string
	}{
		{"a request of a batch", req, map[string]string{
			"MESSAGE":                    `signed 7 bytes (sha512 0000000000000000...) with key "repo" for signer`,
			"PRIORITY":                   "6",
			"SYSLOG_IDENTIFIER":          "signstar",
			"SIGNSTAR_REQUEST_ID":        testID,
			"SIGNSTAR_MODE":              "ssh",
			"SIGNSTAR_RESULT":            "signed",
			"SIGNSTAR_USER":              "signer",
			"SIGNSTAR_REQUEST":           "sign --batch",
			"SIGNSTAR_KEY":               "repo",
			"SIGNSTAR_KEY_FINGERPRINT":   testFpr,
			"SIGNSTAR_FORMAT":            "request",
			"SIGNSTAR_INPUT_SIZE":        "7",
			"SIGNSTAR_INPUT_SHA512":      strings.Repeat("00", 64),
			"SIGNSTAR_SIGNATURE_CREATED": "2026-01-02T03:04:05Z",
			"SIGNSTAR_BATCH":             testBatch,
			"SIGNSTAR_BATCH_SEQ":         "42",
		}},
		{"the batch's end", testBatchEnd(), map[string]string{
			"MESSAGE":                  `batch ` + testBatch + ` of signer (SHA256:abc) from 192.0.2.7 51234 with key "repo": 500 requests, 499 signed, ended by eof`,
			"PRIORITY":                 "6",
			"SYSLOG_IDENTIFIER":        "signstar",
			"SIGNSTAR_REQUEST_ID":      testBatch,
			"SIGNSTAR_MODE":            "ssh",
			"SIGNSTAR_RESULT":          "answered",
			"SIGNSTAR_USER":            "signer",
			"SIGNSTAR_SSH_KEY":         "SHA256:abc",
			"SIGNSTAR_CLIENT":          "192.0.2.7 51234",
			"SIGNSTAR_REQUEST":         "sign --batch --key repo",
			"SIGNSTAR_KEY":             "repo",
			"SIGNSTAR_KEY_FINGERPRINT": testFpr,
			"SIGNSTAR_EVENT":           "batch-end",
			"SIGNSTAR_DETAIL":          "500 requests, 499 signed, ended by eof",
			"SIGNSTAR_BATCH":           testBatch,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := tt.rec.fields()
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range diffEntry(asMap(t, f), tt.want) {
				t.Error(d)
			}
		})
	}
}

// TestCheckBatchEndRefuses: a batch's end that would say more, or less,
// than happened is a BUG, never an entry.
func TestCheckBatchEndRefuses(t *testing.T) {
	tests := []struct {
		name   string
		change func(r *Record)
	}{
		{"from the cli", func(r *Record) { r.Mode = CLI }},
		{"signed", func(r *Record) { r.Result = Signed }},
		{"with an error", func(r *Record) { r.Error = "idle" }},
		{"failed", func(r *Record) { r.Result, r.Error = Failed, "idle" }},
		{"without its batch", func(r *Record) { r.Batch = "" }},
		{"without detail", func(r *Record) { r.Detail = "" }},
		{"with a place", func(r *Record) { r.BatchSeq = 3 }},
		{"with input", func(r *Record) { r.InputSHA512 = make([]byte, 64) }},
		{"with a format", func(r *Record) { r.Format = Request }},
		{"with a signature time", func(r *Record) { r.SignatureCreated = time.Now() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testBatchEnd()
			tt.change(r)
			if _, err := r.fields(); err == nil || !strings.HasPrefix(err.Error(), "BUG: ") {
				t.Fatalf("fields() error = %v, want a BUG", err)
			}
		})
	}
}

// TestCheckBatchPlace: a place in a batch needs the batch.
func TestCheckBatchPlace(t *testing.T) {
	for _, r := range []*Record{
		{RequestID: testID, Mode: SSH, Result: Refused, Error: "refused: x", BatchSeq: 2},
		{RequestID: testID, Mode: SSH, Result: Refused, Error: "refused: x", Batch: testBatch, BatchSeq: -1},
	} {
		if _, err := r.fields(); err == nil || !strings.HasPrefix(err.Error(), "BUG: ") {
			t.Errorf("fields() of %+v: %v, want a BUG", r, err)
		}
	}
}
