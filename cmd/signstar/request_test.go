package main

// Digest-only signing end to end: 'signstar request' on the client, the
// login shell behind a real sshd on the server, real verifiers on the
// result.

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"signstar/internal/sshdtest"
	"signstar/internal/verifytest"
)

// request runs 'signstar request' against s's server.
func (s *sshFixture) request(t *testing.T, extra []string, files ...string) result {
	t.Helper()
	return s.run(nil, s.requestArgs(extra, files...)...)
}

// requestArgs is the command line of 'signstar request' against s: the
// pinned certificate and the ssh options that reach s's sshd.
func (s *sshFixture) requestArgs(extra []string, files ...string) []string {
	args := []string{"request", "--cert", filepath.Join(s.dir, "certs", "repo.asc")}
	for _, o := range s.srv.Options(s.srv.Key) {
		args = append(args, "--ssh-option="+o)
	}
	args = append(args, "--ssh-option=-p", "--ssh-option="+strconv.Itoa(s.srv.Port))
	return append(append(args, extra...), files...)
}

func randomFile(t *testing.T, dir string, size int64) string {
	t.Helper()
	p := filepath.Join(dir, "file-"+strconv.FormatInt(size, 10))
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRequestRoundTrip(t *testing.T) {
	s := newSSHFixture(t, "")
	dir := t.TempDir()
	var files []string
	for _, size := range []int64{0, 1, 127, 128, 129, 1 << 20} {
		files = append(files, randomFile(t, dir, size))
	}
	r := s.request(t, []string{"--host", s.srv.Target(), "--jobs", "3"}, files...)
	if r.code != 0 {
		t.Fatalf("request: exit %d: %s", r.code, r.stderr)
	}
	for _, f := range files {
		data, _ := os.ReadFile(f)
		sig, err := os.ReadFile(f + ".sig")
		if err != nil {
			t.Fatal(err)
		}
		if err := verifytest.GPGV(t, s.repoCert, data, sig); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if err := verifytest.PacmanKey(t, s.repoCert, data, sig); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	// A signature made for one file does not verify another.
	other, _ := os.ReadFile(files[2])
	sig, _ := os.ReadFile(files[3] + ".sig")
	if verifytest.GPGV(t, s.repoCert, other, sig) == nil {
		t.Error("gpgv accepted a signature for another file")
	}
	recs := readAuditFile(t, s.fixture)
	last := recs[len(recs)-1]
	// Six files: the client sends them in batches (sign --batch).
	last.want(t, map[string]string{"SIGNSTAR_RESULT": "signed", "SIGNSTAR_REQUEST": "sign --batch", "SIGNSTAR_BATCH": "*", "SIGNSTAR_INPUT_SHA256": "-"})
}

// TestRequestLargeFileSendsLittle: the 300 MiB file is hashed locally.
// ssh -v reports the bytes it sent over the whole connection; most of them
// are the key exchange and authentication every session pays (measured
// here with 'ssh host version'). What the request adds stays under 4 KiB,
// and is the same for a 1-byte and a 300 MiB file.
func TestRequestLargeFileSendsLittle(t *testing.T) {
	s := newSSHFixture(t, "")
	dir := t.TempDir()
	big := s.bytesSent(t, randomFile(t, dir, 300<<20))
	small := s.bytesSent(t, randomFile(t, dir, 1))
	log := filepath.Join(t.TempDir(), "ssh.log")
	if r := sshdtest.Run(t, s.srv.SSHWith(s.srv.Key, []string{"-v", "-E", log}, "version"), nil); r.Code != 0 {
		t.Fatalf("ssh version: exit %d: %s", r.Code, r.Stderr)
	}
	session := sentInLog(t, log)
	t.Logf("ssh sent %d bytes for a 300 MiB file, %d for a 1-byte file, %d for a session that sends nothing", big, small, session)
	if big-session >= 4096 {
		t.Errorf("the request for a 300 MiB file added %d bytes to the session, want < 4096", big-session)
	}
	if d := big - small; d > 64 || d < -64 {
		t.Errorf("bytes sent depend on file size: %d for 300 MiB, %d for 1 byte", big, small)
	}
}

// bytesSent signs file through 'signstar request' and returns what ssh
// says it sent; the signature must verify.
func (s *sshFixture) bytesSent(t *testing.T, file string) int {
	t.Helper()
	log := filepath.Join(t.TempDir(), "ssh.log")
	r := s.request(t, []string{"--host", s.srv.Target(), "--ssh-option=-v", "--ssh-option=-E", "--ssh-option=" + log}, file)
	if r.code != 0 {
		t.Fatalf("request: exit %d: %s", r.code, r.stderr)
	}
	data, _ := os.ReadFile(file)
	sig, _ := os.ReadFile(file + ".sig")
	if err := verifytest.GPGV(t, s.repoCert, data, sig); err != nil {
		t.Fatal(err)
	}
	if err := verifytest.PacmanKey(t, s.repoCert, data, sig); err != nil {
		t.Fatal(err)
	}
	return sentInLog(t, log)
}

func sentInLog(t *testing.T, log string) int {
	t.Helper()
	debug, _ := os.ReadFile(log)
	m := regexp.MustCompile(`Transferred: sent (\d+), received \d+ bytes`).FindSubmatch(debug)
	if m == nil {
		t.Fatalf("ssh -v did not report bytes sent:\n%s", debug)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

func TestRequestFailover(t *testing.T) {
	s := newSSHFixture(t, "")
	file := randomFile(t, t.TempDir(), 1000)
	// The first host: a closed port on another loopback address.
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().(*net.TCPAddr)
	l.Close()
	deadHost := "ssh://" + s.srv.User + "@127.0.0.2:" + strconv.Itoa(dead.Port)
	live := "ssh://" + s.srv.Target() + ":" + strconv.Itoa(s.srv.Port)
	r := s.request(t, []string{"--host", deadHost, "--host", live}, file)
	if r.code != 0 {
		t.Fatalf("request with a dead first host: exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(string(r.stderr), "on "+live) {
		t.Errorf("stderr does not say the second host signed:\n%s", r.stderr)
	}
	data, _ := os.ReadFile(file)
	sig, _ := os.ReadFile(file + ".sig")
	if err := verifytest.GPGV(t, s.repoCert, data, sig); err != nil {
		t.Fatal(err)
	}
}

// TestRequestGarbageServer: a host whose login shell answers garbage (cat
// echoes the request back) makes the client fail and write nothing.
func TestRequestGarbageServer(t *testing.T) {
	sshdtest.Require(t)
	f := newFixture(t)
	f.generate("repo", "ed25519")
	echo := filepath.Join(t.TempDir(), "echo-shell")
	if err := os.WriteFile(echo, []byte("#!/bin/sh\nexec cat\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	srv := sshdtest.Start(t, sshdtest.Options{Shell: echo})
	s := &sshFixture{fixture: f, srv: srv}
	dir := t.TempDir()
	file := randomFile(t, dir, 4096)
	r := s.request(t, []string{"--host", srv.Target()}, file)
	if r.code == 0 {
		t.Fatal("request against a garbage server succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the client left files behind: %v", entries)
	}
}

// TestRequestServerDefault: with default-action = "request", an empty
// command reads a request, as upstream Signstar's client sends it; a
// malformed request is refused with exit 2 and recorded.
func TestRequestServerDefault(t *testing.T) {
	s := newSSHFixture(t, "\n[remote]\ndefault-action = \"request\"\n")
	sample, err := os.ReadFile("../../testdata/signstar-request-v1/sample-request.json")
	if err != nil {
		t.Fatal(err)
	}
	r := sshdtest.Run(t, s.srv.SSH(), sample)
	if r.Code != 0 || !bytes.HasPrefix(r.Stdout, []byte(`{"version":"1.0.0","signature":"-----BEGIN PGP SIGNATURE-----`)) {
		t.Fatalf("upstream sample request: exit %d, stdout %.80q, stderr %s", r.Code, r.Stdout, r.Stderr)
	}
	bad := sshdtest.Run(t, s.srv.SSH(), []byte(`{"version":"2.0.0","required":{},"optional":{}}`))
	if bad.Code != 2 || len(bad.Stdout) != 0 || !strings.Contains(string(bad.Stderr), "refused: invalid signing request") {
		t.Fatalf("bad request: exit %d, stdout %q, stderr %s", bad.Code, bad.Stdout, bad.Stderr)
	}
	recs := readAuditFile(t, s.fixture)
	recs[len(recs)-2].want(t, map[string]string{"SIGNSTAR_RESULT": "signed", "SIGNSTAR_INPUT_SIZE": "19",
		"SIGNSTAR_INPUT_SHA512": "14fd4585924c0b04bf0d96c409611523ba5ffe3b943c589b7fcb97d80b10e4497117736ec62a6d5c1721464788db49ee870ddf75d745f3217d6d5f79d52cd4a6"})
	recs[len(recs)-1].want(t, map[string]string{"SIGNSTAR_RESULT": "refused"})
}
