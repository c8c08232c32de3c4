package client

// The client over OpenSSH's real ssh and sshd: the request reaches the
// login shell on stdin, the response comes back on stdout, "--" and an
// ssh:// destination are understood, and a host whose port is closed (ssh
// exit 255) is passed over for the next one.

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"signstar/internal/sshdtest"
	"signstar/internal/verifytest"
)

func TestSSHD(t *testing.T) {
	_, asc := testCerts(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The test binary is the login shell; see loginShellMain.
	srv := sshdtest.Start(t, sshdtest.Options{Shell: exe, Env: []string{"SIGNSTAR_CONFIG=/nonexistent"}})
	live := fmt.Sprintf("ssh://%s@127.0.0.1:%d", srv.User, srv.Port)
	dead := fmt.Sprintf("ssh://%s@127.0.0.1:%d", srv.User, closedPort(t))

	dir := t.TempDir()
	sizes := []int{0, 129, 1 << 20}
	var files []string
	for _, n := range sizes {
		files = append(files, writeFile(t, dir, "pkg-"+strconv.Itoa(n), randomData(n)))
	}
	var log syncBuffer
	o := Options{Hosts: []string{dead, live}, Key: "repo", Jobs: 3, SSHOptions: srv.Options(srv.Key), Log: &log}
	results, err := Sign(context.Background(), files, o)
	if err != nil {
		t.Fatalf("Sign: %v\nlog:\n%s\nsshd log:\n%s", err, log.String(), srv.Log())
	}
	for i, r := range results {
		if r.Host != live {
			t.Fatalf("%s signed by %q, want %q", r.File, r.Host, live)
		}
		sig, err := os.ReadFile(r.Output)
		if err != nil {
			t.Fatal(err)
		}
		if err := verifytest.GPGV(t, asc, randomData(sizes[i]), sig); err != nil {
			t.Fatalf("gpgv: %v", err)
		}
	}
	for _, want := range []string{
		"cannot reach host (ssh exit 255)",
		"no pinned certificate; trusting the one it serves on first use: " + testCert.Fingerprint(),
	} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
}

// closedPort is a port on 127.0.0.1 that nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}
