package main

// The login shell's certs command through the real sshd: every key the
// client's SSH key may use, with a certificate that verifies (gpgv) what
// the server signs with that key; a key whose allow list leaves the client
// out is not listed; one answered record per key.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"signstar/internal/sshdtest"
	"signstar/internal/verifytest"
)

// certsOf runs certs as the client with key and reads its answer.
func (s *sshFixture) certsOf(t *testing.T, key string) certsAnswer {
	t.Helper()
	r := sshdtest.Run(t, s.srv.SSHWith(key, nil, "certs"), nil)
	if r.Code != 0 {
		t.Fatalf("certs: exit %d: %s", r.Code, r.Stderr)
	}
	var a certsAnswer
	dec := json.NewDecoder(bytes.NewReader(r.Stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("certs answer %q: %v", r.Stdout, err)
	}
	return a
}

func TestSSHCerts(t *testing.T) {
	s := newSSHFixture(t, "")
	other, otherFpr := s.srv.NewClientKey("other")
	appendFile(t, s.conf, fmt.Sprintf("allow = [%q]\n", otherFpr)) // the last table is keys.pkg
	data := []byte("release to verify with the certs answer\n")

	// The fixture's client key is not on pkg's allow list.
	a := s.certsOf(t, s.srv.Key)
	if len(a.Certs) != 1 || a.Certs[0].Name != "repo" {
		t.Fatalf("certs for a client pkg does not allow: %+v, want repo only", a.Certs)
	}
	recs := readAuditFile(t, s.fixture)
	recs[len(recs)-1].want(t, map[string]string{"SIGNSTAR_RESULT": "answered", "SIGNSTAR_REQUEST": "certs",
		"SIGNSTAR_KEY": "repo", "SIGNSTAR_KEY_FINGERPRINT": verifytest.Fingerprint(t, s.repoCert),
		"SIGNSTAR_SSH_KEY": s.srv.Fingerprint(s.srv.Key), "SIGNSTAR_MODE": "ssh", "SIGNSTAR_INPUT_SHA512": "-"})

	// The other client key may use both: both listed, by name, each
	// verifying what the server signs with it.
	n := len(readAuditFile(t, s.fixture))
	a = s.certsOf(t, other)
	if len(a.Certs) != 2 || a.Certs[0].Name != "pkg" || a.Certs[1].Name != "repo" {
		t.Fatalf("certs for a client both keys allow: %+v, want pkg and repo", a.Certs)
	}
	recs = readAuditFile(t, s.fixture)[n:]
	if len(recs) != 2 || recs[0]["SIGNSTAR_REQUEST_ID"] != recs[1]["SIGNSTAR_REQUEST_ID"] {
		t.Fatalf("%d records for certs of two keys, want 2 with one request id: %v", len(recs), recs)
	}
	for i, c := range a.Certs {
		if c.Fingerprint != verifytest.Fingerprint(t, []byte(c.Certificate)) {
			t.Errorf("%s: fingerprint %s is not the certificate's", c.Name, c.Fingerprint)
		}
		recs[i].want(t, map[string]string{"SIGNSTAR_RESULT": "answered", "SIGNSTAR_KEY": c.Name,
			"SIGNSTAR_KEY_FINGERPRINT": c.Fingerprint, "SIGNSTAR_SSH_KEY": otherFpr})
		r := sshdtest.Run(t, s.srv.SSHWith(other, nil, "sign", "--key", c.Name), data)
		if r.Code != 0 {
			t.Fatalf("sign --key %s: exit %d: %s", c.Name, r.Code, r.Stderr)
		}
		if err := verifytest.GPGV(t, []byte(c.Certificate), data, r.Stdout); err != nil {
			t.Errorf("gpgv with certs' certificate of %s: %v", c.Name, err)
		}
		if err := verifytest.GPGV(t, []byte(c.Certificate), append(data, 'x'), r.Stdout); err == nil {
			t.Errorf("gpgv with certs' certificate of %s accepts a changed file", c.Name)
		}
	}

	r := sshdtest.Run(t, s.srv.SSH("certs", "--key", "repo"), nil)
	if r.Code != 2 || len(r.Stdout) != 0 {
		t.Fatalf("certs --key repo: exit %d, %d bytes out, want a refusal: %s", r.Code, len(r.Stdout), r.Stderr)
	}
	recs = readAuditFile(t, s.fixture)
	recs[len(recs)-1].want(t, map[string]string{"SIGNSTAR_RESULT": "refused", "SIGNSTAR_REQUEST": "certs --key repo",
		"SIGNSTAR_ERROR": "refused: certs takes no arguments"})
}
