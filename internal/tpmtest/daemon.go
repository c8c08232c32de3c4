package tpmtest

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stopTimeout is how long a daemon has to exit after SIGTERM before it is
// killed.
const stopTimeout = 5 * time.Second

// daemon is a long-running child process of the test.
type daemon struct {
	name string
	cmd  *exec.Cmd
	log  string        // its standard output and error
	done chan struct{} // closed once it has exited and been reaped
}

// startDaemon starts cmd in dir with its output in dir/name.log, and stops
// it when the test ends. The process gets SIGKILL if the test binary dies
// first (see [sysProcAttr]).
func startDaemon(t testing.TB, name, dir string, cmd *exec.Cmd) *daemon {
	t.Helper()
	d := &daemon{name: name, cmd: cmd, log: filepath.Join(dir, name+".log"), done: make(chan struct{})}
	f, err := os.OpenFile(d.log, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() // the child has its own copy
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, f, f
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(d.stop)
	return d
}

// stop sends SIGTERM, then SIGKILL after stopTimeout, and waits until the
// process has been reaped.
func (d *daemon) stop() {
	if d.exited() {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(stopTimeout):
		d.cmd.Process.Kill()
		<-d.done
	}
}

func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// logs returns the daemon's output, for failure messages.
func (d *daemon) logs() string {
	b, err := os.ReadFile(d.log)
	if err != nil {
		return fmt.Sprintf("(%s log: %v)", d.name, err)
	}
	return fmt.Sprintf("--- %s log:\n%s", d.name, b)
}

// startSWTPM starts swtpm on two adjacent loopback ports, the first of
// which, returned, is the TPM command port, and returns once swtpm listens
// on both.
//
// swtpm takes the control channel's socket from startSWTPM, already
// listening, but binds the command port itself: given a descriptor there
// it reads from it as a connection, not a listener. So another process may
// take that port between startSWTPM's close and swtpm's bind (an outgoing
// connection's ephemeral port, say); swtpm then exits and startSWTPM tries
// another pair.
func startSWTPM(t testing.TB, swtpm, dir string) (d *daemon, port int) {
	t.Helper()
	if err := os.Mkdir(filepath.Join(dir, "state"), 0o700); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if d, port = tryStartSWTPM(t, swtpm, dir); port != 0 {
			return d, port
		}
	}
	t.Fatalf("start swtpm: exited three times: %v\n%s", d.cmd.ProcessState, d.logs())
	return nil, 0
}

// tryStartSWTPM returns swtpm and its command port, or 0 if it exited
// before it listened.
func tryStartSWTPM(t testing.TB, swtpm, dir string) (*daemon, int) {
	t.Helper()
	server, ctrl, err := listenPair()
	if err != nil {
		t.Fatalf("listen on two adjacent ports on 127.0.0.1: %v", err)
	}
	defer ctrl.Close()
	port := server.Addr().(*net.TCPAddr).Port
	server.Close()
	ctrlFile, err := ctrl.File()
	if err != nil {
		t.Fatal(err)
	}
	defer ctrlFile.Close()
	// swtpm writes its pid file once it listens on both ports.
	pidFile := filepath.Join(dir, "swtpm.pid")
	os.Remove(pidFile) // from an earlier try
	// Paths are relative to dir, swtpm's working directory: swtpm's option
	// syntax has no escape for a ',' in a path. not-need-init and
	// startup-clear make the TPM usable without a TPM2_Startup from its
	// first client.
	cmd := exec.Command(swtpm, "socket", "--tpm2",
		"--tpmstate", "dir=state",
		"--server", "type=tcp,bindaddr=127.0.0.1,port="+strconv.Itoa(port),
		"--ctrl", "type=tcp,fd=3",
		"--pid", "file=swtpm.pid",
		"--flags", "not-need-init,startup-clear")
	cmd.ExtraFiles = []*os.File{ctrlFile}
	d := startDaemon(t, "swtpm", dir, cmd)
	for deadline := time.Now().Add(readyTimeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if d.exited() {
			return d, 0
		}
		if _, err := os.Stat(pidFile); err == nil {
			return d, port
		}
	}
	t.Fatalf("start swtpm: no pid file after %v\n%s", readyTimeout, d.logs())
	return nil, 0
}

// listenPair listens on two adjacent TCP ports on 127.0.0.1: the swtpm
// TCTI finds the control channel at the command port + 1.
func listenPair() (server, ctrl *net.TCPListener, err error) {
	var tried []*net.TCPListener // kept open so that no port comes up twice
	defer func() {
		for _, l := range tried {
			l.Close()
		}
	}()
	for range 100 {
		l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return nil, nil, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		if port < 65535 {
			next, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port + 1})
			if err == nil {
				return l, next, nil
			}
		}
		tried = append(tried, l)
	}
	return nil, nil, fmt.Errorf("no free pair among %d ports", len(tried))
}

// busConfig configures a bus for tpm2-abrmd and its clients alone: anyone
// who may connect may own and call any name, and there are no service
// directories, so the bus never starts a service itself. Any user may
// connect (<allow user="*"/>), so that a signing account can reach the
// TPM (see [TPM.Share]); what stops others is the socket's place in the
// test's 0700 temporary directory. %s is the <listen> address,
// XML-escaped.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// startBus starts a D-Bus bus listening on address, and returns once it
// accepts connections.
func startBus(t testing.TB, dbusDaemon, dir, address string) {
	t.Helper()
	var listen strings.Builder
	xml.EscapeText(&listen, []byte(address)) // a strings.Builder does not fail
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, busConfig, listen.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	// dbus-daemon prints its address on fd 3 once it listens.
	cmd := exec.Command(dbusDaemon, "--config-file="+conf, "--nofork", "--print-address=3")
	cmd.ExtraFiles = []*os.File{w}
	d := startDaemon(t, "dbus-daemon", dir, cmd)
	w.Close() // so that the read below ends if dbus-daemon exits
	r.SetReadDeadline(time.Now().Add(readyTimeout))
	if _, err := bufio.NewReader(r).ReadString('\n'); err != nil {
		t.Fatalf("start dbus-daemon: no address printed: %v\n%s", err, d.logs())
	}
}

// busAddress returns the D-Bus address of the unix socket path, with the
// bytes the address syntax reserves escaped (D-Bus Specification, "Server
// Addresses"): a temporary directory's name may hold ',' or '='.
func busAddress(path string) string {
	var b strings.Builder
	b.WriteString("unix:path=")
	for _, c := range []byte(path) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("-_/.\\*", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02x", c)
		}
	}
	return b.String()
}

// startABRMD starts tpm2-abrmd on the session bus that env names, talking
// to swtpm on port. It claims the bus name com.intel.tss2.Tabrmd, which the
// tabrmd TCTI looks for; --flush-all leaves no objects from an earlier run
// in the TPM, and --allow-root lets it run as root, which it otherwise
// refuses.
func startABRMD(t testing.TB, abrmd, dir string, env []string, port int) *daemon {
	t.Helper()
	cmd := exec.Command(abrmd, "--session", "--allow-root", "--flush-all",
		"--tcti=swtpm:host=127.0.0.1,port="+strconv.Itoa(port))
	cmd.Env = append(os.Environ(), env...)
	return startDaemon(t, "tpm2-abrmd", dir, cmd)
}
