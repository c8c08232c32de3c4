package main

// The login shell's [remote] idle-timeout and max-duration through the
// real sshd: a client that sends nothing, or sends for too long, is ended
// with one line, exit status 1 and a failed record naming the limit; a
// slow but steady one gets its signature.

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"signstar/internal/sshdtest"
	"signstar/internal/verifytest"
)

// runPiped runs cmd with its stdin the read end of a pipe that send
// writes to, and gives up after limit. send closes the pipe when it is
// done, or never, like a client whose upload stalls; nil sends nothing.
func runPiped(t *testing.T, cmd *exec.Cmd, send func(w *os.File), limit time.Duration) (sshdtest.Result, time.Duration) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, &out, &errb
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if send != nil {
		go send(w)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		t.Fatalf("client still connected after %v; stderr: %s", limit, errb.Bytes())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", cmd.Args, err)
	}
	return sshdtest.Result{Stdout: out.Bytes(), Stderr: errb.Bytes(), Code: code}, time.Since(start)
}

// sendSlowly writes data one byte per interval, then closes w.
func sendSlowly(data []byte, interval time.Duration) func(*os.File) {
	return func(w *os.File) {
		defer w.Close()
		for _, b := range data {
			time.Sleep(interval)
			if _, err := w.Write([]byte{b}); err != nil {
				return
			}
		}
	}
}

var requestID = regexp.MustCompile(`[0-9a-f]{32}`)

// auditRecord returns the audit record of the request whose id the
// client was told.
func auditRecord(t *testing.T, f *fixture, stderr []byte) record {
	t.Helper()
	id := requestID.Find(stderr)
	if id == nil {
		t.Fatalf("no request id in %q", stderr)
	}
	for _, r := range readAuditFile(t, f) {
		if r["SIGNSTAR_REQUEST_ID"] == string(id) {
			return r
		}
	}
	t.Fatalf("no audit record for request %s", id)
	return nil
}

func TestSSHInputLimits(t *testing.T) {
	s := newSSHFixture(t, "\n[remote]\nidle-timeout = \"2s\"\nmax-duration = \"10s\"\n")
	steady := bytes.Repeat([]byte("x"), 60)
	tests := []struct {
		name    string
		args    []string
		send    func(*os.File)
		wantErr string           // "": signed
		within  [2]time.Duration // how long the client waits
	}{
		{"idle", nil, nil, "no input for 2s: closing", [2]time.Duration{2 * time.Second, 10 * time.Second}},
		{"idle digest request", []string{"sign", "--request"}, nil, "no input for 2s: closing", [2]time.Duration{2 * time.Second, 10 * time.Second}},
		{"stall after some input", nil, func(w *os.File) { w.WriteString("half an upl") },
			"no input for 2s: closing", [2]time.Duration{2 * time.Second, 10 * time.Second}},
		{"slow but steady", nil, sendSlowly([]byte("slow\n"), time.Second), "", [2]time.Duration{5 * time.Second, 9 * time.Second}},
		{"steady past max-duration", nil, sendSlowly(steady, 500*time.Millisecond),
			"request took longer than 10s: closing", [2]time.Duration{9 * time.Second, 20 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, took := runPiped(t, s.srv.SSH(tt.args...), tt.send, 40*time.Second)
			if took < tt.within[0] || took > tt.within[1] {
				t.Errorf("client waited %v, want %v to %v", took, tt.within[0], tt.within[1])
			}
			if tt.wantErr == "" {
				if r.Code != 0 {
					t.Fatalf("exit %d: %s", r.Code, r.Stderr)
				}
				if err := verifytest.GPGV(t, s.repoCert, []byte("slow\n"), r.Stdout); err != nil {
					t.Fatal(err)
				}
				return
			}
			if r.Code != 1 || len(r.Stdout) != 0 {
				t.Errorf("exit %d, %d bytes out; want exit 1 and nothing", r.Code, len(r.Stdout))
			}
			if lines := strings.Count(strings.TrimSpace(string(r.Stderr)), "\n") + 1; lines != 1 || !strings.Contains(string(r.Stderr), tt.wantErr) {
				t.Errorf("stderr %q: want one line saying %q", r.Stderr, tt.wantErr)
			}
			rec := auditRecord(t, s.fixture, r.Stderr)
			rec.want(t, map[string]string{"SIGNSTAR_RESULT": "failed", "SIGNSTAR_MODE": "ssh", "SIGNSTAR_INPUT_SHA256": "-"})
			if !strings.Contains(rec["SIGNSTAR_ERROR"], tt.wantErr) {
				t.Errorf("SIGNSTAR_ERROR %q does not name the limit (%q)", rec["SIGNSTAR_ERROR"], tt.wantErr)
			}
		})
	}
}
