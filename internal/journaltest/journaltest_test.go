package journaltest

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	Main(m, map[string]func() error{
		"send": func() error { return send(os.Getenv("JT_MESSAGE")) },
		"kill-then-send": func() error {
			if err := KillJournald(); err != nil {
				return err
			}
			if err := send("after kill"); !errors.Is(err, syscall.ECONNREFUSED) {
				return errors.New("send after kill: got " + errString(err) + ", want ECONNREFUSED")
			}
			return nil
		},
	})
}

// send writes one native-protocol datagram to journald's socket.
func send(msg string) error {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	entry := "SYSLOG_IDENTIFIER=journaltest\nMESSAGE=" + msg + "\n"
	return syscall.Sendto(fd, []byte(entry), 0, &syscall.SockaddrUnix{Name: "/run/systemd/journal/socket"})
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

func TestCommand(t *testing.T) {
	j := Start(t)
	// systemd-cat logs through journald's stream socket, a program's own
	// way in; the private /run must not be the host's.
	cat := j.Command("systemd-cat", "-t", "journaltest", "echo", "hello from a command")
	if out, err := cat.CombinedOutput(); err != nil {
		t.Fatalf("systemd-cat: %v\n%s", err, out)
	}
	e := j.Entries(t, 1, "SYSLOG_IDENTIFIER=journaltest")
	if len(e) != 1 || e[0]["MESSAGE"] != "hello from a command" {
		t.Fatalf("entries = %v", e)
	}
	if _, err := os.Stat("/run/journaltest"); err == nil {
		t.Fatal("the harness's /run leaked into the host's")
	}
	if _, err := os.Stat(j.Path("/run/journaltest/journald.pid")); err != nil {
		t.Fatalf("Path: %v", err)
	}
}

func TestCommandDir(t *testing.T) {
	j := Start(t)
	dir := t.TempDir()
	cmd := j.Command("pwd")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) != dir {
		t.Fatalf("pwd in the namespace = %q, %v; want %s", out, err, dir)
	}
}

func TestFunc(t *testing.T) {
	j := Start(t)
	cmd := j.Func(t, "send")
	cmd.Env = append(cmd.Env, "JT_MESSAGE=hello from a func")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("func: %v\n%s", err, out)
	}
	e := j.Entries(t, 1, "SYSLOG_IDENTIFIER=journaltest")
	if e[0]["MESSAGE"] != "hello from a func" {
		t.Fatalf("entries = %v", e)
	}
}

func TestKill(t *testing.T) {
	j := Start(t)
	if out, err := j.Func(t, "send").CombinedOutput(); err != nil {
		t.Fatalf("send before kill: %v\n%s", err, out)
	}
	j.Entries(t, 1, "SYSLOG_IDENTIFIER=journaltest")
	j.Kill(t)
	out, err := j.Func(t, "send").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "connection refused") {
		t.Fatalf("send after Kill: %v\n%s", err, out)
	}
	// The journal stays readable; the entry sent before stays.
	j.Entries(t, 1, "SYSLOG_IDENTIFIER=journaltest")
}

func TestKillJournaldInside(t *testing.T) {
	j := Start(t)
	if out, err := j.Func(t, "kill-then-send").CombinedOutput(); err != nil {
		t.Fatalf("func: %v\n%s", err, out)
	}
}

func TestCleanupKillsLeftovers(t *testing.T) {
	var pid int
	t.Run("harness", func(t *testing.T) {
		j := Start(t)
		// A daemon that leaves its parent, as sshd does without -D.
		out, err := j.Command("sh", "-c", "sleep 1000 </dev/null >/dev/null 2>&1 & echo $!").Output()
		if err != nil {
			t.Fatal(err)
		}
		if pid, err = strconv.Atoi(strings.TrimSpace(string(out))); err != nil {
			t.Fatal(err)
		}
	})
	if pid == 0 {
		t.Skip("harness skipped")
	}
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("pid %d outlived the harness", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestUnprivileged checks an account other than root reaches journald, as
// the login shell of an SSH account does.
func TestUnprivileged(t *testing.T) {
	j := Start(t)
	cmd := j.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "logger", "--journald")
	cmd.Stdin = strings.NewReader("SYSLOG_IDENTIFIER=journaltest\nMESSAGE=hello from nobody\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("logger as nobody: %v\n%s", err, out)
	}
	e := j.Entries(t, 1, "SYSLOG_IDENTIFIER=journaltest")
	if e[0]["MESSAGE"] != "hello from nobody" || e[0]["_UID"] != "65534" {
		t.Fatalf("entries = %v", e)
	}
}
