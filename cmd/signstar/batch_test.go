package main

// Batch sessions (sign --batch) through the real sshd: every response
// checked against its file, a bad request in the middle, a client killed
// mid-stream, the request limit and the idle timeout, an account without
// batches, and eight sessions at once on one token.

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"signstar/internal/sshdtest"
	"signstar/internal/verifytest"
	"signstar/pkg/pgp"
	"signstar/pkg/request"
)

// batchRequests is how many requests TestBatchStream sends; raise it to
// time a longer stream ('-batch-requests 1000 -v' logs the time).
var batchRequests = flag.Int("batch-requests", 500, "requests in TestBatchStream's session")

// batchFiles is n random files of 0 to 300 bytes and the request line for
// each, as 'signstar request' builds it: the SHA-512 state of the file.
func batchFiles(t *testing.T, n int) (files, lines [][]byte) {
	t.Helper()
	for i := range n {
		data := make([]byte, i%301)
		rand.Read(data)
		h := sha512.New()
		h.Write(data)
		state, err := request.State(h)
		if err != nil {
			t.Fatal(err)
		}
		req, err := request.NewRequest(state)
		if err != nil {
			t.Fatal(err)
		}
		files, lines = append(files, data), append(lines, req)
	}
	return files, lines
}

// stream is lines as a batch sends them: each followed by a newline.
func stream(lines [][]byte) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		b.Write(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// responses splits a batch's output into its lines; it fails on output
// that does not end in a newline (half a line).
func responses(t *testing.T, out []byte) [][]byte {
	t.Helper()
	if len(out) == 0 {
		return nil
	}
	if out[len(out)-1] != '\n' {
		t.Fatalf("output ends inside a line: %q", out[max(0, len(out)-80):])
	}
	return bytes.Split(out[:len(out)-1], []byte("\n"))
}

// assertSigned checks that line is the response to a request for data:
// its signature verifies over data with cert, the check the client makes
// of every file (package pgp's verifier), and with gpgv too if gpgv is set.
func assertSigned(t *testing.T, cert, data, line []byte, gpgv bool) {
	t.Helper()
	sig, err := request.ReadResponse(bytes.NewReader(line))
	if err != nil {
		t.Fatalf("response %.80q: %v", line, err)
	}
	c, err := pgp.ReadCertificate(bytes.NewReader(cert))
	if err != nil {
		t.Fatal(err)
	}
	if err := pgp.Verify(c, bytes.NewReader(sig), bytes.NewReader(data)); err != nil {
		t.Fatalf("signature does not verify over its file: %v", err)
	}
	if gpgv {
		if err := verifytest.GPGV(t, cert, data, sig); err != nil {
			t.Fatal(err)
		}
	}
}

// assertErrorLine checks that line is an error response saying want,
// with the request ID an admin looks up, and returns that ID.
func assertErrorLine(t *testing.T, line []byte, want string) string {
	t.Helper()
	var v map[string]string
	if err := json.Unmarshal(line, &v); err != nil {
		t.Fatalf("error line %q: %v", line, err)
	}
	id := requestID.FindString(v["error"])
	if len(v) != 2 || v["version"] != "1.0.0" || !strings.Contains(v["error"], want) || id == "" {
		t.Fatalf("error line %s: want version 1.0.0 and an error saying %q (request ID)", line, want)
	}
	return id
}

// batchRecords are the audit records of the batch sessions, by session:
// the records of its requests in order, then its end record.
func batchRecords(t *testing.T, f *fixture) map[string][]record {
	t.Helper()
	m := map[string][]record{}
	for _, r := range readAllAudit(t, f) {
		if b := r["SIGNSTAR_BATCH"]; b != "" {
			m[b] = append(m[b], r)
		}
	}
	return m
}

// onlyBatch is the one session's records.
func onlyBatch(t *testing.T, f *fixture) (requests []record, end record) {
	t.Helper()
	m := batchRecords(t, f)
	if len(m) != 1 {
		t.Fatalf("%d batch sessions in the audit trail, want 1", len(m))
	}
	for id, recs := range m {
		end = recs[len(recs)-1]
		end.want(t, map[string]string{"SIGNSTAR_EVENT": "batch-end", "SIGNSTAR_RESULT": "answered",
			"SIGNSTAR_REQUEST_ID": id, "SIGNSTAR_MODE": "ssh", "SIGNSTAR_KEY": "repo", "SIGNSTAR_BATCH_SEQ": "-"})
		return recs[:len(recs)-1], end
	}
	return nil, nil
}

// assertRequestRecords checks the per-request records: the batch's
// command, each its own ID, in order from 1, each result as want says
// ("signed" with its file's SHA-512, or another result).
func assertRequestRecords(t *testing.T, recs []record, want []string, files [][]byte) {
	t.Helper()
	if len(recs) != len(want) {
		t.Fatalf("%d request records, want %d", len(recs), len(want))
	}
	ids := map[string]bool{}
	for i, r := range recs {
		fields := map[string]string{"SIGNSTAR_BATCH_SEQ": strconv.Itoa(i + 1), "SIGNSTAR_RESULT": want[i],
			"SIGNSTAR_REQUEST": "sign --batch", "SIGNSTAR_MODE": "ssh", "SIGNSTAR_KEY": "repo", "SIGNSTAR_EVENT": "-"}
		if want[i] == "signed" {
			sum := sha512.Sum512(files[i])
			fields["SIGNSTAR_FORMAT"] = "request"
			fields["SIGNSTAR_INPUT_SHA512"] = hex.EncodeToString(sum[:])
			fields["SIGNSTAR_INPUT_SIZE"] = strconv.Itoa(len(files[i]))
		} else {
			fields["SIGNSTAR_ERROR"] = "*"
		}
		r.want(t, fields)
		if ids[r["SIGNSTAR_REQUEST_ID"]] || r["SIGNSTAR_REQUEST_ID"] == r["SIGNSTAR_BATCH"] {
			t.Fatalf("request %d: request ID %s used twice", i+1, r["SIGNSTAR_REQUEST_ID"])
		}
		ids[r["SIGNSTAR_REQUEST_ID"]] = true
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestBatchStream: one session, many requests (500; -batch-requests),
// every response verified over its file, one record each and one for the
// session's end.
func TestBatchStream(t *testing.T) {
	s := newSSHFixture(t, "")
	n := *batchRequests
	files, lines := batchFiles(t, n)
	start := time.Now()
	r := sshdtest.Run(t, s.srv.SSH("sign", "--batch"), stream(lines))
	took := time.Since(start)
	if r.Code != 0 || len(r.Stderr) != 0 {
		t.Fatalf("sign --batch: exit %d, stderr %q", r.Code, r.Stderr)
	}
	t.Logf("%d requests in one batch session over sshd: %v (%.0f signatures/s)", n, took, float64(n)/took.Seconds())
	out := responses(t, r.Stdout)
	if len(out) != n {
		t.Fatalf("%d responses to %d requests", len(out), n)
	}
	for i, line := range out {
		assertSigned(t, s.repoCert, files[i], line, i == 0 || i == n-1 || i%100 == 37)
	}
	// A response is for its own request: the second file's signature does
	// not verify over the first.
	if sig, _ := request.ReadResponse(bytes.NewReader(out[1])); verifytest.GPGV(t, s.repoCert, files[0], sig) == nil {
		t.Fatal("gpgv accepted the second response over the first file")
	}
	recs, end := onlyBatch(t, s.fixture)
	assertRequestRecords(t, recs, repeat("signed", n), files)
	end.want(t, map[string]string{"SIGNSTAR_DETAIL": fmt.Sprintf("%d requests, %d signed, ended by eof", n, n)})
}

// TestBatchBadRequests: requests the session cannot sign get an error
// line and a record each, in their place, and the rest are signed.
func TestBatchBadRequests(t *testing.T) {
	s := newSSHFixture(t, "")
	files, lines := batchFiles(t, 4)
	x509, err := (&request.Request{Digest: make([]byte, request.DigestSize), Output: "signstar-kmod"}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	sent := [][]byte{
		lines[0],
		[]byte("not json"),
		lines[1],
		{},   // an empty line is a request too, and a malformed one
		x509, // an X.509 request: one at a time only
		bytes.Repeat([]byte("x"), request.MaxSize+10),
		lines[2],
	}
	in := append(stream(sent), lines[3]...) // the last line without its newline
	r := sshdtest.Run(t, s.srv.SSH("sign", "--batch", "--key", "repo"), in)
	if r.Code != 0 {
		t.Fatalf("sign --batch: exit %d, stderr %q", r.Code, r.Stderr)
	}
	out := responses(t, r.Stdout)
	if len(out) != 8 {
		t.Fatalf("%d responses to 8 requests: %q", len(out), r.Stdout)
	}
	assertSigned(t, s.repoCert, files[0], out[0], true)
	assertErrorLine(t, out[1], "refused: invalid signing request: not valid json")
	assertSigned(t, s.repoCert, files[1], out[2], true)
	assertErrorLine(t, out[3], "refused: invalid signing request")
	assertErrorLine(t, out[4], "send it with 'sign --request --format kmod'")
	assertErrorLine(t, out[5], "refused: read request: stream: line longer than 65536 bytes")
	assertSigned(t, s.repoCert, files[2], out[6], true)
	last := assertErrorLine(t, out[7], "refused: read request: stream: the last line has no newline")

	recs, end := onlyBatch(t, s.fixture)
	want := []string{"signed", "refused", "signed", "refused", "refused", "refused", "signed", "refused"}
	signed := [][]byte{files[0], nil, files[1], nil, nil, nil, files[2], nil}
	for i := range recs {
		recs[i]["SIGNSTAR_REQUEST"] = strings.TrimSuffix(recs[i]["SIGNSTAR_REQUEST"], " --key repo")
	}
	assertRequestRecords(t, recs, want, signed)
	recs[7].want(t, map[string]string{"SIGNSTAR_REQUEST_ID": last})
	end.want(t, map[string]string{"SIGNSTAR_DETAIL": "8 requests, 3 signed, ended by eof", "SIGNSTAR_REQUEST": "sign --batch --key repo"})
}

// TestBatchClientKilled: a client killed in the middle of a long stream.
// Every request the session read has its record, all signed but perhaps
// the last, which failed (the client was found gone before the token
// signed, or its line was cut off). The signatures in flight when the
// client went (those of the group recorded at once and not yet written,
// at most maxGroup) each have a second record saying undelivered, and no
// response the client received has one. The session's end says hangup;
// what the client had received before it died is whole, verified lines.
func TestBatchClientKilled(t *testing.T) {
	s := newSSHFixture(t, "")
	files, lines := batchFiles(t, 3000)
	cmd := s.srv.SSH("sign", "--batch")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { stdin.Write(stream(lines)); stdin.Close() }()
	br := bufio.NewReader(stdout)
	var got [][]byte
	for len(got) < 20 {
		line, err := br.ReadBytes('\n')
		if err != nil {
			t.Fatalf("after %d responses: %v", len(got), err)
		}
		got = append(got, line[:len(line)-1])
	}
	cmd.Process.Kill()
	cmd.Wait()
	for i, line := range got {
		assertSigned(t, s.repoCert, files[i], line, false)
	}

	recs, end := waitBatchEnd(t, s.fixture)
	n := len(recs)
	for n > 0 && recs[n-1]["SIGNSTAR_RESULT"] == "undelivered" {
		n--
	}
	read, undelivered := recs[:n], recs[n:]
	if n < len(got) || n >= len(lines) {
		t.Fatalf("%d requests recorded: the session read %d responses' worth and cannot have finished %d", n, len(got), len(lines))
	}
	signed := n
	if r := read[n-1]["SIGNSTAR_RESULT"]; r == "failed" || r == "refused" {
		read[n-1].want(t, map[string]string{"SIGNSTAR_BATCH_SEQ": strconv.Itoa(n), "SIGNSTAR_ERROR": "*"})
		signed--
	}
	assertRequestRecords(t, read[:signed], repeat("signed", signed), files)
	if len(undelivered) > maxGroup {
		t.Fatalf("%d signatures undelivered, more than a group (%d) in flight", len(undelivered), maxGroup)
	}
	for i, u := range undelivered {
		seq := signed - len(undelivered) + 1 + i
		if seq <= len(got) {
			t.Fatalf("request %d recorded undelivered, but the client received its response", seq)
		}
		u.want(t, map[string]string{"SIGNSTAR_RESULT": "undelivered", "SIGNSTAR_BATCH_SEQ": strconv.Itoa(seq),
			"SIGNSTAR_REQUEST_ID": read[seq-1]["SIGNSTAR_REQUEST_ID"], "SIGNSTAR_ERROR": "*"})
	}
	if signed == n && len(undelivered) == 0 {
		t.Fatalf("the requests in flight were recorded %+v, want undelivered or failed", read[n-1])
	}
	t.Logf("killed after %d responses; the session read %d requests, %d undelivered", len(got), n, len(undelivered))
	end.want(t, map[string]string{"SIGNSTAR_DETAIL": fmt.Sprintf("%d requests, %d signed, ended by hangup", n, signed)})
}

// waitBatchEnd waits (up to 30 s) for the one batch session's end record
// and returns its records.
func waitBatchEnd(t *testing.T, f *fixture) ([]record, record) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for _, recs := range batchRecords(t, f) {
			if recs[len(recs)-1]["SIGNSTAR_EVENT"] == "batch-end" {
				return onlyBatch(t, f)
			}
		}
	}
	t.Fatal("no batch-end record after 30s")
	return nil, nil
}

// TestBatchLimit: batch-max-requests answered, the session stops reading
// and says so; the client sends the rest in a new session.
func TestBatchLimit(t *testing.T) {
	s := newSSHFixture(t, "[remote]\nbatch-max-requests = 3\n")
	files, lines := batchFiles(t, 5)
	r := sshdtest.Run(t, s.srv.SSH("sign", "--batch"), stream(lines))
	if r.Code != 3 || string(r.Stderr) != "signstar: batch ended: 3 requests, the limit for one session; send the rest in a new session\n" {
		t.Fatalf("sign --batch: exit %d, stderr %q; want 3 and the limit", r.Code, r.Stderr)
	}
	out := responses(t, r.Stdout)
	if len(out) != 3 {
		t.Fatalf("%d responses, want 3", len(out))
	}
	for i, line := range out {
		assertSigned(t, s.repoCert, files[i], line, i == 2)
	}
	recs, end := onlyBatch(t, s.fixture)
	assertRequestRecords(t, recs, repeat("signed", 3), files)
	end.want(t, map[string]string{"SIGNSTAR_DETAIL": "3 requests, 3 signed, ended by limit"})
}

// TestBatchIdle: a client that sends nothing more, or stops inside a
// request, for batch-idle-timeout is ended with exit status 3 and a line
// saying so; a request cut off is recorded as failed, unanswered.
func TestBatchIdle(t *testing.T) {
	files, lines := batchFiles(t, 2)
	tests := []struct {
		name       string
		send       []byte
		wantOut    int
		wantRecs   []string
		wantDetail string
	}{
		{"between requests", stream(lines), 2, []string{"signed", "signed"}, "2 requests, 2 signed, ended by idle"},
		{"inside a request", append(stream(lines[:1]), lines[1][:40]...), 1, []string{"signed", "failed"}, "2 requests, 1 signed, ended by idle"},
		{"before any", nil, 0, nil, "0 requests, 0 signed, ended by idle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSSHFixture(t, "[remote]\nbatch-idle-timeout = \"2s\"\n")
			send := func(w *os.File) { w.Write(tt.send) } // and never close
			r, took := runPiped(t, s.srv.SSH("sign", "--batch"), send, 30*time.Second)
			if r.Code != 3 || string(r.Stderr) != "signstar: batch ended: idle for 2s; send the rest in a new session\n" {
				t.Fatalf("exit %d, stderr %q; want 3 and the idle line", r.Code, r.Stderr)
			}
			// Session setup takes a second or two under load; ten more
			// would be no 2s timeout.
			if took < 2*time.Second || took > 12*time.Second {
				t.Fatalf("ended after %v: want just after the 2s idle timeout", took)
			}
			out := responses(t, r.Stdout)
			if len(out) != tt.wantOut {
				t.Fatalf("%d responses, want %d", len(out), tt.wantOut)
			}
			for i, line := range out {
				assertSigned(t, s.repoCert, files[i], line, false)
			}
			recs, end := onlyBatch(t, s.fixture)
			assertRequestRecords(t, recs, tt.wantRecs, files)
			if tt.wantOut < len(tt.wantRecs) {
				recs[len(recs)-1].want(t, map[string]string{"SIGNSTAR_ERROR": "read signing request: read request: no whole request within 2s: closing"})
			}
			end.want(t, map[string]string{"SIGNSTAR_DETAIL": tt.wantDetail})
		})
	}
}

// TestBatchRefused: an account with batch = false refuses sign --batch as
// any refusal reads, and so does a batch with flags it cannot take.
func TestBatchRefused(t *testing.T) {
	_, lines := batchFiles(t, 1)
	tests := []struct {
		name, config string
		args         []string
		want         string
	}{
		{"disabled", "[remote]\nbatch = false\n", []string{"sign", "--batch"}, "signstar: error: refused: batch signing is not enabled for this account (request "},
		{"armor", "", []string{"sign", "--batch", "--armor"}, "signstar: error: refused: --armor, --text and --clearsign do not apply to --batch"},
		{"two keys", "", []string{"sign", "--batch", "--key", "repo", "--key", "pkg"}, "signstar: error: refused: --batch signs with one key"},
		{"unknown key", "", []string{"sign", "--batch", "--key", "nope"}, `signstar: error: refused: key "nope" is not configured`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSSHFixture(t, tt.config)
			r := sshdtest.Run(t, s.srv.SSH(tt.args...), stream(lines))
			if r.Code != 2 || len(r.Stdout) != 0 || !strings.HasPrefix(string(r.Stderr), tt.want) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 2, nothing, %q", r.Code, r.Stdout, r.Stderr, tt.want)
			}
			recs := readAuditFile(t, s.fixture)
			recs[len(recs)-1].want(t, map[string]string{"SIGNSTAR_RESULT": "refused", "SIGNSTAR_REQUEST": strings.Join(tt.args, " "),
				"SIGNSTAR_BATCH": "-", "SIGNSTAR_INPUT_SHA512": "-"})
			if m := batchRecords(t, s.fixture); len(m) != 0 {
				t.Fatalf("a refused batch left batch records: %v", m)
			}
		})
	}
}

// TestBatchConcurrent: eight sessions at once on one SoftHSM2 token (and
// its lock file), every signature valid.
func TestBatchConcurrent(t *testing.T) {
	s := newSSHFixture(t, "")
	const sessions, each = 8, 60
	files, lines := batchFiles(t, sessions*each)
	var wg sync.WaitGroup
	results := make([]sshdtest.Result, sessions)
	start := time.Now()
	for i := range sessions {
		wg.Go(func() {
			results[i] = sshdtest.Run(t, s.srv.SSH("sign", "--batch"), stream(lines[i*each:(i+1)*each]))
		})
	}
	wg.Wait()
	t.Logf("%d sessions of %d requests at once: %v", sessions, each, time.Since(start))
	for i, r := range results {
		if r.Code != 0 {
			t.Fatalf("session %d: exit %d: %s", i, r.Code, r.Stderr)
		}
		out := responses(t, r.Stdout)
		if len(out) != each {
			t.Fatalf("session %d: %d responses, want %d", i, len(out), each)
		}
		for j, line := range out {
			assertSigned(t, s.repoCert, files[i*each+j], line, j == 0)
		}
	}
	m := batchRecords(t, s.fixture)
	if len(m) != sessions {
		t.Fatalf("%d sessions in the audit trail, want %d", len(m), sessions)
	}
	for id, recs := range m {
		if len(recs) != each+1 || recs[each]["SIGNSTAR_DETAIL"] != fmt.Sprintf("%d requests, %d signed, ended by eof", each, each) {
			t.Fatalf("session %s: %d records, end %v", id, len(recs), recs[len(recs)-1])
		}
	}
}

// TestBatchLog: on a host that keeps a transparency log (issue 18), each
// request of a batch goes through the same append-before-release as a
// request on its own: every response verifies, and every signed record
// names its own leaf, in order.
func TestBatchLog(t *testing.T) {
	l := newLogFixture(t, true)
	const n = 20
	files, lines := batchFiles(t, n)
	r := sshdtest.Run(t, l.srv.SSH("sign", "--batch", "--key", "repo"), stream(lines))
	if r.Code != 0 {
		t.Fatalf("sign --batch: exit %d, stderr %q", r.Code, r.Stderr)
	}
	out := responses(t, r.Stdout)
	if len(out) != n {
		t.Fatalf("%d responses, want %d: %q", len(out), n, r.Stdout)
	}
	for i, line := range out {
		assertSigned(t, l.repoCert, files[i], line, i == 0)
	}
	recs, end := onlyBatch(t, l.fixture)
	if len(recs) != n {
		t.Fatalf("%d request records, want %d", len(recs), n)
	}
	for i, rec := range recs {
		// The log was empty: the session's signatures are its leaves 0 to n-1.
		rec.want(t, map[string]string{"SIGNSTAR_RESULT": "signed", "SIGNSTAR_BATCH_SEQ": strconv.Itoa(i + 1), "SIGNSTAR_LOG_INDEX": strconv.Itoa(i)})
	}
	end.want(t, map[string]string{"SIGNSTAR_DETAIL": fmt.Sprintf("%d requests, %d signed, ended by eof", n, n)})
}
