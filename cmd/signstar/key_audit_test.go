package main

// The audit records of key lifecycle commands (key_audit.go): one per
// command and key, changed, refused or failed, with the event, the admin
// user, the key and its fingerprint, in the file sink the config names.

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readKeyEvents is the audit file's records of key lifecycle commands.
func readKeyEvents(t *testing.T, f *fixture) []record {
	t.Helper()
	var events []record
	for _, r := range readAllAudit(t, f) {
		if r["SIGNSTAR_EVENT"] != "" {
			events = append(events, r)
		}
	}
	return events
}

// lastKeyEvent is the last lifecycle record, checked to be one.
func lastKeyEvent(t *testing.T, f *fixture) record {
	t.Helper()
	events := readKeyEvents(t, f)
	if len(events) == 0 {
		t.Fatal("no key lifecycle record")
	}
	return events[len(events)-1]
}

// changedFields is what a changed record of event says of key name.
func changedFields(event, name, fpr string) map[string]string {
	return map[string]string{"SIGNSTAR_RESULT": "changed", "SIGNSTAR_EVENT": event, "SIGNSTAR_MODE": "cli",
		"SIGNSTAR_USER": currentUser(), "SIGNSTAR_KEY": name, "SIGNSTAR_KEY_FINGERPRINT": fpr, "PRIORITY": "5",
		"SIGNSTAR_ERROR": "-", "SIGNSTAR_SSH_KEY": "-", "SIGNSTAR_REQUEST": "-", "SIGNSTAR_FORMAT": "-",
		"SIGNSTAR_INPUT_SHA512": "-", "SIGNSTAR_REQUEST_ID": "*"}
}

func TestKeyEventGenerateAdopt(t *testing.T) {
	f := newFixture(t)
	fpr := strings.TrimSpace(string(f.ok(nil, "key", "generate", "--name", "repo", "--uid", "Repo <repo@example.org>", "--expires", "2y")))
	rec := lastKeyEvent(t, f)
	rec.want(t, changedFields("generate", "repo", fpr))
	if d := rec["SIGNSTAR_DETAIL"]; d != `ed25519, user ID "Repo <repo@example.org>", expires 2y` {
		t.Errorf("SIGNSTAR_DETAIL = %q", d)
	}
	if m := rec["MESSAGE"]; !strings.HasPrefix(m, `key generate "repo" (`+fpr+") by "+currentUser()+" via cli") {
		t.Errorf("MESSAGE = %q", m)
	}

	f.keypairgen("0a", []string{"EC:prime256v1"})
	fpr = strings.TrimSpace(string(f.ok(nil, "key", "adopt", "--name", "vendor", "--id", "0a", "--uid", "Vendor <v@example.org>")))
	rec = lastKeyEvent(t, f)
	rec.want(t, changedFields("adopt", "vendor", fpr))
	if d := rec["SIGNSTAR_DETAIL"]; !strings.HasSuffix(d, ", id 0a") {
		t.Errorf("SIGNSTAR_DETAIL = %q, want the CKA_ID", d)
	}

	tests := []struct {
		name   string
		args   []string
		code   int
		fields map[string]string
	}{
		{"generate an existing name", []string{"generate", "--name", "repo", "--uid", "X <x@example.org>"}, exitFailed,
			map[string]string{"SIGNSTAR_RESULT": "failed", "SIGNSTAR_EVENT": "generate", "SIGNSTAR_KEY": "repo",
				"SIGNSTAR_KEY_FINGERPRINT": "-", "SIGNSTAR_ERROR": "*", "PRIORITY": "3"}},
		{"generate expiring in the past", []string{"generate", "--name", "old", "--uid", "X <x@example.org>", "--expires", "2020-01-01"}, exitFailed,
			map[string]string{"SIGNSTAR_RESULT": "failed", "SIGNSTAR_EVENT": "generate", "SIGNSTAR_KEY": "old",
				"SIGNSTAR_ERROR": "--expires 2020-01-01 is in the past"}},
		{"adopt an adopted id", []string{"adopt", "--name", "again", "--id", "0a", "--uid", "X <x@example.org>"}, exitFailed,
			map[string]string{"SIGNSTAR_RESULT": "failed", "SIGNSTAR_EVENT": "adopt", "SIGNSTAR_KEY": "again", "SIGNSTAR_ERROR": "*"}},
		{"adopt a bad id", []string{"adopt", "--name", "bad", "--id", "zz", "--uid", "X <x@example.org>"}, exitFailed,
			map[string]string{"SIGNSTAR_RESULT": "failed", "SIGNSTAR_EVENT": "adopt", "SIGNSTAR_KEY": "bad", "SIGNSTAR_ERROR": "*"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := len(readKeyEvents(t, f))
			r := f.run(nil, append([]string{"key"}, tt.args...)...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d: %s", r.code, tt.code, r.stderr)
			}
			events := readKeyEvents(t, f)
			if len(events) != n+1 {
				t.Fatalf("%d new records, want 1", len(events)-n)
			}
			events[n].want(t, tt.fields)
			if !strings.Contains(string(r.stderr), events[n]["SIGNSTAR_ERROR"]) {
				t.Errorf("the record's error %q is not what the admin saw: %s", events[n]["SIGNSTAR_ERROR"], r.stderr)
			}
		})
	}
}

func TestKeyEventX509(t *testing.T) {
	f := newFixture(t)
	f.generate("ed", "ed25519")
	fpr := strings.TrimSpace(string(f.ok(nil, "key", "generate", "--name", "k", "--type", "p256", "--uid", "K <k@example.org>")))
	x509fpr := strings.TrimSpace(string(f.ok(nil, "key", "x509", "self-sign", "--name", "k", "--subject", "CN=Example Secure Boot 2026,O=Example")))
	rec := lastKeyEvent(t, f)
	rec.want(t, changedFields("x509", "k", fpr))
	for _, want := range []string{"self-signed", "CN=Example Secure Boot 2026,O=Example", x509fpr} {
		if !strings.Contains(rec["SIGNSTAR_DETAIL"], want) {
			t.Errorf("SIGNSTAR_DETAIL = %q, want %q in it", rec["SIGNSTAR_DETAIL"], want)
		}
	}

	// A CSR is a signature by the token key: recorded before it is
	// written out.
	f.ok(nil, "key", "x509", "csr", "--name", "k", "--subject", "CN=Request")
	rec = lastKeyEvent(t, f)
	rec.want(t, changedFields("x509", "k", fpr))
	if d := rec["SIGNSTAR_DETAIL"]; d != `csr "CN=Request"` {
		t.Errorf("SIGNSTAR_DETAIL = %q", d)
	}

	assertError(t, f.run(nil, "key", "x509", "self-sign", "--name", "ed", "--subject", "CN=x"), exitRefused, "Ed25519")
	lastKeyEvent(t, f).want(t, map[string]string{"SIGNSTAR_RESULT": "refused", "SIGNSTAR_EVENT": "x509",
		"SIGNSTAR_KEY": "ed", "SIGNSTAR_KEY_FINGERPRINT": "*", "PRIORITY": "4", "SIGNSTAR_DETAIL": "-"})
	assertError(t, f.run(nil, "key", "x509", "self-sign", "--name", "k", "--subject", "CN=Second"), exitRefused, "--replace")
	lastKeyEvent(t, f).want(t, map[string]string{"SIGNSTAR_RESULT": "refused", "SIGNSTAR_EVENT": "x509",
		"SIGNSTAR_KEY": "k", "SIGNSTAR_KEY_FINGERPRINT": fpr})
}

// TestKeyEventNoTrail: a key command whose audit trail cannot be opened
// changes nothing: no key on the token, nothing in the config.
func TestKeyEventNoTrail(t *testing.T) {
	f := newFixtureWith(t, "file:"+filepath.Join(t.TempDir(), "missing", "audit.jsonl"))
	conf := readT(t, f.conf)
	assertError(t, f.run(nil, "key", "generate", "--name", "repo", "--uid", "Repo <repo@example.org>"), exitFailed,
		"refusing to change keys without one")
	if string(readT(t, f.conf)) != string(conf) {
		t.Error("the config changed")
	}
	if _, err := os.Stat(filepath.Join(f.dir, "certs", "repo.asc")); err == nil {
		t.Error("certs/repo.asc was written")
	}
	if out, err := f.p11("--list-objects").run(); err != nil || strings.Contains(string(out), "Private Key") {
		t.Errorf("the token holds a private key: %v\n%s", err, out)
	}
}

// TestKeyLifecycleNoTrail: extend, revoke and rotate change no
// certificate when the audit trail cannot be opened.
func TestKeyLifecycleNoTrail(t *testing.T) {
	f := newFixture(t)
	f.generate("repo", "ed25519")
	f.generate("next", "ed25519")
	conf := string(readT(t, f.conf))
	broken := strings.Replace(conf, filepath.Join(f.dir, "audit.jsonl"), filepath.Join(f.dir, "missing", "audit.jsonl"), 1)
	if broken == conf {
		t.Fatal("BUG: the config names no audit file")
	}
	if err := os.WriteFile(f.conf, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	certs := map[string][]byte{"repo": readT(t, filepath.Join(f.dir, "certs", "repo.asc")), "next": readT(t, filepath.Join(f.dir, "certs", "next.asc"))}
	for _, args := range [][]string{
		{"key", "extend", "--name", "repo", "--expires", "2y"},
		{"key", "revoke", "--name", "repo", "--reason", "retired"},
		{"key", "rotate", "--from", "repo", "--to", "next"},
	} {
		assertError(t, f.run(nil, args...), exitFailed, "refusing to change keys without one")
	}
	for name, want := range certs {
		if !bytes.Equal(readT(t, filepath.Join(f.dir, "certs", name+".asc")), want) {
			t.Errorf("certs/%s.asc changed", name)
		}
	}
	if got := string(readT(t, f.conf)); got != broken {
		t.Error("the config changed")
	}
}
