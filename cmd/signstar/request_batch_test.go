package main

// 'signstar request' with batches, through the real sshd and login shell:
// many files in few sessions, the fallback to one session per file for an
// account without batches, new sessions after the request limit, and
// eight sessions at once, every signature checked by gpgv.

import (
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"signstar/internal/verifytest"
)

// smallFiles writes n random files of 4 KiB and some bytes into a new
// directory.
func smallFiles(t *testing.T, n int) []string {
	t.Helper()
	dir := t.TempDir()
	var files []string
	for i := range n {
		p := randomFile(t, dir, int64(4096+i))
		name := filepath.Join(dir, fmt.Sprintf("pkg-%03d.tar.zst", i))
		if err := os.Rename(p, name); err != nil {
			t.Fatal(err)
		}
		files = append(files, name)
	}
	return files
}

// assertGPGV checks every file's signature with gpgv.
func (s *sshFixture) assertGPGV(t *testing.T, files []string) {
	t.Helper()
	for _, f := range files {
		data, _ := os.ReadFile(f)
		sig, err := os.ReadFile(f + ".sig")
		if err != nil {
			t.Fatal(err)
		}
		if err := verifytest.GPGV(t, s.repoCert, data, sig); err != nil {
			t.Fatalf("gpgv %s: %v", f, err)
		}
	}
}

// requests counts the audit records of signed requests by their remote
// command.
func requests(t *testing.T, s *sshFixture) map[string]int {
	t.Helper()
	n := make(map[string]int)
	for _, r := range readAuditFile(t, s.fixture) {
		if r["SIGNSTAR_RESULT"] == "signed" {
			n[r["SIGNSTAR_REQUEST"]]++
		}
	}
	return n
}

// TestRequestBatchJobs: 200 files over 8 batch sessions at once on one
// SoftHSM2 token, every signature verified by gpgv, every request
// recorded as part of a batch.
func TestRequestBatchJobs(t *testing.T) {
	s := newSSHFixture(t, "")
	files := smallFiles(t, 200)
	r := s.request(t, []string{"--host", s.srv.Target(), "--jobs", "8"}, files...)
	if r.code != 0 {
		t.Fatalf("request: exit %d: %s", r.code, r.stderr)
	}
	s.assertGPGV(t, files)
	if got := requests(t, s); got["sign --batch"] != 200 || len(got) != 1 {
		t.Fatalf("signed requests by command: %v, want 200 of 'sign --batch'", got)
	}
	if strings.Contains(string(r.stderr), "does not take batches") {
		t.Fatalf("fell back:\n%s", r.stderr)
	}
}

// TestRequestBatchFallback: an account configured without batches refuses
// 'sign --batch'; the client signs every file one session each, and says
// so once.
func TestRequestBatchFallback(t *testing.T) {
	s := newSSHFixture(t, "[remote]\nbatch = false\n")
	files := smallFiles(t, 12)
	r := s.request(t, []string{"--host", s.srv.Target(), "--jobs", "3"}, files...)
	if r.code != 0 {
		t.Fatalf("request: exit %d: %s", r.code, r.stderr)
	}
	s.assertGPGV(t, files)
	want := "does not take batches (server failed (exit 2): signstar: error: refused: batch signing is not enabled for this account (request "
	if n := strings.Count(string(r.stderr), "does not take batches"); n != 1 || !strings.Contains(string(r.stderr), want) {
		t.Fatalf("stderr says %d times that batches are off, want once as %q:\n%s", n, want, r.stderr)
	}
	if got := requests(t, s); got["sign --request"] != 12 || len(got) != 1 {
		t.Fatalf("signed requests by command: %v, want 12 of 'sign --request'", got)
	}
}

// TestRequestBatchLimit: a server that ends each batch after 3 requests
// (batch-max-requests) has the rest sent in new sessions; every file is
// signed once.
func TestRequestBatchLimit(t *testing.T) {
	s := newSSHFixture(t, "[remote]\nbatch-max-requests = 3\n")
	files := smallFiles(t, 20)
	r := s.request(t, []string{"--host", s.srv.Target(), "--jobs", "2"}, files...)
	if r.code != 0 {
		t.Fatalf("request: exit %d: %s", r.code, r.stderr)
	}
	s.assertGPGV(t, files)
	if got := requests(t, s); got["sign --batch"] != 20 || len(got) != 1 {
		t.Fatalf("signed requests by command: %v, want 20 of 'sign --batch'", got)
	}
	if strings.Contains(string(r.stderr), "warning") {
		t.Fatalf("the limit is not a failure:\n%s", r.stderr)
	}
}

// rateFiles is how many 4 KiB files TestRequestBatchRate signs; 0 skips
// it. It is a measurement, not a check: 'go test -run
// TestRequestBatchRate -rate-files 1000 -rate-jobs 8 -v' logs the rate
// of 'signstar request' with batches and with --no-batch.
var (
	rateFiles   = flag.Int("rate-files", 0, "files of 4 KiB TestRequestBatchRate signs (0: skip it)")
	rateJobs    = flag.Int("rate-jobs", 8, "--jobs for TestRequestBatchRate")
	rateNoBatch = flag.Bool("rate-no-batch", true, "TestRequestBatchRate measures --no-batch too (minutes for 1000 files)")
)

func TestRequestBatchRate(t *testing.T) {
	if *rateFiles == 0 {
		t.Skip("a measurement: run with -rate-files N")
	}
	s := newSSHFixture(t, "")
	dir := t.TempDir()
	var files []string
	for i := range *rateFiles {
		p := filepath.Join(dir, fmt.Sprintf("f%04d", i))
		data := make([]byte, 4096)
		rand.Read(data)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	modes := [][]string{nil}
	if *rateNoBatch {
		modes = [][]string{nil, {"--no-batch"}, nil}
	}
	for _, mode := range modes {
		args := append([]string{"--host", s.srv.Target(), "--jobs", strconv.Itoa(*rateJobs)}, mode...)
		start := time.Now()
		r := s.request(t, args, files...)
		d := time.Since(start)
		if r.code != 0 {
			t.Fatalf("request %v: exit %d: %s", mode, r.code, r.stderr)
		}
		t.Logf("signstar request --jobs %d %s: %d files of 4 KiB in %v: %.1f files/s",
			*rateJobs, strings.Join(mode, " "), len(files), d.Round(time.Millisecond), float64(len(files))/d.Seconds())
	}
	s.assertGPGV(t, files[:10])
}
