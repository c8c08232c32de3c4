package audit

import (
	"crypto/sha256"
	"crypto/sha512"
	"time"
)

// The records every sink test writes, and the entries they must become,
// spelled out by hand rather than computed by the code under test.

const (
	testID     = "0123456789abcdef0123456789abcdef"
	testSSHKey = "SHA256:EaGDxUxRfAkBX/ilGde0OsryzmcJfP8KCLcNqVIj5go"
	testFpr    = "C0FFEE00C0FFEE00C0FFEE00C0FFEE00C0FFEE00"
	sha256Hex  = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
	sha512Hex  = "e7c22b994c59d9cf2b48e549b1e24666636045930d3da7c1acb299d1c3b7f931f94aae41edda2c2b207a36e10f8bcb8d45223e54878f5b316e7ce3b6bc019629"
)

// testRecords are a signed, a refused, a failed, an answered and an
// undelivered request with id.
func testRecords(id string) []*Record {
	input := []byte("hello\n")
	s256, s512 := sha256.Sum256(input), sha512.Sum512(input)
	return []*Record{{
		RequestID: id, Mode: SSH, Result: Signed,
		Warning: "landlock best-effort: kernel has Landlock ABI 3, want 4",
		User:    "signer", SSHKey: testSSHKey, Client: "192.0.2.7 51234",
		Request: "sign --key repo --armor", Key: "repo", KeyFingerprint: testFpr, Format: Detached,
		InputSize: int64(len(input)), InputSHA256: s256[:], InputSHA512: s512[:],
		SignatureCreated: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600)),
	}, {
		RequestID: id, Mode: SSH, Result: Refused,
		Error: `refused: unknown command "scp" (try 'help')`,
		User:  "signer", SSHKey: testSSHKey, Client: "192.0.2.7 51234",
		Request: "scp -t /tmp/\x1b[31mx\nMESSAGE=forged",
	}, {
		RequestID: id, Mode: CLI, Result: Failed,
		Error: "sign with key \"repo\": CKR_DEVICE_ERROR\nSIGNSTAR_RESULT=signed",
		User:  "root", Key: "repo", KeyFingerprint: testFpr,
	}, {
		RequestID: id, Mode: SSH, Result: Answered,
		User: "signer", SSHKey: testSSHKey, Client: "192.0.2.7 51234",
		Request: "cert --key repo", Key: "repo", KeyFingerprint: testFpr,
	}, {
		RequestID: id, Mode: SSH, Result: Undelivered,
		Error: "write signature: write /dev/stdout: broken pipe",
		User:  "signer", SSHKey: testSSHKey, Client: "192.0.2.7 51234",
		Request: "sign --key repo", Key: "repo", KeyFingerprint: testFpr, Format: Detached,
		InputSize: int64(len(input)), InputSHA256: s256[:], InputSHA512: s512[:],
		SignatureCreated: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}}
}

// wantEntries are testRecords(id) as journal fields.
func wantEntries(id string) []map[string]string {
	return []map[string]string{{
		"MESSAGE": "signed 6 bytes (sha256 5891b5b522d5df08...) with key \"repo\" for signer (" + testSSHKey +
			") from 192.0.2.7 51234 [warning: landlock best-effort: kernel has Landlock ABI 3, want 4]",
		"PRIORITY":                   "6",
		"SYSLOG_IDENTIFIER":          "signstar",
		"SIGNSTAR_REQUEST_ID":        id,
		"SIGNSTAR_MODE":              "ssh",
		"SIGNSTAR_RESULT":            "signed",
		"SIGNSTAR_WARNING":           "landlock best-effort: kernel has Landlock ABI 3, want 4",
		"SIGNSTAR_USER":              "signer",
		"SIGNSTAR_SSH_KEY":           testSSHKey,
		"SIGNSTAR_CLIENT":            "192.0.2.7 51234",
		"SIGNSTAR_REQUEST":           "sign --key repo --armor",
		"SIGNSTAR_KEY":               "repo",
		"SIGNSTAR_KEY_FINGERPRINT":   testFpr,
		"SIGNSTAR_FORMAT":            "detached",
		"SIGNSTAR_INPUT_SIZE":        "6",
		"SIGNSTAR_INPUT_SHA256":      sha256Hex,
		"SIGNSTAR_INPUT_SHA512":      sha512Hex,
		"SIGNSTAR_SIGNATURE_CREATED": "2026-01-02T02:04:05Z",
	}, {
		"MESSAGE":             "refused signer (" + testSSHKey + `) from 192.0.2.7 51234: unknown command "scp" (try 'help')`,
		"PRIORITY":            "4",
		"SYSLOG_IDENTIFIER":   "signstar",
		"SIGNSTAR_REQUEST_ID": id,
		"SIGNSTAR_MODE":       "ssh",
		"SIGNSTAR_RESULT":     "refused",
		"SIGNSTAR_ERROR":      `refused: unknown command "scp" (try 'help')`,
		"SIGNSTAR_USER":       "signer",
		"SIGNSTAR_SSH_KEY":    testSSHKey,
		"SIGNSTAR_CLIENT":     "192.0.2.7 51234",
		"SIGNSTAR_REQUEST":    "scp -t /tmp/?[31mx?MESSAGE=forged",
	}, {
		"MESSAGE":                  `failed root via cli: sign with key "repo": CKR_DEVICE_ERROR?SIGNSTAR_RESULT=signed`,
		"PRIORITY":                 "3",
		"SYSLOG_IDENTIFIER":        "signstar",
		"SIGNSTAR_REQUEST_ID":      id,
		"SIGNSTAR_MODE":            "cli",
		"SIGNSTAR_RESULT":          "failed",
		"SIGNSTAR_ERROR":           `sign with key "repo": CKR_DEVICE_ERROR?SIGNSTAR_RESULT=signed`,
		"SIGNSTAR_USER":            "root",
		"SIGNSTAR_KEY":             "repo",
		"SIGNSTAR_KEY_FINGERPRINT": testFpr,
	}, {
		"MESSAGE":                  `answered cert for key "repo" to signer (` + testSSHKey + `) from 192.0.2.7 51234`,
		"PRIORITY":                 "6",
		"SYSLOG_IDENTIFIER":        "signstar",
		"SIGNSTAR_REQUEST_ID":      id,
		"SIGNSTAR_MODE":            "ssh",
		"SIGNSTAR_RESULT":          "answered",
		"SIGNSTAR_USER":            "signer",
		"SIGNSTAR_SSH_KEY":         testSSHKey,
		"SIGNSTAR_CLIENT":          "192.0.2.7 51234",
		"SIGNSTAR_REQUEST":         "cert --key repo",
		"SIGNSTAR_KEY":             "repo",
		"SIGNSTAR_KEY_FINGERPRINT": testFpr,
	}, {
		"MESSAGE": "signature for request " + id + ` (6 bytes, sha256 5891b5b522d5df08...) with key "repo" was NOT delivered to signer (` +
			testSSHKey + ") from 192.0.2.7 51234: write signature: write /dev/stdout: broken pipe",
		"PRIORITY":                   "4",
		"SYSLOG_IDENTIFIER":          "signstar",
		"SIGNSTAR_REQUEST_ID":        id,
		"SIGNSTAR_MODE":              "ssh",
		"SIGNSTAR_RESULT":            "undelivered",
		"SIGNSTAR_ERROR":             "write signature: write /dev/stdout: broken pipe",
		"SIGNSTAR_USER":              "signer",
		"SIGNSTAR_SSH_KEY":           testSSHKey,
		"SIGNSTAR_CLIENT":            "192.0.2.7 51234",
		"SIGNSTAR_REQUEST":           "sign --key repo",
		"SIGNSTAR_KEY":               "repo",
		"SIGNSTAR_KEY_FINGERPRINT":   testFpr,
		"SIGNSTAR_FORMAT":            "detached",
		"SIGNSTAR_INPUT_SIZE":        "6",
		"SIGNSTAR_INPUT_SHA256":      sha256Hex,
		"SIGNSTAR_INPUT_SHA512":      sha512Hex,
		"SIGNSTAR_SIGNATURE_CREATED": "2026-01-02T03:04:05Z",
	}}
}
