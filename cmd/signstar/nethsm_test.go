package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"signstar/internal/testenv"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestNetHSMFirewall loads the shipped sshd/signstar-nethsm.nft into a
// network namespace of its own, with a stand-in account, a stand-in NetHSM
// address and a port of the test's, and checks what the README promises:
// the account reaches the NetHSM's address on its port and nothing else;
// other users are not affected. Landlock confines the port; this rule
// confines the address, which Landlock cannot see.
func TestNetHSMFirewall(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces and nftables")
	}
	nft, ip, setpriv := testenv.Tool(t, "nft"), testenv.Tool(t, "ip"), testenv.Tool(t, "setpriv")
	bash := testenv.Tool(t, "bash")
	ns := "signstar-nethsm-" + strconv.Itoa(os.Getpid())
	mustRun(t, ip, "netns", "add", ns)
	t.Cleanup(func() { exec.Command(ip, "netns", "del", ns).Run() })
	mustRun(t, ip, "-n", ns, "link", "set", "lo", "up")

	hsm, other := listenIn(t, ns), listenIn(t, ns)
	const account = "64123" // a uid no one has
	rules, err := os.ReadFile("../../sshd/signstar-nethsm.nft")
	if err != nil {
		t.Fatal(err)
	}
	conf := string(rules)
	for old, new := range map[string]string{
		`"signer"`:                   account,
		"{ 192.0.2.10, 192.0.2.11 }": "{ 127.0.0.2 }",
		"dport 8443":                 "dport " + strconv.Itoa(hsm),
	} {
		if !strings.Contains(conf, old) {
			t.Fatalf("sshd/signstar-nethsm.nft no longer contains %q", old)
		}
		conf = strings.ReplaceAll(conf, old, new)
	}
	load := exec.Command(ip, "netns", "exec", ns, nft, "-f", "-")
	load.Stdin = strings.NewReader(conf)
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("nft -f sshd/signstar-nethsm.nft: %v\n%s", err, out)
	}

	connects := func(uid, addr string, port int) bool {
		cmd := exec.Command(ip, "netns", "exec", ns, setpriv, "--reuid="+uid, "--regid="+uid, "--clear-groups",
			bash, "-c", fmt.Sprintf("exec 3<>/dev/tcp/%s/%d", addr, port))
		return cmd.Run() == nil
	}
	for _, c := range []struct {
		who, uid, addr string
		port           int
		want           bool
	}{
		{"the account, the NetHSM", account, "127.0.0.2", hsm, true},
		{"the account, another address", account, "127.0.0.3", hsm, false},
		{"the account, another port", account, "127.0.0.2", other, false},
		{"another user, another address", "0", "127.0.0.3", hsm, true},
	} {
		if got := connects(c.uid, c.addr, c.port); got != c.want {
			t.Errorf("%s (%s:%d): connected = %v, want %v", c.who, c.addr, c.port, got, c.want)
		}
	}
}

// listenIn listens on a free TCP port of every address in network
// namespace ns, accepting and closing connections until the test ends.
func listenIn(t *testing.T, ns string) int {
	t.Helper()
	l := make(chan net.Listener, 1)
	errc := make(chan error, 1)
	go func() {
		// A socket belongs to the namespace of the thread that makes it.
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		fd, err := os.Open("/run/netns/" + ns)
		if err == nil {
			err = unix.Setns(int(fd.Fd()), unix.CLONE_NEWNET)
			fd.Close()
		}
		if err != nil {
			errc <- err
			return
		}
		ln, err := net.Listen("tcp4", "0.0.0.0:0")
		if err != nil {
			errc <- err
			return
		}
		l <- ln
	}()
	select {
	case err := <-errc:
		t.Fatalf("listen in %s: %v", ns, err)
	case ln := <-l:
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		return ln.Addr().(*net.TCPAddr).Port
	}
	return 0
}

func mustRun(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}
