//go:build linux

package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"

	"signstar/internal/testenv"
	"signstar/internal/tokentest"
	"signstar/internal/verifytest"
	"signstar/pkg/token"
)

// child is one re-executed test process.
type child struct {
	name, arg string
	policy    Policy
	env       []string
	stdin     []byte
	extra     []*os.File
}

// result is how a child ended.
type result struct {
	stdout, stderr string
	status         syscall.WaitStatus
}

func (r result) String() string {
	return fmt.Sprintf("%v\nstdout:\n%s\nstderr:\n%s", r.status, r.stdout, r.stderr)
}

// killedBy reports whether the child died of sig.
func (r result) killedBy(sig syscall.Signal) bool {
	return r.status.Signaled() && r.status.Signal() == sig
}

func (r result) exitedOK() bool { return r.status.Exited() && r.status.ExitStatus() == 0 }

// start starts c with a fresh SoftHSM2 token in its environment.
func (c child) command(t *testing.T, ctx context.Context, hsm *tokentest.SoftHSM) *exec.Cmd {
	t.Helper()
	policy, err := json.Marshal(c.policy)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, os.Args[0], append([]string{"-test.run=^$"}, coverageArgs(t)...)...)
	cmd.Env = append(os.Environ(), envChild+"="+c.name, envArg+"="+c.arg, envPolicy+"="+string(policy),
		hsm.Env(), envModule+"="+hsm.Module, envLabel+"="+hsm.Label, envPIN+"="+hsm.PIN)
	cmd.Env = append(cmd.Env, c.env...)
	cmd.Stdin = bytes.NewReader(c.stdin)
	cmd.ExtraFiles = c.extra
	return cmd
}

// runChild runs c to its end.
func runChild(t *testing.T, hsm *tokentest.SoftHSM, c child) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := c.command(t, ctx, hsm)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("run child %s: %v", c.name, err)
	}
	return result{stdout.String(), stderr.String(), cmd.ProcessState.Sys().(syscall.WaitStatus)}
}

// requireLandlock skips the test on a kernel without Landlock, or fails it
// under SIGNSTAR_E2E=1.
func requireLandlock(t *testing.T, abi int) {
	t.Helper()
	if v, err := ll.LandlockGetABIVersion(); err != nil || v < abi {
		testenv.SkipOrFatal(t, "Landlock ABI %d (have %d) is missing", abi, v)
	}
}

func TestLockdownForbids(t *testing.T) {
	requireLandlock(t, abiFiles)
	hsm := tokentest.NewSoftHSM(t, "sandbox")
	tcp := Policy{ConnectTCP: []uint16{1}}
	streams := Policy{Streams: true}
	streamsTCP := Policy{Streams: true, ConnectTCP: []uint16{1}}
	tests := []struct {
		call   string
		policy Policy
		want   string // "SIGSYS", or what the call returned
	}{
		{"execve", Policy{}, "SIGSYS"},
		{"execveat", Policy{}, "SIGSYS"},
		{"ptrace", Policy{}, "SIGSYS"},
		{"process_vm_readv", Policy{}, "SIGSYS"},
		{"mount", Policy{}, "SIGSYS"},
		{"bpf", Policy{}, "SIGSYS"},
		{"keyctl", Policy{}, "SIGSYS"},
		{"unshare", Policy{}, "SIGSYS"},
		{"memfd_create", Policy{}, "SIGSYS"},
		{"truncate", Policy{}, "SIGSYS"},
		{"kill parent", Policy{}, "SIGSYS"},
		{"socket AF_INET", Policy{}, "SIGSYS"},
		{"socket AF_INET6", Policy{}, "SIGSYS"},
		{"socket AF_UNIX stream", Policy{}, "SIGSYS"},
		{"socket AF_NETLINK", Policy{}, "SIGSYS"},
		{"socket AF_INET UDP", tcp, "SIGSYS"},
		{"socket AF_INET MPTCP", tcp, "SIGSYS"},
		{"socket AF_UNIX dgram", Policy{}, "returned: ok"},
		{"socket AF_INET", tcp, "returned: ok"},
		{"socket AF_INET6", tcp, "returned: ok"},
		{"clone3", Policy{}, "returned: ENOSYS"},
		{"syslog connect", Policy{}, "returned: EACCES"},
		// Streams talks over old sockets and refuses GLib's probes of
		// stderr; it makes no new socket and connects nothing.
		{"ioctl TCGETS", Policy{}, "SIGSYS"},
		{"ioctl TCGETS", streams, "returned: ENOTTY"},
		{"getpeername", Policy{}, "SIGSYS"},
		{"getpeername", streams, "returned: ENOTSOCK"},
		{"getpeername", streamsTCP, "returned: ENOTCONN"}, // TCP's rule, not StreamsRefused's
		{"socket AF_UNIX stream", streams, "SIGSYS"},
		{"socketpair", streams, "SIGSYS"},
		{"syslog connect", streams, "returned: EACCES"},
	}
	for _, tt := range tests {
		name := tt.call
		if len(tt.policy.ConnectTCP) > 0 {
			name += " with TCP ports"
		}
		if tt.policy.Streams {
			name += " with streams"
		}
		t.Run(name, func(t *testing.T) {
			r := runChild(t, hsm, child{name: "forbidden", arg: tt.call, policy: tt.policy})
			if !strings.HasPrefix(r.stdout, "locked\n") {
				t.Fatalf("child did not lock down: %v", r)
			}
			switch {
			case tt.want == "SIGSYS" && !r.killedBy(syscall.SIGSYS):
				t.Fatalf("want the child killed by SIGSYS, got %v", r)
			case tt.want != "SIGSYS" && (!r.exitedOK() || !strings.Contains(r.stdout, tt.want)):
				t.Fatalf("want %q, got %v", tt.want, r)
			}
		})
	}
}

func TestLockdownFiles(t *testing.T) {
	requireLandlock(t, abiFiles)
	hsm := tokentest.NewSoftHSM(t, "sandbox")
	r := runChild(t, hsm, child{name: "files", arg: t.TempDir()})
	if !r.exitedOK() {
		t.Fatalf("child failed: %v", r)
	}
	want := []string{
		"read /etc/passwd: EACCES",
		"create new file: EACCES",
		"write existing file: EACCES",
		"read existing file: EACCES",
		"list /: EACCES",
		"list token dir: ok",
		"create in token dir: ok",
	}
	for _, w := range want {
		if !strings.Contains(r.stdout, w+"\n") {
			t.Errorf("want %q, got %v", w, r)
		}
	}
}

// TestLockdownSigns proves the allowlist complete for real work: the child
// signs stdin with a SoftHSM2 key under the real filter and Landlock,
// audits to a socket and a file, and gpgv checks the signature here.
func TestLockdownSigns(t *testing.T) {
	requireLandlock(t, abiFiles)
	for _, typ := range []token.KeyType{token.Ed25519, token.RSA3072, token.P256} {
		t.Run(string(typ), func(t *testing.T) {
			hsm := tokentest.NewSoftHSM(t, "sandbox")
			dir := t.TempDir()
			journal := listenUnixgram(t, filepath.Join(dir, "journal.sock"))
			auditFile := filepath.Join(dir, "audit.log")
			data := bytes.Repeat([]byte("signstar sandbox test\n"), 10000)
			r := runChild(t, hsm, child{
				name: "sign", arg: string(typ), stdin: data,
				policy: Policy{KeepOpen: []string{auditFile}},
				env:    []string{"SANDBOX_TEST_SOCKET=" + journal.LocalAddr().String(), "SANDBOX_TEST_AUDIT=" + auditFile},
			})
			if !r.exitedOK() {
				t.Fatalf("child failed: %v", r)
			}
			cert, sig := splitSignOutput(t, r.stdout)
			if err := verifytest.GPGV(t, cert, data, sig); err != nil {
				t.Fatalf("gpgv rejects the signature made after lockdown: %v", err)
			}
			wantRecord := fmt.Sprintf("SIGNSTAR_SIZE=%d\n", len(data))
			checkDatagram(t, journal, wantRecord)
			if b, err := os.ReadFile(auditFile); err != nil || string(b) != wantRecord {
				t.Errorf("audit file holds %q (%v), want %q", b, err, wantRecord)
			}
			if !strings.Contains(r.stdout, "leaked descriptor: EBADF\n") {
				t.Errorf("a descriptor no policy keeps survived lockdown: %v", r)
			}
		})
	}
}

func listenUnixgram(t *testing.T, path string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func checkDatagram(t *testing.T, c *net.UnixConn, want string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 4096)
	n, err := c.Read(b)
	if err != nil || string(b[:n]) != want {
		t.Errorf("audit datagram %q (%v), want %q", b[:n], err, want)
	}
}

// splitSignOutput cuts the child's stdout into certificate and signature.
func splitSignOutput(t *testing.T, out string) (cert, sig []byte) {
	t.Helper()
	const begin, end = "-----BEGIN PGP SIGNATURE-----", "-----END PGP SIGNATURE-----"
	i, j := strings.Index(out, begin), strings.Index(out, end)
	if i < 0 || j < i {
		t.Fatalf("no armored signature in the child's output:\n%s", out)
	}
	return []byte(out[:i]), []byte(out[i : j+len(end)+1])
}

func TestLockdownTCP(t *testing.T) {
	requireLandlock(t, abiTCP)
	hsm := tokentest.NewSoftHSM(t, "sandbox")
	allowed, denied := listenTCP(t), listenTCP(t)
	r := runChild(t, hsm, child{
		name: "tcp", arg: fmt.Sprintf("%d,%d", allowed, denied),
		policy: Policy{ConnectTCP: []uint16{allowed}},
	})
	if !r.exitedOK() {
		t.Fatalf("child failed: %v", r)
	}
	for _, w := range []string{fmt.Sprintf("dial %d: ok", allowed), fmt.Sprintf("dial %d: EACCES", denied)} {
		if !strings.Contains(r.stdout, w+"\n") {
			t.Errorf("want %q, got %v", w, r)
		}
	}
}

// TestLockdownStreams: with Policy.Streams, the child talks over a socket
// pair it made before lockdown; without, the first sendto kills it.
func TestLockdownStreams(t *testing.T) {
	requireLandlock(t, abiFiles)
	hsm := tokentest.NewSoftHSM(t, "sandbox")
	tests := []struct {
		name   string
		policy Policy
		want   string // "SIGSYS", or what the child printed
	}{
		{"streams", Policy{Streams: true}, "talk: ok\n"},
		{"no streams", Policy{}, "SIGSYS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runChild(t, hsm, child{name: "streams", policy: tt.policy})
			if !strings.HasPrefix(r.stdout, "locked\n") {
				t.Fatalf("child did not lock down: %v", r)
			}
			switch {
			case tt.want == "SIGSYS" && !r.killedBy(syscall.SIGSYS):
				t.Fatalf("want the child killed by SIGSYS, got %v", r)
			case tt.want != "SIGSYS" && (!r.exitedOK() || !strings.Contains(r.stdout, tt.want)):
				t.Fatalf("want %q, got %v", tt.want, r)
			}
		})
	}
}

// listenTCP listens on a free port of 127.0.0.1 with plain TCP, accepting
// until the test ends, and returns the port.
func listenTCP(t *testing.T) uint16 {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return uint16(l.Addr().(*net.TCPAddr).Port)
}

// waiting is a locked-down child that waits for its stdin to close.
type waiting struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.ReadCloser
	stderr bytes.Buffer
}

// startLocked starts c and waits until it has locked down.
func startLocked(t *testing.T, c child) *waiting {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	w := &waiting{cmd: c.command(t, ctx, tokentest.NewSoftHSM(t, "sandbox"))}
	w.cmd.Stdin = nil
	var err error
	if w.stdin, err = w.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if w.stdout, err = w.cmd.StdoutPipe(); err != nil {
		t.Fatal(err)
	}
	w.cmd.Stderr = &w.stderr
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, len("locked\n"))
	if _, err := io.ReadFull(w.stdout, line); err != nil || string(line) != "locked\n" {
		w.stdin.Close()
		w.cmd.Wait()
		t.Fatalf("child did not lock down: %q %v\n%s", line, err, w.stderr.String())
	}
	return w
}

// wait closes stdin and returns how the child ended.
func (w *waiting) wait() syscall.WaitStatus {
	w.stdin.Close()
	w.cmd.Wait()
	return w.cmd.ProcessState.Sys().(syscall.WaitStatus)
}

// TestLockdownStatus reads every thread's status while the locked-down
// child waits on stdin.
func TestLockdownStatus(t *testing.T) {
	requireLandlock(t, abiFiles)
	w := startLocked(t, child{name: "wait"})
	states := threadStates(t, w.cmd.Process.Pid)
	if ws := w.wait(); !ws.Exited() || ws.ExitStatus() != 0 {
		t.Fatalf("child: %v\n%s", ws, w.stderr.String())
	}
	// The bounding set is the one the child inherited from this test,
	// left as it was (dropPrivileges says why), root's full one too.
	wantBnd := selfState(t).CapBnd
	for i, s := range states {
		if !s.Locked() || s.CapBnd != wantBnd {
			t.Errorf("thread %d: %v, want seccomp filter, no_new_privs, no capabilities, bounding %016x", i, s, wantBnd)
		}
	}
}

// selfState parses this test process's /proc/self/status.
func selfState(t *testing.T) state {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := parseStatus(f)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// threadStates parses /proc/PID/task/*/status.
func threadStates(t *testing.T, pid int) []state {
	t.Helper()
	tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		t.Fatal(err)
	}
	var states []state
	for _, task := range tasks {
		f, err := os.Open(fmt.Sprintf("/proc/%d/task/%s/status", pid, task.Name()))
		if err != nil {
			t.Fatal(err)
		}
		s, err := parseStatus(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		states = append(states, s)
	}
	if len(states) < 2 {
		t.Fatalf("child has %d threads; a Go program has several", len(states))
	}
	return states
}

// TestLockdownOldKernel: a kernel too old for the policy refuses, unless
// the policy accepts best effort, which then warns.
func TestLockdownOldKernel(t *testing.T) {
	requireLandlock(t, abiFiles)
	hsm := tokentest.NewSoftHSM(t, "sandbox")
	tests := []struct {
		name       string
		bestEffort bool
		wantOK     bool
		wantStderr string
	}{
		{"strict", false, false, "lock down: landlock: the kernel has Landlock ABI 3, not 4 (Linux 6.7): TCP connections are not confined to ports [1500]"},
		{"best effort", true, true, "warning: the kernel has Landlock ABI 3, not 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runChild(t, hsm, child{name: "old", policy: Policy{ConnectTCP: []uint16{1500}, BestEffort: tt.bestEffort}})
			if r.exitedOK() != tt.wantOK || !strings.Contains(r.stderr, tt.wantStderr) {
				t.Fatalf("want success %t and %q, got %v", tt.wantOK, tt.wantStderr, r)
			}
		})
	}
}

// TestLockdownHangup: a client that hangs up kills signstar with SIGPIPE,
// not SIGSYS, so the audit trail and the exit status tell the truth.
func TestLockdownHangup(t *testing.T) {
	requireLandlock(t, abiFiles)
	w := startLocked(t, child{name: "hangup"})
	w.stdout.Close()
	if ws := w.wait(); !ws.Signaled() || ws.Signal() != syscall.SIGPIPE {
		t.Fatalf("want the child killed by SIGPIPE, got %v\n%s", ws, w.stderr.String())
	}
}

func TestCloseInherited(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	res := runChild(t, &tokentest.SoftHSM{}, child{name: "inherited", extra: []*os.File{w}})
	if !res.exitedOK() {
		t.Fatalf("child failed: %v", res)
	}
	for _, want := range []string{"inherited descriptor 3: EBADF", "own descriptor: ok", "through the poller"} {
		if !strings.Contains(res.stdout, want+"\n") {
			t.Errorf("want %q, got %v", want, res)
		}
	}
}

func TestLockdownRuntime(t *testing.T) {
	requireLandlock(t, abiFiles)
	hsm := tokentest.NewSoftHSM(t, "sandbox")
	r := runChild(t, hsm, child{name: "runtime"})
	if !r.exitedOK() || !strings.Contains(r.stdout, "threads, memory and timers work\n") {
		t.Fatalf("child failed: %v", r)
	}
}
