//go:build linux && cgo

package main

import (
	"bytes"
	"crypto/sha512"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"signstar/pkg/audit"
)

// TestBatchGroupFailClosed: the lines of a group of requests recorded at
// once (settleAll) wait for all of its records. The real file sink, held
// by RLIMIT_FSIZE (setrlimit(2)) to room for one record where the group
// has three, fails the group's write part-way: no line of the group
// reaches the client, the file keeps only whole records, none of the
// group's, and the session ends on errNotReleased. With room, all three
// lines go out, in order.
func TestBatchGroupFailClosed(t *testing.T) {
	for _, tc := range []struct {
		name      string
		records   int // room in the file, in records of the group's size
		wantLines int
	}{
		{"room for the group", 10, 3},
		{"room for one record of three", 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			sink, err := audit.Open("file:"+path, true)
			if err != nil {
				t.Fatal(err)
			}
			defer sink.Close()
			b := &batchSession{j: &job{rec: &audit.Record{RequestID: audit.NewRequestID(), Mode: audit.SSH, Request: "sign --batch", Key: "repo", KeyFingerprint: "0123456789ABCDEF0123456789ABCDEF01234567"}, sink: sink}}
			var g []outcome
			for i := range 3 {
				g = append(g, outcome{j: signedJob(b, i), out: fmt.Appendf(nil, `{"response":%d}`, i)})
			}
			first := *g[0].j.rec // a record before the group, to measure one
			first.Result = audit.Signed
			if err := sink.Write(&first); err != nil {
				t.Fatal(err)
			}
			before := fileSize(t, path)
			limitFileSize(t, before*int64(1+tc.records)+before/2) // the one before, tc.records and half of one more
			var end string
			out := captureStdout(t, func() { end, err = b.answer(g, false) })

			if got := bytes.Count(out, []byte("\n")); got != tc.wantLines {
				t.Errorf("%d lines reached the client, want %d:\n%s", got, tc.wantLines, out)
			}
			after := fileSize(t, path)
			if tc.wantLines == 0 {
				if end != endFailure || !errors.Is(err, errNotReleased) {
					t.Errorf("answer ended by %q, %v; want %q and nothing released", end, err, endFailure)
				}
				if after != before {
					t.Errorf("the audit file grew from %d to %d bytes: part of a group the client never got", before, after)
				}
				return
			}
			if end != "" || err != nil || after != 4*before {
				t.Errorf("answer ended by %q, %v, audit file %d bytes; want the session going on and 4 records of %d bytes", end, err, after, before)
			}
			if want := "{\"response\":0}\n{\"response\":1}\n{\"response\":2}\n"; string(out) != want {
				t.Errorf("lines %q, want %q", out, want)
			}
		})
	}
}

// signedJob is the job of the session's request i, signed: a record the
// file sink takes, of the same size for each i.
func signedJob(b *batchSession, i int) *job {
	rj := b.requestJob()
	b.seq++
	sum := sha512.Sum512([]byte{byte(i)})
	rj.rec.Format, rj.rec.InputSize, rj.rec.InputSHA512 = audit.Request, 1000+int64(i), sum[:]
	rj.rec.SignatureCreated = time.Unix(1700000000, 0).UTC()
	return rj
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// limitFileSize lets this process write files up to n bytes
// (RLIMIT_FSIZE): a write past it takes what fits and the next fails with
// EFBIG, as on a full disk; SIGXFSZ is ignored for the test's length.
func limitFileSize(t *testing.T, n int64) {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	signal.Ignore(syscall.SIGXFSZ)
	lim := syscall.Rlimit{Cur: uint64(n), Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old)
		signal.Reset(syscall.SIGXFSZ)
	})
}

// captureStdout runs f with os.Stdout a pipe and returns what f wrote.
func captureStdout(t *testing.T, f func()) []byte {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	done := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); done <- b }()
	f()
	os.Stdout = stdout
	w.Close()
	return <-done
}
