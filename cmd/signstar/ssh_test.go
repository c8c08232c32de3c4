package main

// signstar as the login shell of an account behind OpenSSH's real sshd,
// configured with the shipped drop-in: signing works, everything else an
// SSH client can ask for is refused.

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"signstar/internal/sshdtest"
	"signstar/internal/verifytest"
)

// sshFixture is a token with two keys ("repo", the default, and "pkg") served
// by sshd to a test account.
type sshFixture struct {
	*fixture
	srv      *sshdtest.Server
	repoCert []byte
	pkgCert  []byte
}

func newSSHFixture(t *testing.T, extraConfig string) *sshFixture {
	t.Helper()
	sshdtest.Require(t)
	f := newFixture(t)
	s := &sshFixture{fixture: f}
	s.repoCert = f.generate("repo", "ed25519")
	s.pkgCert = f.generate("pkg", "p256")
	if extraConfig != "" {
		appendFile(t, f.conf, extraConfig)
	}
	s.srv = sshdtest.Start(t, sshdtest.Options{
		Shell: binary,
		Env:   []string{"SIGNSTAR_CONFIG=" + f.conf, f.hsm.Env()},
	})
	audit := filepath.Join(f.dir, "audit.jsonl")
	if err := os.WriteFile(audit, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s.srv.Grant(f.hsm.Dir, filepath.Join(f.dir, "pin"), filepath.Join(f.dir, "token.lock"), audit)
	return s
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func TestSSHSign(t *testing.T) {
	newSSHFixture(t, "").assertSigns(t)
}

// assertSigns checks what a client of s gets: a signature by the default
// key, an armored one by pkg, and the certificates that verify them.
func (s *sshFixture) assertSigns(t *testing.T) {
	t.Helper()
	data := sample(t)

	r := sshdtest.Run(t, s.srv.SSH(), data)
	if r.Code != 0 {
		t.Fatalf("ssh < file: exit %d: %s", r.Code, r.Stderr)
	}
	verifytest.All(t, s.repoCert, data, r.Stdout)

	armored := sshdtest.Run(t, s.srv.SSH("sign", "--key", "pkg", "--armor"), data)
	if armored.Code != 0 || !bytes.HasPrefix(armored.Stdout, []byte("-----BEGIN PGP SIGNATURE-----")) {
		t.Fatalf("sign --key pkg --armor: exit %d, stdout %.40q, stderr %s", armored.Code, armored.Stdout, armored.Stderr)
	}
	verifytest.All(t, s.pkgCert, data, armored.Stdout)

	// A client pins what "cert" prints; it must verify what the server signs.
	for _, c := range []struct {
		args []string
		sig  []byte
	}{{[]string{"cert"}, r.Stdout}, {[]string{"cert", "--key", "pkg"}, armored.Stdout}} {
		cert := sshdtest.Run(t, s.srv.SSH(c.args...), nil)
		if cert.Code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, cert.Code, cert.Stderr)
		}
		verifytest.All(t, cert.Stdout, data, c.sig)
	}
}

// refusalCase is one thing a client tries that must not yield a signature.
type refusalCase struct {
	name       string
	cmd        func(s *sshFixture) *exec.Cmd
	wantCode   int
	wantStderr string // in what the client sees
	wantLog    string // in sshd's log, for refusals the client is not told about
}

func TestSSHRefusals(t *testing.T) {
	s := newSSHFixture(t, "")
	data := []byte("data a client wants signed\n")
	port := strconv.Itoa(s.srv.Port)
	scp := func(args ...string) *exec.Cmd {
		a := append(s.srv.Options(s.srv.Key), "-P", port)
		return exec.Command("scp", append(a, args...)...)
	}
	long := strings.Repeat("a", 64<<10)
	tests := []refusalCase{
		{"shell command", func(s *sshFixture) *exec.Cmd { return s.srv.SSH("cat", "/etc/passwd") }, 2, `refused: unknown command "cat"`, ""},
		{"shell syntax", func(s *sshFixture) *exec.Cmd { return s.srv.SSH("sign --armor && id") }, 2, `does not take "&&"`, ""},
		{"bash", func(s *sshFixture) *exec.Cmd { return s.srv.SSH("bash", "-i") }, 2, `unknown command "bash"`, ""},
		{"unknown key", func(s *sshFixture) *exec.Cmd { return s.srv.SSH("sign", "--key", "nope") }, 2, `key "nope" is not configured`, ""},
		{"over-long command", func(s *sshFixture) *exec.Cmd { return s.srv.SSH("sign", strings.Repeat("x", 300)) }, 2, "longer than 256 bytes", ""},
		// 1 MiB does not fit an SSH packet: sshd drops the connection
		// before any shell runs.
		{"1 MiB command", func(s *sshFixture) *exec.Cmd {
			words := make([]string, 16)
			for i := range words {
				words[i] = long
			}
			return s.srv.SSH(words...)
		}, 255, "", "Bad packet length"},
		{"pty", func(s *sshFixture) *exec.Cmd { return s.srv.SSHWith(s.srv.Key, []string{"-tt"}, "sign") }, 255, "PTY allocation request failed", ""},
		{"remote forwarding -R", func(s *sshFixture) *exec.Cmd {
			return s.srv.SSHWith(s.srv.Key, []string{"-o", "ExitOnForwardFailure=yes", "-R", freePort(t) + ":127.0.0.1:" + port}, "version")
		}, 255, "remote port forwarding failed", ""},
		{"stdio forwarding -W", func(s *sshFixture) *exec.Cmd {
			return s.srv.SSHWith(s.srv.Key, []string{"-W", "127.0.0.1:" + port})
		}, 255, "stdio forwarding failed", "refused local port forward"},
		{"agent forwarding -A", func(s *sshFixture) *exec.Cmd {
			cmd := s.srv.SSHWith(s.srv.Key, []string{"-A"}, "version")
			cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK="+startAgent(t))
			return cmd
		}, 0, "", "agent forwarding disabled"},
		{"scp to", func(s *sshFixture) *exec.Cmd { return scp(writeTemp(t, data), s.srv.Target()+":/tmp/x") }, 255, "Connection closed", "sftp-server"},
		{"scp -O to", func(s *sshFixture) *exec.Cmd { return scp("-O", writeTemp(t, data), s.srv.Target()+":/tmp/x") }, 1, `refused: unknown command "scp"`, ""},
		{"scp -O from", func(s *sshFixture) *exec.Cmd { return scp("-O", s.srv.Target()+":/etc/passwd", t.TempDir()) }, 1, `refused: unknown command "scp"`, ""},
		{"sftp", func(s *sshFixture) *exec.Cmd {
			a := append(s.srv.Options(s.srv.Key), "-P", port, "-b", "-", s.srv.Target())
			return exec.Command("sftp", a...)
		}, 255, "Connection closed", "sftp-server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sshdtest.Run(t, tt.cmd(s), data)
			if r.Code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr: %s", r.Code, tt.wantCode, r.Stderr)
			}
			if bytes.Contains(r.Stdout, []byte("PGP SIGNATURE")) || (tt.wantCode != 0 && len(r.Stdout) != 0) {
				t.Errorf("stdout has %d bytes, want none: %.60q", len(r.Stdout), r.Stdout)
			}
			if !strings.Contains(string(r.Stderr), tt.wantStderr) {
				t.Errorf("stderr %q does not mention %q", r.Stderr, tt.wantStderr)
			}
			if tt.wantLog != "" && !waitLog(s.srv, tt.wantLog) {
				t.Errorf("sshd log does not mention %q", tt.wantLog)
			}
		})
	}
}

// waitLog waits briefly for sshd to log a line: it logs after the client
// has already gone.
func waitLog(srv *sshdtest.Server, want string) bool {
	for i := 0; i < 40; i++ {
		if strings.Contains(srv.Log(), want) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func writeTemp(t *testing.T, data []byte) string {
	p := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// startAgent runs an ssh-agent holding no keys and returns its socket.
func startAgent(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	for i := 0; i < 50 && !fileExists(sock); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	return sock
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// TestSSHLocalForwarding: -L and -D listeners open on the client, but sshd
// refuses every channel through them, so nothing reaches the target.
func TestSSHLocalForwarding(t *testing.T) {
	s := newSSHFixture(t, "")
	for _, flag := range []string{"-L", "-D"} {
		t.Run(flag, func(t *testing.T) {
			local := freePort(t)
			spec := local + ":127.0.0.1:" + strconv.Itoa(s.srv.Port)
			if flag == "-D" {
				spec = local
			}
			cmd := s.srv.SSHWith(s.srv.Key, []string{"-N", flag, spec})
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			got := throughForward(t, local, flag == "-D", strconv.Itoa(s.srv.Port))
			if bytes.HasPrefix(got, []byte("SSH-2.0")) {
				t.Fatalf("%s forwarded a connection to sshd: read %q", flag, got)
			}
			if !waitLog(s.srv, "refused local port forward") {
				t.Fatalf("sshd log does not show the refused %s channel", flag)
			}
		})
	}
}

// throughForward connects to the client's listener (a SOCKS5 proxy for
// -D) and returns what comes back from the target, if anything.
func throughForward(t *testing.T, local string, socks bool, target string) []byte {
	t.Helper()
	var c net.Conn
	var err error
	for i := 0; i < 50; i++ {
		if c, err = net.Dial("tcp", "127.0.0.1:"+local); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("connect to the forwarding listener: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if socks {
		p, _ := strconv.Atoi(target)
		// SOCKS5 (RFC 1928): no auth, then CONNECT 127.0.0.1:p.
		c.Write([]byte{5, 1, 0})
		c.Write([]byte{5, 1, 0, 1, 127, 0, 0, 1, byte(p >> 8), byte(p)})
	}
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	if socks && n >= 2 {
		return buf[2:n] // skip the method reply; a refused CONNECT ends here
	}
	return buf[:n]
}

func TestSSHEnvironmentIsIgnored(t *testing.T) {
	s := newSSHFixture(t, "")
	cmd := s.srv.SSHWith(s.srv.Key, []string{"-o", "SendEnv=SIGNSTAR_CONFIG", "-o", "SendEnv=SOFTHSM2_CONF", "-o", "SendEnv=LC_ALL"}, "cert")
	cmd.Env = append(os.Environ(), "SIGNSTAR_CONFIG=/nonexistent/evil.toml", "SOFTHSM2_CONF=/nonexistent", "LC_ALL=C")
	r := sshdtest.Run(t, cmd, nil)
	if r.Code != 0 || !bytes.Equal(r.Stdout, s.repoCert) {
		t.Fatalf("SendEnv changed what the server did: exit %d, stderr %s", r.Code, r.Stderr)
	}
}

func TestSSHAllowList(t *testing.T) {
	sshdtest.Require(t)
	// The allow list names a key made before sshd starts, so build the
	// fixture by hand: a second client key, then the config entry.
	s := newSSHFixture(t, "")
	other, otherFpr := s.srv.NewClientKey("other")
	appendFile(t, s.conf, fmt.Sprintf("allow = [%q]\n", otherFpr)) // the last table is keys.pkg
	data := []byte("release\n")

	r := sshdtest.Run(t, s.srv.SSH("sign", "--key", "pkg"), data)
	if r.Code != 2 || len(r.Stdout) != 0 || !strings.Contains(string(r.Stderr), "is not allowed to use this key") {
		t.Fatalf("key not on the allow list: exit %d, %d bytes out, stderr %s", r.Code, len(r.Stdout), r.Stderr)
	}
	if !strings.Contains(string(r.Stderr), s.srv.Fingerprint(s.srv.Key)) {
		t.Errorf("refusal does not name the client's key: %s", r.Stderr)
	}
	ok := sshdtest.Run(t, s.srv.SSHWith(other, nil, "sign", "--key", "pkg"), data)
	if ok.Code != 0 {
		t.Fatalf("allowed key refused: exit %d: %s", ok.Code, ok.Stderr)
	}
	verifytest.All(t, s.pkgCert, data, ok.Stdout)
	// The default key has no allow list: any authorized key may use it.
	if r := sshdtest.Run(t, s.srv.SSH(), data); r.Code != 0 {
		t.Fatalf("default key: exit %d: %s", r.Code, r.Stderr)
	}
}

func TestSSHConcurrent(t *testing.T) {
	s := newSSHFixture(t, "")
	const n = 20
	results := make([]sshdtest.Result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = sshdtest.Run(t, s.srv.SSH(), []byte(fmt.Sprintf("artifact %d\n", i)))
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.Code != 0 {
			t.Errorf("session %d: exit %d: %s", i, r.Code, r.Stderr)
			continue
		}
		if err := verifytest.GPGV(t, s.repoCert, []byte(fmt.Sprintf("artifact %d\n", i)), r.Stdout); err != nil {
			t.Errorf("session %d: %v", i, err)
		}
	}
}
