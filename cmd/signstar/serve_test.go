package main

// What an SSH client sees of each kind of request, and what the trail
// keeps: every request is recorded; a failure on the server is one line
// with the request ID; a signature the client did not get is not listed
// as delivered.

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"signstar/internal/testenv"
	"signstar/internal/verifytest"
)

// shell runs the login shell as sshd would for a client that sent line.
func (f *fixture) shell(line string, stdin []byte) result {
	f.t.Helper()
	env := f.env
	defer func() { f.env = env }()
	f.env = append(slices.Clone(env), "SSH_ORIGINAL_COMMAND="+line, "SSH_CONNECTION=192.0.2.7 51234 192.0.2.1 22", "USER=signer")
	return f.runCmd(exec.Command(binary, "-c", "signstar"), stdin)
}

// TestEveryRequestRecorded: cert, version and help leave an answered
// record; cert names the key it gave out.
func TestEveryRequestRecorded(t *testing.T) {
	f := newFixture(t)
	cert := f.generate("repo", "ed25519")
	for _, line := range []string{"version", "help", "cert"} {
		if r := f.shell(line, nil); r.code != 0 || len(r.stdout) == 0 {
			t.Fatalf("%s: exit %d, %d bytes out\n%s", line, r.code, len(r.stdout), r.stderr)
		}
	}
	recs := readAuditFile(t, f)
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3: %v", len(recs), recs)
	}
	for i, line := range []string{"version", "help"} {
		recs[i].want(t, map[string]string{"SIGNSTAR_RESULT": "answered", "SIGNSTAR_REQUEST": line,
			"SIGNSTAR_KEY": "-", "SIGNSTAR_ERROR": "-", "PRIORITY": "6", "SIGNSTAR_CLIENT": "192.0.2.7 51234"})
	}
	recs[2].want(t, map[string]string{"SIGNSTAR_RESULT": "answered", "SIGNSTAR_REQUEST": "cert",
		"SIGNSTAR_KEY": "repo", "SIGNSTAR_KEY_FINGERPRINT": verifytest.Fingerprint(t, cert), "SIGNSTAR_INPUT_SHA512": "-"})
}

// TestCertChecked: a certificate file replaced by another key's is not
// handed out: clients pin what cert returns.
func TestCertChecked(t *testing.T) {
	f := newFixture(t)
	f.generate("k", "ed25519")
	other := f.generate("other", "ed25519")
	if err := os.WriteFile(filepath.Join(f.dir, "certs", "k.asc"), other, 0o644); err != nil {
		t.Fatal(err)
	}
	r := f.shell("cert --key k", nil)
	id := assertServerFailure(t, r)
	rec := readAuditFile(t, f)[0]
	rec.want(t, map[string]string{"SIGNSTAR_RESULT": "failed", "SIGNSTAR_REQUEST_ID": id, "SIGNSTAR_REQUEST": "cert --key k"})
	if !strings.Contains(rec["SIGNSTAR_ERROR"], "does not match") {
		t.Errorf("SIGNSTAR_ERROR = %q, want the mismatch", rec["SIGNSTAR_ERROR"])
	}
}

// assertServerFailure checks the one line a client gets for a failure on
// the server (exit 1, nothing on stdout, no detail) and returns its
// request ID.
func assertServerFailure(t *testing.T, r result) string {
	t.Helper()
	assertError(t, r, exitFailed, "signstar: error: signing failed on the server; the administrator can look up request ID ")
	line := strings.TrimSpace(string(r.stderr))
	return line[strings.LastIndexByte(line, ' ')+1:]
}

// TestClientSeesNoLayout: server failures show the client a generic line
// and the request ID, never paths or labels; the record holds the detail.
// Refusals of the client's own request keep their reason.
func TestClientSeesNoLayout(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(t *testing.T, f *fixture)
		wantRecord string // in SIGNSTAR_ERROR
	}{
		{"wrong PIN", func(t *testing.T, f *fixture) { f.writePIN("999999", 0o600) }, "wrong PIN"},
		{"missing module", func(t *testing.T, f *fixture) {
			replaceInFile(t, f.conf, f.hsm.Module, "/nonexistent/libpkcs11.so")
		}, "/nonexistent/libpkcs11.so"},
		{"token not found", func(t *testing.T, f *fixture) {
			replaceInFile(t, f.conf, `label = 'signstar'`, `label = 'no-such-token'`)
		}, "no-such-token"},
		{"pin file readable by others", func(t *testing.T, f *fixture) { f.writePIN(f.hsm.PIN, 0o644) }, filepath.Join("DIR", "pin")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.generate("k", "ed25519")
			tt.setup(t, f)
			r := f.shell("", []byte("data\n"))
			id := assertServerFailure(t, r)
			// The token's label is "signstar", as is every line's prefix.
			for _, secret := range []string{f.dir, f.hsm.Dir, "PIN", "pkcs11", "token"} {
				if bytes.Contains(r.stderr, []byte(secret)) {
					t.Errorf("the client learns %q: %s", secret, r.stderr)
				}
			}
			recs := readAuditFile(t, f)
			rec := recs[len(recs)-1]
			want := strings.ReplaceAll(tt.wantRecord, "DIR", f.dir)
			rec.want(t, map[string]string{"SIGNSTAR_RESULT": "failed", "SIGNSTAR_REQUEST_ID": id})
			if !strings.Contains(rec["SIGNSTAR_ERROR"], want) {
				t.Errorf("SIGNSTAR_ERROR = %q, want it to contain %q", rec["SIGNSTAR_ERROR"], want)
			}
		})
	}

	f := newFixture(t)
	f.generate("k", "ed25519")
	assertError(t, f.shell("sign --key nope", []byte("x")), exitRefused, `refused: key "nope" is not configured (request `)
	assertError(t, f.shell("", nil), exitFailed, "refusing to sign empty input")
}

// TestHangupBeforeSigning: a client that is gone once its input ends (an
// upload cut off: sshd closes stdin as if the file were complete) gets no
// signature made, and the record says failed, not signed.
func TestHangupBeforeSigning(t *testing.T) {
	f := newFixture(t)
	f.generate("k", "ed25519")
	cmd := exec.Command(binary, "-c", "signstar")
	cmd.Env = append(f.env, "SSH_CONNECTION=192.0.2.7 51234 192.0.2.1 22", "USER=signer")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(in, "the first 5 MB of an upload\n")
	out.Close() // the client is gone
	in.Close()
	if err := cmd.Wait(); err == nil {
		t.Fatal("signstar succeeded for a client that hung up")
	}
	recs := readAuditFile(t, f)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1: %v", len(recs), recs)
	}
	recs[0].want(t, map[string]string{"SIGNSTAR_RESULT": "failed", "SIGNSTAR_INPUT_SHA512": "-"})
	if !strings.Contains(recs[0]["SIGNSTAR_ERROR"], "the client hung up before the signature was made") {
		t.Errorf("SIGNSTAR_ERROR = %q", recs[0]["SIGNSTAR_ERROR"])
	}
}

// TestUndelivered: a signature that cannot be written out (here stdout is
// /dev/full) gets a second record for the same request saying so.
func TestUndelivered(t *testing.T) {
	f := newFixture(t)
	cert := f.generate("repo", "ed25519")
	data := []byte("never delivered\n")
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		testenv.SkipOrFatal(t, "no /dev/full: %v", err)
	}
	defer full.Close()
	for _, mode := range []string{"cli", "ssh"} {
		cmd := exec.Command(binary, "sign")
		if mode == "ssh" {
			cmd = exec.Command(binary, "-c", "signstar")
			cmd.Env = append(f.env, "SSH_CONNECTION=192.0.2.7 51234 192.0.2.1 22", "USER=signer")
		} else {
			cmd.Env = f.env
		}
		cmd.Stdin, cmd.Stdout = bytes.NewReader(data), full
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		// The admin at the command line reads why; an SSH client, who
		// would not be there to read it, gets the generic line.
		want := "write to the client: write /dev/stdout: no space left on device"
		if mode == "ssh" {
			want = "signing failed on the server"
		}
		if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), want) {
			t.Fatalf("%s: %v, stderr %q", mode, err, stderr.String())
		}
	}
	recs := readAuditFile(t, f)
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4: %v", len(recs), recs)
	}
	for i := 0; i < 4; i += 2 {
		signed, undelivered := recs[i], recs[i+1]
		signed.want(t, signedFields(t, cert, data, signed["SIGNSTAR_MODE"]))
		want := signedFields(t, cert, data, signed["SIGNSTAR_MODE"])
		want["SIGNSTAR_RESULT"], want["SIGNSTAR_ERROR"], want["PRIORITY"] = "undelivered", "*", "*"
		want["SIGNSTAR_REQUEST_ID"] = signed["SIGNSTAR_REQUEST_ID"]
		undelivered.want(t, want)
		if !strings.Contains(undelivered["SIGNSTAR_ERROR"], "no space left on device") {
			t.Errorf("SIGNSTAR_ERROR = %q", undelivered["SIGNSTAR_ERROR"])
		}
	}
}

// TestSSHClientKilledMidUpload: the ssh client killed with SIGKILL after
// 5 MB of a larger upload. sshd ends signstar's stdin as if the file were
// complete; the trail must not list a delivered signature of that prefix:
// the request fails, or (should the client vanish only as the signature
// goes out) its signed record is followed by an undelivered one.
func TestSSHClientKilledMidUpload(t *testing.T) {
	s := newSSHFixture(t, "")
	cmd := s.srv.SSH()
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("upload "), 1<<10)
	for sent := 0; sent < 5<<20; sent += len(chunk) {
		if _, err := in.Write(chunk); err != nil {
			t.Fatalf("upload: %v", err)
		}
	}
	cmd.Process.Kill()
	cmd.Wait()

	var recs []record
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if recs = readAuditFile(t, s.fixture); len(recs) > 0 {
			break
		}
	}
	time.Sleep(500 * time.Millisecond) // an undelivered record follows within microseconds
	recs = readAuditFile(t, s.fixture)
	if len(recs) == 0 {
		t.Fatal("no audit record for the cut-off upload")
	}
	last := recs[len(recs)-1]
	switch last["SIGNSTAR_RESULT"] {
	case "failed":
		if !strings.Contains(last["SIGNSTAR_ERROR"], "hung up") {
			t.Errorf("failed for another reason: %q", last["SIGNSTAR_ERROR"])
		}
	case "undelivered":
		if len(recs) < 2 || recs[len(recs)-2]["SIGNSTAR_REQUEST_ID"] != last["SIGNSTAR_REQUEST_ID"] {
			t.Errorf("undelivered record without its signed one: %v", recs)
		}
	default:
		t.Errorf("the trail says %q for a signature nobody received: %v", last["SIGNSTAR_RESULT"], last)
	}
	t.Logf("recorded: %s: %s", last["SIGNSTAR_RESULT"], last["SIGNSTAR_ERROR"])
}
