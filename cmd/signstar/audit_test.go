package main

// The audit trail as an admin reads it: one record per request, in the
// file sink and in a real systemd-journald, through the CLI and through
// sshd; and no signature when the record cannot be written.

import (
	"bufio"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"signstar/internal/journaltest"
	"signstar/internal/sshdtest"
	"signstar/internal/verifytest"
)

// record is one audit entry, from the file sink or journalctl -o json.
type record map[string]string

// readAuditFile is the audit file's records of requests: signing,
// answers and their refusals. The records of key lifecycle commands (key
// generate and the like, which set up most fixtures) are left out; see
// readKeyEvents.
func readAuditFile(t *testing.T, f *fixture) []record {
	t.Helper()
	return slices.DeleteFunc(readAllAudit(t, f), func(r record) bool { return r["SIGNSTAR_EVENT"] != "" })
}

// readAllAudit is every record in the fixture's audit file.
func readAllAudit(t *testing.T, f *fixture) []record {
	t.Helper()
	fh, err := os.Open(filepath.Join(f.dir, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var recs []record
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

// want checks fields; a value "*" only asks for a non-empty field, "-" for
// an absent one.
func (r record) want(t *testing.T, fields map[string]string) {
	t.Helper()
	for k, v := range fields {
		got, ok := r[k]
		switch {
		case v == "-" && ok:
			t.Errorf("%s = %q, want it absent", k, got)
		case v == "*" && got == "":
			t.Errorf("%s is empty", k)
		case v != "-" && v != "*" && got != v:
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func digests(data []byte) (string, string) {
	a, b := sha256.Sum256(data), sha512.Sum512(data)
	return hex.EncodeToString(a[:]), hex.EncodeToString(b[:])
}

// signedFields is what a signed record must say about data and the key.
func signedFields(t *testing.T, cert, data []byte, mode string) map[string]string {
	s256, s512 := digests(data)
	return map[string]string{
		"SIGNSTAR_RESULT": "signed", "SIGNSTAR_MODE": mode, "SIGNSTAR_ERROR": "-",
		"SIGNSTAR_KEY": "repo", "SIGNSTAR_KEY_FINGERPRINT": verifytest.Fingerprint(t, cert),
		"SIGNSTAR_INPUT_SIZE": strconv.Itoa(len(data)), "SIGNSTAR_INPUT_SHA256": s256,
		"SIGNSTAR_INPUT_SHA512": s512, "SIGNSTAR_SIGNATURE_CREATED": "*",
		"SIGNSTAR_REQUEST_ID": "*", "SIGNSTAR_USER": "*", "MESSAGE": "*",
		"SYSLOG_IDENTIFIER": "signstar", "PRIORITY": "6",
	}
}

func TestAuditFile(t *testing.T) {
	f := newFixture(t)
	cert := f.generate("repo", "ed25519")
	data := []byte("audited artifact\n")
	f.ok(data, "sign")
	assertError(t, f.run([]byte{}, "sign"), exitFailed, "empty input")
	// A refusal from the login shell, without sshd.
	shell := exec.Command(binary, "-c", "scp -t /etc")
	shell.Env = append(f.env, "SSH_CONNECTION=192.0.2.7 51234 192.0.2.1 22", "USER=signer")
	shell.Stdin = strings.NewReader("x")
	out, _ := shell.Output()
	if len(out) != 0 {
		t.Fatalf("refused login shell wrote %q", out)
	}

	recs := readAuditFile(t, f)
	if len(recs) != 3 {
		t.Fatalf("%d audit records, want 3: %v", len(recs), recs)
	}
	recs[0].want(t, signedFields(t, cert, data, "cli"))
	recs[1].want(t, map[string]string{"SIGNSTAR_RESULT": "failed", "SIGNSTAR_ERROR": "*", "SIGNSTAR_INPUT_SHA256": "-", "PRIORITY": "3"})
	recs[2].want(t, map[string]string{"SIGNSTAR_RESULT": "refused", "SIGNSTAR_MODE": "ssh", "PRIORITY": "4",
		"SIGNSTAR_REQUEST": "scp -t /etc", "SIGNSTAR_USER": "signer", "SIGNSTAR_CLIENT": "192.0.2.7 51234"})
	if recs[0]["SIGNSTAR_REQUEST_ID"] == recs[1]["SIGNSTAR_REQUEST_ID"] {
		t.Error("two requests share a request id")
	}
	for _, r := range recs {
		for k, v := range r {
			if strings.Contains(v, f.hsm.PIN) && k != "__REALTIME_TIMESTAMP" {
				t.Errorf("%s leaks the PIN: %q", k, v)
			}
		}
	}
}

// TestAuditFailClosed: a record that cannot be written means no signature.
func TestAuditFailClosed(t *testing.T) {
	f := newFixture(t)
	f.generate("repo", "ed25519")
	log := filepath.Join(f.dir, "audit.jsonl")
	os.Remove(log)
	if err := os.Mkdir(log, 0o700); err != nil { // a directory cannot be appended to
		t.Fatal(err)
	}
	assertError(t, f.run([]byte("data\n"), "sign"), exitFailed, "refusing to sign without one")
}

func TestAuditJournald(t *testing.T) {
	j := journaltest.Start(t)
	f := newFixtureWith(t, "journald")
	data := []byte("signed under a real journald\n")
	inNS := func(stdin []byte, args ...string) result {
		return f.runCmd(j.Command(binary, args...), stdin)
	}
	// Key commands are recorded too, so the key is made where journald is.
	if r := inNS(nil, "key", "generate", "--name", "repo", "--uid", "Repo <repo@example.org>"); r.code != 0 {
		t.Fatalf("key generate: exit %d: %s", r.code, r.stderr)
	}
	cert := f.ok(nil, "key", "export", "--name", "repo")
	if r := inNS(data, "sign"); r.code != 0 {
		t.Fatalf("sign: exit %d: %s", r.code, r.stderr)
	} else if err := verifytest.GPGV(t, cert, data, r.stdout); err != nil {
		t.Fatal(err)
	}
	inNS(data, "-c", "sign --key nope")
	inNS(nil, "sign")

	entries := j.Entries(t, 4, "SYSLOG_IDENTIFIER=signstar")
	if len(entries) != 4 {
		t.Fatalf("%d entries, want 4", len(entries))
	}
	record(entries[0]).want(t, changedFields("generate", "repo", verifytest.Fingerprint(t, cert)))
	entries = entries[1:]
	record(entries[0]).want(t, signedFields(t, cert, data, "cli"))
	record(entries[1]).want(t, map[string]string{"SIGNSTAR_RESULT": "refused", "PRIORITY": "4",
		"SIGNSTAR_ERROR": `refused: key "nope" is not configured`, "SIGNSTAR_REQUEST": "sign --key nope"})
	record(entries[2]).want(t, map[string]string{"SIGNSTAR_RESULT": "failed", "PRIORITY": "3", "SIGNSTAR_KEY": "repo",
		"SIGNSTAR_ERROR": "sign: refusing to sign empty input (pipe the file to standard input)"})

	j.Kill(t)
	r := inNS(data, "sign")
	assertError(t, r, exitFailed, "audit")
}

// TestAuditThroughSSH: the record names the SSH key and the client address
// of the session, as sshd saw them.
func TestAuditThroughSSH(t *testing.T) {
	j := journaltest.Start(t)
	sshdtest.Require(t)
	f := newFixtureWith(t, "journald")
	if r := f.runCmd(j.Command(binary, "key", "generate", "--name", "repo", "--uid", "Repo <repo@example.org>"), nil); r.code != 0 {
		t.Fatalf("key generate: exit %d: %s", r.code, r.stderr)
	}
	cert := f.ok(nil, "key", "export", "--name", "repo")
	srv := sshdtest.Start(t, sshdtest.Options{
		Shell:   binary,
		Env:     []string{"SIGNSTAR_CONFIG=" + f.conf, f.hsm.Env()},
		Command: j.Command,
	})
	srv.Grant(f.hsm.Dir, filepath.Join(f.dir, "pin"), filepath.Join(f.dir, "token.lock"))
	data := []byte("signed over ssh\n")
	if r := sshdtest.Run(t, srv.SSH(), data); r.Code != 0 {
		t.Fatalf("ssh: exit %d: %s", r.Code, r.Stderr)
	}
	sshdtest.Run(t, srv.SSH("bash"), nil)

	entries := j.Entries(t, 3, "SYSLOG_IDENTIFIER=signstar")[1:] // after key generate's
	ports := regexp.MustCompile(`Accepted publickey for \S+ from 127\.0\.0\.1 port (\d+)`).FindAllStringSubmatch(srv.Log(), -1)
	if len(ports) != 2 {
		t.Fatalf("sshd accepted %d sessions, want 2:\n%s", len(ports), srv.Log())
	}
	fields := signedFields(t, cert, data, "ssh")
	fields["SIGNSTAR_SSH_KEY"] = srv.Fingerprint(srv.Key)
	fields["SIGNSTAR_CLIENT"] = "127.0.0.1 " + ports[0][1]
	fields["SIGNSTAR_USER"] = srv.User
	fields["SIGNSTAR_REQUEST"] = "" // the client sent no command
	record(entries[0]).want(t, fields)
	record(entries[1]).want(t, map[string]string{"SIGNSTAR_RESULT": "refused", "SIGNSTAR_REQUEST": "bash",
		"SIGNSTAR_SSH_KEY": srv.Fingerprint(srv.Key), "SIGNSTAR_CLIENT": "127.0.0.1 " + ports[1][1]})
}
