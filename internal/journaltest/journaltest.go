// Package journaltest runs a real systemd-journald for a test, in a private
// mount namespace, so that programs logging to /run/systemd/journal/socket
// reach it and nothing else does.
//
// [Start] mounts an empty tmpfs on /run in a new mount namespace, starts
// systemd-journald there (volatile storage in /run/log/journal, no rate
// limit, no kmsg, audit or forwarding), and keeps the namespace alive until
// the test ends. [Journal.Command] runs any program in that namespace, with
// nsenter(1): its children (sshd's login shells, say) stay there too.
// [Journal.Entries] reads the entries back with journalctl, and
// [Journal.Kill] kills journald while the namespace lives on. A Go function
// runs there through a re-executed test binary: see [Main] and
// [Journal.Func].
//
// Everything but /run is the host's, so temporary directories, SoftHSM2
// tokens and binaries built by the test are visible in the namespace; in
// /run only /run/systemd, /run/log, /run/lock and /run/sshd (for sshd's
// privilege separation) exist.
//
// It needs root, unshare(1), nsenter(1), journalctl(1) and
// systemd-journald; without them the test is skipped, or fails when the
// environment has SIGNSTAR_E2E=1.
package journaltest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"signstar/internal/testenv"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Dir is the journal directory inside the namespace.
const Dir = "/run/log/journal"

// pidFile holds journald's pid, inside the namespace, for [KillJournald].
const pidFile = "/run/journaltest/journald.pid"

// timeout bounds starting journald, one command the harness runs, and the
// wait for entries.
const timeout = 30 * time.Second

// conf is journald's configuration (journald.conf(5)), read from the
// namespace's /run/systemd/journald.conf.d. No rate limit, so a test may
// log many entries quickly; no kmsg or audit, which would pull the host's
// kernel messages into the test's journal.
const conf = `[Journal]
Storage=volatile
RateLimitBurst=0
ReadKMsg=no
Audit=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
`

// holderScript runs in the new namespace. It prepares /run, starts
// journald, prints its pid and then holds the namespace until its stdin
// closes: at the end of the test, or when the test process dies.
const holderScript = `set -eu
mount -t tmpfs -o mode=0755 journaltest /run
mkdir -p /run/systemd/journal /run/systemd/journald.conf.d /run/log/journal /run/journaltest /run/lock /run/sshd
printf '%s' "$JOURNALTEST_CONF" >/run/systemd/journald.conf.d/journaltest.conf
"$JOURNALTEST_JOURNALD" </dev/null >"$JOURNALTEST_LOG" 2>&1 &
pid=$!
echo "$pid" >` + pidFile + `
echo "$pid"
read -r _ || true
kill "$pid" 2>/dev/null || true
wait
`

// Journal is a running journald in a private mount namespace.
type Journal struct {
	holder   *exec.Cmd
	stdin    io.WriteCloser
	journald int    // pid, in the host's (shared) pid namespace
	ns       string // the namespace's id, "mnt:[4026532...]"
	log      string // journald's own output, on the host
}

// Start starts journald in a new mount namespace, and stops it and every
// process left in the namespace when the test ends.
func Start(t testing.TB) *Journal {
	t.Helper()
	journald := tools(t)
	log := filepath.Join(t.TempDir(), "journald.log")
	holder := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", holderScript)
	holder.Env = append(os.Environ(),
		"JOURNALTEST_CONF="+conf, "JOURNALTEST_JOURNALD="+journald, "JOURNALTEST_LOG="+log)
	var stderr bytes.Buffer
	holder.Stderr = &stderr
	stdin, err := holder.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatalf("start journald namespace: %v", err)
	}
	j := &Journal{holder: holder, stdin: stdin, log: log}
	t.Cleanup(func() { j.stop(t) })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		holder.Wait()
		testenv.SkipOrFatal(t, "start journald in a private mount namespace: %s", strings.TrimSpace(stderr.String()))
	}
	if j.journald, err = strconv.Atoi(strings.TrimSpace(line)); err != nil {
		t.Fatalf("start journald namespace: bad pid %q", line)
	}
	if j.ns, err = os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", holder.Process.Pid)); err != nil {
		t.Fatal(err)
	}
	j.waitReady(t)
	return j
}

// tools returns journald's path, skipping the test if anything is missing.
func tools(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.SkipOrFatal(t, "journaltest needs root to mount a tmpfs on /run in a mount namespace")
	}
	for _, name := range []string{"unshare", "nsenter", "journalctl"} {
		testenv.Tool(t, name)
	}
	for _, p := range []string{"/lib/systemd/systemd-journald", "/usr/lib/systemd/systemd-journald"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	testenv.SkipOrFatal(t, "systemd-journald not found (install systemd)")
	return ""
}

// waitReady waits for journald's native socket and its varlink socket,
// which journalctl --sync uses.
func (j *Journal) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for _, name := range []string{"socket", "io.systemd.journal"} {
		p := j.Path("/run/systemd/journal/" + name)
		for {
			if fi, err := os.Stat(p); err == nil && fi.Mode().Type() == os.ModeSocket {
				break
			}
			if time.Now().After(deadline) || !alive(j.journald) {
				t.Fatalf("journald did not create %s; its output:\n%s", p, j.Log())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// Path is where the host sees path of the namespace, through
// /proc/PID/root: Path("/run/systemd/journal/socket") is journald's socket.
func (j *Journal) Path(path string) string {
	return fmt.Sprintf("/proc/%d/root%s", j.holder.Process.Pid, path)
}

// Log is journald's own stdout and stderr so far.
func (j *Journal) Log() string {
	b, _ := os.ReadFile(j.log)
	return string(b)
}

// Command is exec.Command for a program run in the namespace. Env, Dir,
// stdin and stdout work as usual (Dir through nsenter --wd), and nsenter
// execs the program, so cmd.Process is the program itself.
func (j *Journal) Command(name string, arg ...string) *exec.Cmd {
	return j.CommandContext(context.Background(), name, arg...)
}

// CommandContext is [Journal.Command] with exec.CommandContext.
func (j *Journal) CommandContext(ctx context.Context, name string, arg ...string) *exec.Cmd {
	args := []string{fmt.Sprintf("--mount=/proc/%d/ns/mnt", j.holder.Process.Pid), "--wd=.", "--", name}
	return exec.CommandContext(ctx, "nsenter", append(args, arg...)...)
}

// Kill kills journald (SIGKILL) and waits until it is dead; the namespace
// and the rest of /run stay. Sends to its socket then fail with
// ECONNREFUSED.
func (j *Journal) Kill(t testing.TB) {
	t.Helper()
	if err := killAndWait(j.journald); err != nil {
		t.Fatal(err)
	}
}

// KillJournald kills the harness's journald from inside its namespace, for
// a function run by [Journal.Func] or a program run by [Journal.Command]
// (sh: kill -9 "$(cat /run/journaltest/journald.pid)").
func KillJournald() error {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return fmt.Errorf("kill journald: %w (not in a journaltest namespace?)", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("kill journald: bad pid in %s: %q", pidFile, b)
	}
	return killAndWait(pid)
}

func killAndWait(pid int) error {
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
		return fmt.Errorf("kill journald: %w", err)
	}
	for deadline := time.Now().Add(timeout); alive(pid); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("kill journald: pid %d still alive after %v", pid, timeout)
		}
	}
	return nil
}

// alive reports whether pid runs: neither gone nor a zombie. A zombie has
// closed its sockets already; the holder reaps journald only at the end.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// "pid (comm) S ...": the state follows the last ')'.
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
}

// Entry is one journal entry as journalctl -o json prints it. A field that
// is not one UTF-8 string (binary, or repeated) keeps its JSON text.
type Entry map[string]string

// Entries waits until the journal holds at least n entries that match
// (journalctl(1) matches, "SYSLOG_IDENTIFIER=signstar") and returns all
// the matching entries, oldest first. It fails the test after a timeout.
func (j *Journal) Entries(t testing.TB, n int, match ...string) []Entry {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if alive(j.journald) {
			// Make journald process what it has queued and write it out.
			j.output("journalctl", "--sync")
		}
		out, err := j.output("journalctl", append([]string{"-D", Dir, "-o", "json", "--no-pager"}, match...)...)
		entries, perr := parseEntries(out)
		if perr != nil {
			t.Fatalf("read journal: %v", perr)
		}
		if len(entries) >= n {
			return entries
		}
		if time.Now().After(deadline) {
			t.Fatalf("journal has %d entries matching %q, want %d (journalctl: %v)\njournald's output:\n%s",
				len(entries), match, n, err, j.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// output runs a command in the namespace, with the harness's timeout, and
// returns its stdout.
func (j *Journal) output(name string, arg ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c := j.CommandContext(ctx, name, arg...)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		err = fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return out, err
}

func parseEntries(out []byte) ([]Entry, error) {
	var entries []Entry
	for _, line := range bytes.Split(out, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(line, &raw); err != nil {
			return nil, fmt.Errorf("journalctl -o json line %q: %v", line, err)
		}
		e := Entry{}
		for k, v := range raw {
			var s string
			if json.Unmarshal(v, &s) == nil {
				e[k] = s
			} else {
				e[k] = string(v)
			}
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// stop kills every process left in the namespace (a daemonized sshd, say),
// then lets the holder kill journald and exit.
func (j *Journal) stop(t testing.TB) {
	if j.ns != "" {
		j.killAll()
	}
	j.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- j.holder.Wait() }()
	select {
	case <-done:
	case <-time.After(timeout):
		j.holder.Process.Kill()
		t.Errorf("journaltest: namespace holder did not exit")
	}
	if t.Failed() {
		t.Logf("journald's output:\n%s", j.Log())
	}
}

// killAll SIGKILLs every process whose mount namespace is the harness's,
// except the holder, which must outlive them to be told to stop.
func (j *Journal) killAll() {
	procs, _ := filepath.Glob("/proc/[0-9]*/ns/mnt")
	for _, p := range procs {
		if ns, err := os.Readlink(p); err != nil || ns != j.ns {
			continue
		}
		pid, err := strconv.Atoi(strings.Split(p, "/")[2])
		if err == nil && pid != j.holder.Process.Pid {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
