package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"signstar/internal/verifytest"
)

// batchFiles writes n files of a few hundred bytes each into a new
// directory.
func batchFiles(t *testing.T, n int) (dir string, files []string) {
	t.Helper()
	dir = t.TempDir()
	for i := range n {
		files = append(files, writeFile(t, dir, fmt.Sprintf("pkg-%03d.tar.zst", i), randomData(300+i)))
	}
	return dir, files
}

// sessions counts the fake ssh runs in the run log whose remote command
// ends with words.
func sessions(t *testing.T, runs, words string) int {
	t.Helper()
	n := 0
	for _, l := range readLines(t, runs) {
		if strings.HasSuffix(l, " "+words) {
			n++
		}
	}
	return n
}

// TestBatchJobs: 200 files through 8 batch sessions at once: every
// signature verifies with gpgv, and 8 ssh runs, overlapping in time, did
// it all.
func TestBatchJobs(t *testing.T) {
	_, asc := testCerts(t)
	dir, files := batchFiles(t, 200)
	runs := filepath.Join(t.TempDir(), "runs")
	o := options(t, nil, "ok")
	o.Jobs = 8
	o.SSHOptions = []string{"-o", logOption + runs}
	results, err := Sign(context.Background(), files, o)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r.File != files[i] || r.Err != nil || r.Host != "ok" || r.Output != files[i]+".sig" {
			t.Fatalf("result %d = %+v", i, r)
		}
		data, _ := os.ReadFile(files[i])
		sig, _ := os.ReadFile(r.Output)
		if err := verifytest.GPGV(t, asc, data, sig); err != nil {
			t.Fatalf("gpgv %s: %v", r.Output, err)
		}
	}
	if n := len(dirNames(t, dir)); n != 400 {
		t.Fatalf("directory holds %d files, want 400", n)
	}
	lines := readLines(t, runs)
	if n := sessions(t, runs, "-- ok sign --batch"); n != len(lines) || n < 2 || n > 8 {
		t.Fatalf("%d batch sessions of %d ssh runs, want 2..8 and nothing else:\n%s", n, len(lines), strings.Join(lines, "\n"))
	}
	if c := maxConcurrent(t, lines); c < 2 {
		t.Fatalf("at most %d sessions at once, want 2 or more", c)
	}
}

// TestBatchFallback: a server that refuses 'sign --batch' gets one
// session per file, every file is signed, and the log says so once.
func TestBatchFallback(t *testing.T) {
	_, files := batchFiles(t, 20)
	runs := filepath.Join(t.TempDir(), "runs")
	var log syncBuffer
	o := options(t, &log, "old")
	o.Jobs = 3
	o.SSHOptions = []string{"-o", logOption + runs}
	results, err := Sign(context.Background(), files, o)
	if err != nil {
		t.Fatalf("Sign: %v\nlog:\n%s", err, log.String())
	}
	for i, r := range results {
		verifyFile(t, r.Output, files[i])
	}
	want := `signstar: old does not take batches (server failed (exit 2): signstar: error: unknown flag "--batch"); signing one file per session there` + "\n"
	if got := strings.Count(log.String(), "does not take batches"); got != 1 || !strings.Contains(log.String(), want) {
		t.Fatalf("log says %d times that old takes no batches, want once as %q:\n%s", got, want, log.String())
	}
	if n := sessions(t, runs, "-- old sign --request"); n != 20 {
		t.Fatalf("%d single sessions, want 20", n)
	}
	if n := sessions(t, runs, "-- old sign --batch"); n < 1 || n > 3 {
		t.Fatalf("%d batch attempts, want 1..3 (one per worker at most)", n)
	}
	if strings.Contains(log.String(), "warning") {
		t.Fatalf("the fallback is not a failure:\n%s", log.String())
	}
}

// TestBatchRequeue: a server that ends each batch after 3 requests (its
// request limit) leaves the rest for new sessions; every file is signed
// once.
func TestBatchRequeue(t *testing.T) {
	_, files := batchFiles(t, 20)
	runs := filepath.Join(t.TempDir(), "runs")
	var log syncBuffer
	o := options(t, &log, "limit3")
	o.Jobs = 2
	o.SSHOptions = []string{"-o", logOption + runs}
	results, err := Sign(context.Background(), files, o)
	if err != nil {
		t.Fatalf("Sign: %v\nlog:\n%s", err, log.String())
	}
	for i, r := range results {
		verifyFile(t, r.Output, files[i])
	}
	if n := sessions(t, runs, "-- limit3 sign --batch"); n < 7 {
		t.Fatalf("%d batch sessions for 20 files at 3 a session, want 7 or more", n)
	}
	if n := strings.Count(log.String(), "signstar: signed "); n != 20 {
		t.Fatalf("%d files signed, want 20:\n%s", n, log.String())
	}
	if strings.Contains(log.String(), "warning") {
		t.Fatalf("the limit is not a failure:\n%s", log.String())
	}
}

// TestBatchNoProgress: a batch that ends by its limit before answering
// anything fails its files rather than sending them again and again.
func TestBatchNoProgress(t *testing.T) {
	dir, files := batchFiles(t, 3)
	results, err := Sign(context.Background(), files, options(t, nil, "limit0"))
	if err == nil || err.Error() != "3 of 3 files not signed" {
		t.Fatalf("Sign = %v, want 3 failures", err)
	}
	want := "limit0: server failed (exit 3): signstar: batch ended: 0 requests, the limit for one session"
	for _, r := range results {
		if r.Err == nil || !strings.Contains(r.Err.Error(), want) {
			t.Fatalf("%s: %v, want %q", r.File, r.Err, want)
		}
	}
	if n := len(dirNames(t, dir)); n != 3 {
		t.Fatalf("directory holds %d files, want the 3 unsigned", n)
	}
}

// TestFileChanged: a file rewritten (same size, other bytes) after it was
// hashed and before its answer came back gets no signature and an error
// naming it, in a batch and in a session of its own; the other files are
// signed.
func TestFileChanged(t *testing.T) {
	for _, noBatch := range []bool{false, true} {
		t.Run(fmt.Sprintf("nobatch=%v", noBatch), func(t *testing.T) {
			dir, files := batchFiles(t, 5)
			var log syncBuffer
			o := options(t, &log, "ok")
			o.NoBatch = noBatch
			o.SSHOptions = []string{"-o", touchOption + files[2]}
			results, err := Sign(context.Background(), files, o)
			if err == nil || err.Error() != "1 of 5 files not signed" {
				t.Fatalf("Sign = %v, want one failure\nlog:\n%s", err, log.String())
			}
			want := files[2] + ": not signed: file changed while being signed (size or modification time differs from when it was hashed); signature not written"
			if r := results[2]; r.Err == nil || r.Err.Error() != want || r.Output != "" || !errors.Is(r.Err, errChanged) {
				t.Fatalf("changed file: %+v, want %q", r, want)
			}
			if !strings.Contains(log.String(), "signstar: "+want+"\n") {
				t.Fatalf("log lacks %q:\n%s", want, log.String())
			}
			if _, err := os.Stat(files[2] + ".sig"); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("signature written for the changed file: %v", err)
			}
			for i, r := range results {
				if i != 2 {
					verifyFile(t, r.Output, files[i])
				}
			}
			if n := len(dirNames(t, dir)); n != 9 {
				t.Fatalf("directory holds %d files, want 5 and 4 signatures", n)
			}
		})
	}
}

// TestBatchBadServers: whatever a batch server answers wrong, no file gets
// a signature, and each error says what was wrong; with a good host after
// it, every file is signed there.
func TestBatchBadServers(t *testing.T) {
	for _, tt := range []struct {
		host, wantErr string
	}{
		{"otherdata", "otherdata: signature is over other data: its data-digest@archlinux.org is"},
		{"liar", "liar: signature does not verify over the file"},
		{"nonotation", "nonotation: signature has 0 data-digest@archlinux.org notations, want 1"},
		{"wrongkey", "wrongkey: signature does not verify over the file (with key "},
		{"errline", `errline: server refused the request: key "repo" is not allowed?[2J (request `},
		{"garbage", "garbage: bad response: "}, // not valid json, or a last line cut short
		{"flood", "flood: "},                   // the first: a line too long, the rest: no answer; see below
		{"down", "down: cannot reach host (ssh exit 255): ssh: connect to host down port 22: Connection refused"},
		{"refuse", `refuse: server failed (exit 2): signstar: error: key "repo" is not allowed?[2J`},
	} {
		t.Run(tt.host, func(t *testing.T) {
			t.Parallel()
			dir, files := batchFiles(t, 3)
			results, err := Sign(context.Background(), files, options(t, nil, tt.host))
			if err == nil || err.Error() != "3 of 3 files not signed" {
				t.Fatalf("Sign = %v, want 3 failures", err)
			}
			for _, r := range results {
				want := r.File + ": not signed: " + tt.wantErr
				if r.Err == nil || !strings.HasPrefix(r.Err.Error(), want) || r.Output != "" {
					t.Fatalf("%+v\nwant error %q", r, want)
				}
				if tt.host == "flood" && !strings.HasSuffix(r.Err.Error(), map[bool]string{
					true:  "flood: bad response: stream: line longer than 65536 bytes",
					false: "flood: batch ended without answering every request"}[r.File == files[0]]) {
					t.Fatalf("%s: %v", r.File, r.Err)
				}
				if strings.ContainsAny(r.Err.Error(), "\x1b\n") {
					t.Fatalf("error holds a control character: %q", r.Err)
				}
			}
			if n := len(dirNames(t, dir)); n != 3 {
				t.Fatalf("directory holds %d files, want the 3 unsigned", n)
			}
			results, err = Sign(context.Background(), files, options(t, nil, tt.host, "ok"))
			if err != nil {
				t.Fatalf("Sign with a good host after %s: %v", tt.host, err)
			}
			for i, r := range results {
				if r.Host != "ok" {
					t.Fatalf("%s signed by %s", r.File, r.Host)
				}
				verifyFile(t, r.Output, files[i])
			}
		})
	}
}

// TestBatchHang: a batch server that stops answering is given up after
// the timeout.
func TestBatchHang(t *testing.T) {
	_, files := batchFiles(t, 2)
	o := options(t, nil, "hang")
	o.Timeout = 300 * time.Millisecond
	start := time.Now()
	results, err := Sign(context.Background(), files, o)
	if err == nil || results[0].Err == nil || !strings.HasSuffix(results[0].Err.Error(), "not signed: hang: no answer within 300ms") {
		t.Fatalf("Sign = %+v, %v", results, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Sign took %v", d)
	}
}

// TestBatchCanceled: cancelling a run of batches stops them at once and
// every file not yet signed says why.
func TestBatchCanceled(t *testing.T) {
	_, files := batchFiles(t, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	results, err := Sign(ctx, files, options(t, nil, "hang", "ok"))
	if err == nil {
		t.Fatal("Sign succeeded")
	}
	for _, r := range results {
		if !errors.Is(r.Err, context.DeadlineExceeded) {
			t.Fatalf("%+v, want the context's error", r)
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Sign took %v after cancel", d)
	}
}

// TestBatchSomeFilesFail: a missing file and a directory fail on their
// own; the rest of the batch is signed.
func TestBatchSomeFilesFail(t *testing.T) {
	dir, files := batchFiles(t, 3)
	missing := filepath.Join(dir, "missing")
	files = append([]string{missing}, append(files, dir)...)
	results, err := Sign(context.Background(), files, options(t, nil, "ok"))
	if err == nil || err.Error() != "2 of 5 files not signed" {
		t.Fatalf("Sign = %v", err)
	}
	if !errors.Is(results[0].Err, os.ErrNotExist) || results[4].Err == nil || !strings.HasSuffix(results[4].Err.Error(), "not a regular file") {
		t.Fatalf("results = %+v", results)
	}
	for _, r := range results[1:4] {
		verifyFile(t, r.Output, r.File)
	}
	if got := dirNames(t, dir); !slices.Contains(got, "pkg-000.tar.zst.sig") || len(got) != 6 {
		t.Fatalf("directory holds %q", got)
	}
}
