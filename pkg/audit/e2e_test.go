package audit

// The journald sink against a real systemd-journald, in the private mount
// namespace of internal/journaltest; the functions registered in TestMain
// run there, in a re-executed test binary, and reach journald through the
// production socket path.

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"signstar/internal/journaltest"
)

func TestMain(m *testing.M) {
	journaltest.Main(m, map[string]func() error{
		"write-records":    writeRecords,
		"write-kill-write": writeKillWrite,
		"open":             func() error { s, err := Open("journald", true); closeIf(s); return err },
	})
}

func closeIf(s Sink) {
	if s != nil {
		s.Close()
	}
}

// writeRecords writes testRecords through Open("journald") with no file
// descriptor left to open: RLIMIT_NOFILE 0 makes every open(2) and
// socket(2) fail with EMFILE, as the lockdown would.
func writeRecords() error {
	s, err := Open("journald", true)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{}); err != nil {
		return err
	}
	for _, r := range testRecords(os.Getenv("AUDIT_TEST_ID")) {
		if err := s.Write(r); err != nil {
			return err
		}
	}
	return nil
}

// writeKillWrite writes a record, kills journald and checks the next
// Write fails.
func writeKillWrite() error {
	s, err := Open("journald", true)
	if err != nil {
		return err
	}
	defer s.Close()
	recs := testRecords(os.Getenv("AUDIT_TEST_ID"))
	if err := s.Write(recs[0]); err != nil {
		return fmt.Errorf("before kill: %w", err)
	}
	if err := journaltest.KillJournald(); err != nil {
		return err
	}
	err = s.Write(recs[1])
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("Write after journald died = %v, want ECONNREFUSED", err)
	}
	fmt.Println(err)
	return nil
}

func run(t *testing.T, j *journaltest.Journal, name, id string) string {
	t.Helper()
	cmd := j.Func(t, name)
	cmd.Env = append(cmd.Env, "AUDIT_TEST_ID="+id)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s in the journald namespace: %v\n%s", name, err, out)
	}
	return string(out)
}

func TestJournald(t *testing.T) {
	j := journaltest.Start(t)
	id := NewRequestID()
	run(t, j, "write-records", id)
	want := wantEntries(id)
	got := j.Entries(t, len(want), "SIGNSTAR_REQUEST_ID="+id)
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d: %v", len(got), len(want), got)
	}
	for i, e := range got {
		if d := diffEntry(e, want[i]); d != nil {
			t.Errorf("entry %d:\n%s", i, strings.Join(d, "\n"))
		}
		// The native protocol, not stdout or syslog.
		if e["_TRANSPORT"] != "journal" {
			t.Errorf("entry %d: _TRANSPORT = %q", i, e["_TRANSPORT"])
		}
	}
}

func TestJournaldKilled(t *testing.T) {
	j := journaltest.Start(t)
	id := NewRequestID()
	out := run(t, j, "write-kill-write", id)
	if !strings.Contains(out, "connection refused") {
		t.Errorf("error after kill = %q, want connection refused", out)
	}
	// Whether the first entry is in the journal is up to chance: a
	// datagram still queued on the socket when journald dies is lost.
}

func TestJournaldNotRunning(t *testing.T) {
	j := journaltest.Start(t)
	j.Kill(t)
	cmd := j.Func(t, "open")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "connection refused") {
		t.Fatalf("Open(journald) with journald dead: %v\n%s", err, out)
	}
}

// TestJournaldKilledFromHost holds the socket in this process, connected
// through /proc/PID/root, while the harness kills journald.
func TestJournaldKilledFromHost(t *testing.T) {
	j := journaltest.Start(t)
	s, err := openJournald(j.Path(journalSocket))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id := NewRequestID()
	recs := testRecords(id)
	if err := s.Write(recs[0]); err != nil {
		t.Fatal(err)
	}
	j.Kill(t)
	if err := s.Write(recs[1]); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Write after Kill = %v, want ECONNREFUSED", err)
	}
}
