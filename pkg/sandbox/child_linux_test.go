//go:build linux

package sandbox

// The re-executed side of the lockdown tests: Lockdown cannot be undone, so
// every case runs in a child process started by runChild, which asserts
// how it died. A child reports on stdout, line by line.

import (
	"bufio"
	"crypto"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"signstar/pkg/modules"
	"signstar/pkg/pgp"
	"signstar/pkg/token"
)

// Environment of a child: which case, its argument, its policy (JSON),
// and the token it may use. SANDBOX_SECCOMP_LOG=1 makes the filter log
// instead of kill, to find what a path needs (dmesg shows type=1326 where
// audit is on); SANDBOX_SECCOMP_LOG=errno makes it fail with EHWPOISON.
const (
	envChild  = "SANDBOX_TEST_CHILD"
	envArg    = "SANDBOX_TEST_ARG"
	envPolicy = "SANDBOX_TEST_POLICY"
	envModule = "SANDBOX_TEST_MODULE"
	envLabel  = "SANDBOX_TEST_LABEL"
	envPIN    = "SANDBOX_TEST_PIN"
	envLog    = "SANDBOX_SECCOMP_LOG"
)

var children = map[string]func(arg string) error{
	"forbidden": childForbidden,
	"files":     childFiles,
	"sign":      childSign,
	"tcp":       childTCP,
	"wait":      childWait,
	"inherited": childInherited,
	"runtime":   childRuntime,
	"hangup":    childHangup,
	"old":       childOldKernel,
	"streams":   childStreams,
}

func TestMain(m *testing.M) {
	name, ok := os.LookupEnv(envChild)
	if !ok {
		os.Exit(m.Run())
	}
	switch os.Getenv(envLog) {
	case "1":
		defaultAction = libseccomp.ActLog
	case "errno":
		// Under strace, where audit logging is off: grep for EHWPOISON.
		defaultAction = libseccomp.ActErrno.SetReturnCode(int16(unix.EHWPOISON))
	}
	if err := startCoverage(m); err != nil {
		fmt.Fprintf(os.Stderr, "child %s: %v\n", name, err)
		os.Exit(1)
	}
	if err := children[name](os.Getenv(envArg)); err != nil {
		fmt.Fprintf(os.Stderr, "child %s: %v\n", name, err)
		exitChild(1)
	}
	exitChild(0)
}

// lockdown locks the child down with the policy the parent passed plus
// SoftHSM2's token directory, and says so on stdout.
func lockdown() error {
	var p Policy
	if err := json.Unmarshal([]byte(os.Getenv(envPolicy)), &p); err != nil {
		return fmt.Errorf("decode policy: %v", err)
	}
	dirs, err := modules.SoftHSMPaths(os.Getenv("SOFTHSM2_CONF"))
	if err != nil {
		return err
	}
	p.ReadWrite = append(p.ReadWrite, dirs...)
	p.KeepFDs = append(p.KeepFDs, coverFDs()...)
	warnings, err := Lockdown(p)
	for _, w := range warnings {
		fmt.Fprintln(os.Stderr, "warning:", w)
	}
	if err != nil {
		return err
	}
	fmt.Println("locked")
	return nil
}

// calls are system calls a locked-down signstar tries; each
// returns what the kernel answered, if it answered.
var calls = map[string]func() error{
	"execve": func() error { return unix.Exec("/bin/sh", []string{"sh", "-c", "true"}, nil) },
	"execveat": func() error {
		return errno(unix.Syscall6(unix.SYS_EXECVEAT, atFDCWD, ptr("/bin/sh"), 0, 0, 0, 0))
	},
	"ptrace":           func() error { return unix.PtraceAttach(os.Getppid()) },
	"process_vm_readv": processVMReadv,
	"mount":            func() error { return unix.Mount("tmpfs", "/mnt", "tmpfs", 0, "") },
	"bpf":              func() error { return errno(unix.Syscall(unix.SYS_BPF, 0, 0, 0)) },
	"keyctl":           func() error { return errno(unix.Syscall(unix.SYS_KEYCTL, 0, 0, 0)) },
	"unshare":          func() error { return unix.Unshare(unix.CLONE_NEWUSER) },
	"memfd_create":     func() error { _, err := unix.MemfdCreate("x", 0); return err },
	"truncate":         func() error { return unix.Truncate("/etc/passwd", 0) },
	"kill parent":      func() error { return unix.Kill(os.Getppid(), 0) },
	"socket AF_INET":   func() error { return socket(unix.AF_INET, unix.SOCK_STREAM, 0) },
	"socket AF_INET6":  func() error { return socket(unix.AF_INET6, unix.SOCK_STREAM, 0) },
	"socket AF_INET UDP": func() error {
		return socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	},
	"socket AF_INET MPTCP":  func() error { return socket(unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_MPTCP) },
	"socket AF_UNIX stream": func() error { return socket(unix.AF_UNIX, unix.SOCK_STREAM, 0) },
	"socket AF_NETLINK":     func() error { return socket(unix.AF_NETLINK, unix.SOCK_RAW, 0) },
	"socket AF_UNIX dgram":  func() error { return socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0) },
	"syslog connect": func() error {
		// glibc's syslog(3), as SoftHSM2 calls it on an error after
		// lockdown: a datagram socket connected to /dev/log.
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Connect(fd, &unix.SockaddrUnix{Name: "/dev/log"})
	},
	"clone3": func() error { return errno(unix.Syscall(unix.SYS_CLONE3, 0, 0, 0)) },
	"socketpair": func() error {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		if err == nil {
			unix.Close(fds[0])
			unix.Close(fds[1])
		}
		return err
	},
	// GLib's log writer, before a tpm2-pkcs11 warning: is stderr a
	// terminal, is it journald's socket?
	"ioctl TCGETS": func() error { _, err := unix.IoctlGetTermios(2, unix.TCGETS); return err },
	"getpeername": func() error {
		// On a socket, not on stderr (a pipe): the kernel answers
		// ENOTCONN, so ENOTSOCK is the filter's answer.
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		_, err = unix.Getpeername(fd)
		return err
	},
}

func childForbidden(name string) error {
	call, ok := calls[name]
	if !ok {
		return fmt.Errorf("no forbidden call %q", name)
	}
	if err := lockdown(); err != nil {
		return err
	}
	fmt.Printf("returned: %s\n", errName(call()))
	return nil
}

func processVMReadv() error {
	b := make([]byte, 8)
	local := []unix.Iovec{{Base: &b[0], Len: 8}}
	remote := []unix.RemoteIovec{{Base: uintptr(unsafe.Pointer(&b[0])), Len: 8}}
	_, err := unix.ProcessVMReadv(os.Getppid(), local, remote, 0)
	return err
}

// atFDCWD is AT_FDCWD (-100) as a system call argument.
var atFDCWD = func() uintptr { fd := unix.AT_FDCWD; return uintptr(fd) }()

func socket(family, typ, proto int) error {
	fd, err := unix.Socket(family, typ, proto)
	if err == nil {
		unix.Close(fd)
	}
	return err
}

func errno(_, _ uintptr, e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

func ptr(s string) uintptr {
	p, err := unix.BytePtrFromString(s)
	if err != nil {
		panic(err)
	}
	return uintptr(unsafe.Pointer(p))
}

// errName names an error by its errno, "ok" for none.
func errName(err error) string {
	var e syscall.Errno
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &e):
		return unix.ErrnoName(e)
	}
	return err.Error()
}

// childFiles tries file accesses the policy does not grant, and one it
// does, and prints "name: errno" for each.
func childFiles(dir string) error {
	existing := dir + "/existing"
	if err := os.WriteFile(existing, []byte("x"), 0o600); err != nil {
		return err
	}
	tokens, err := modules.SoftHSMPaths(os.Getenv("SOFTHSM2_CONF"))
	if err != nil {
		return err
	}
	if err := lockdown(); err != nil {
		return err
	}
	tries := []struct {
		name string
		do   func() error
	}{
		{"read /etc/passwd", func() error { _, err := os.ReadFile("/etc/passwd"); return err }},
		{"create new file", func() error { return os.WriteFile(dir+"/new", []byte("x"), 0o600) }},
		{"write existing file", func() error { return os.WriteFile(existing, []byte("y"), 0o600) }},
		{"read existing file", func() error { _, err := os.ReadFile(existing); return err }},
		{"list /", func() error { _, err := os.ReadDir("/"); return err }},
		{"list token dir", func() error { _, err := os.ReadDir(tokens[0]); return err }},
		{"create in token dir", func() error { return os.WriteFile(tokens[0]+"/new", []byte("x"), 0o600) }},
	}
	for _, tr := range tries {
		fmt.Printf("%s: %s\n", tr.name, errName(tr.do()))
	}
	return nil
}

// childSign does what signstar's login shell does: token, key and
// certificate first, then lockdown, then it signs standard input, writes
// an audit record to a unixgram socket and an append-only file and
// finalizes the token. Stdout gets the certificate, the signature, and the
// state of a descriptor opened before lockdown that nothing keeps.
func childSign(typ string) error {
	tok, err := token.Open(token.Options{Module: os.Getenv(envModule), Label: os.Getenv(envLabel), PIN: os.Getenv(envPIN)})
	if err != nil {
		return err
	}
	key, err := tok.Generate([]byte{1}, "sandbox", token.KeyType(typ))
	if err != nil {
		return err
	}
	h := crypto.SHA512
	if typ == string(token.P256) {
		h = crypto.SHA256
	}
	cert, err := pgp.NewCertificate(key, "sandbox test <sandbox@example.org>", time.Now(), time.Time{}, h)
	if err != nil {
		return err
	}
	signer, err := pgp.NewSigner(cert, key, h)
	if err != nil {
		return err
	}
	if err := cert.WriteArmored(os.Stdout); err != nil {
		return err
	}
	sink, err := openSinks()
	if err != nil {
		return err
	}
	leak, err := os.Open("/etc/hostname")
	if err != nil {
		return err
	}
	if err := lockdown(); err != nil {
		return err
	}
	d, err := signer.Sign(os.Stdout, os.Stdin, pgp.Options{Armor: true})
	if err != nil {
		return err
	}
	if err := sink.write(fmt.Sprintf("SIGNSTAR_SIZE=%d\n", d.Size)); err != nil {
		return err
	}
	_, err = unix.FcntlInt(leak.Fd(), unix.F_GETFD, 0)
	fmt.Printf("\nleaked descriptor: %s\n", errName(err))
	return tok.Close()
}

// sinks stand for package audit's: a unixgram socket connected before
// lockdown (journald), and a file opened for appending.
type sinks struct {
	sock int
	file *os.File
}

func openSinks() (*sinks, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: os.Getenv("SANDBOX_TEST_SOCKET")}); err != nil {
		return nil, fmt.Errorf("connect audit socket: %v", err)
	}
	f, err := os.OpenFile(os.Getenv("SANDBOX_TEST_AUDIT"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	return &sinks{sock: fd, file: f}, nil
}

func (s *sinks) write(rec string) error {
	if _, err := unix.SendmsgN(s.sock, []byte(rec), nil, nil, 0); err != nil {
		return fmt.Errorf("send audit datagram: %v", err)
	}
	if _, err := s.file.WriteString(rec); err != nil {
		return err
	}
	return s.file.Sync()
}

// childTCP dials each port of arg ("allowed,denied") after lockdown.
func childTCP(arg string) error {
	if err := lockdown(); err != nil {
		return err
	}
	for _, port := range strings.Split(arg, ",") {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", port), 10*time.Second)
		if err == nil {
			c.Close()
		}
		fmt.Printf("dial %s: %s\n", port, errName(err))
	}
	return nil
}

// childWait locks down and waits for stdin to close, so that the parent
// can read /proc/PID/task/*/status of every thread meanwhile.
func childWait(string) error {
	if err := lockdown(); err != nil {
		return err
	}
	_, err := io.Copy(io.Discard, os.Stdin)
	return err
}

// childRuntime works the Go runtime after lockdown: new threads (cgo
// binaries start them with pthread_create, which tries clone3 first),
// threads that exit, garbage collection returning memory, timers.
func childRuntime(string) error {
	if err := lockdown(); err != nil {
		return err
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A goroutine that ends locked to its thread takes the thread
			// with it, so the next one needs a new thread.
			runtime.LockOSThread()
			time.Sleep(5 * time.Millisecond)
		}()
	}
	wg.Wait()
	garbage := make([][]byte, 0, 64)
	for i := 0; i < 64; i++ {
		garbage = append(garbage, make([]byte, 1<<20))
	}
	garbage = nil
	runtime.GC()
	debug.FreeOSMemory()
	busy(2500 * time.Millisecond)
	fmt.Println("threads, memory and timers work")
	return nil
}

// childHangup writes to a stdout the parent has closed, once stdin ends,
// as signstar does when the SSH client goes away: Go's runtime then dies
// of SIGPIPE, and must not be killed for how it does so.
func childHangup(string) error {
	if err := lockdown(); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
		return err
	}
	for {
		if _, err := os.Stdout.WriteString("into the void\n"); err != nil {
			return err
		}
	}
}

// childStreams talks over an AF_UNIX socket pair made before lockdown, as
// tpm2-pkcs11's TCTI does over the socket tpm2-abrmd passed it, and says
// how that went.
func childStreams(string) error {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if err := lockdown(); err != nil {
		return err
	}
	fmt.Printf("talk: %s\n", errName(talk(fds[0], fds[1])))
	return nil
}

// talk sends a command one way and an answer back with the calls
// seccomp.Streams lists: sendto, poll, recvfrom and recvmsg.
func talk(a, b int) error {
	if err := unix.Sendto(a, []byte("command"), unix.MSG_NOSIGNAL, nil); err != nil {
		return err
	}
	if err := poll(b); err != nil {
		return err
	}
	buf := make([]byte, 16)
	if n, _, err := unix.Recvfrom(b, buf, 0); err != nil || string(buf[:n]) != "command" {
		return fmt.Errorf("recvfrom: %q, %v", buf[:n], err)
	}
	if err := unix.Sendto(b, []byte("answer"), unix.MSG_NOSIGNAL, nil); err != nil {
		return err
	}
	if n, _, _, _, err := unix.Recvmsg(a, buf, nil, 0); err != nil || string(buf[:n]) != "answer" {
		return fmt.Errorf("recvmsg: %q, %v", buf[:n], err)
	}
	return nil
}

// poll waits for fd to be readable as glibc's poll(3) does: with the poll
// system call where there is one (amd64), else with ppoll (arm64), which
// is all golang.org/x/sys's unix.Poll uses.
func poll(fd int) error {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	nr, err := libseccomp.GetSyscallFromName("poll")
	if err != nil || nr < 0 {
		_, err := unix.Poll(fds, 10000)
		return err
	}
	return errno(unix.Syscall(uintptr(nr), uintptr(unsafe.Pointer(&fds[0])), 1, 10000))
}

// childOldKernel locks down as if the kernel had Landlock ABI 3, too old
// for the TCP ports the parent's policy lists.
func childOldKernel(string) error {
	landlockABI = func() (int, error) { return 3, nil }
	return lockdown()
}

// busy hashes for d: while the process runs, sysmon rereads the cgroup CPU
// limit every second (Go 1.25+), as it does while signstar hashes a large
// input.
func busy(d time.Duration) {
	h := sha256.New()
	buf := make([]byte, 1<<16)
	for end := time.Now().Add(d); time.Now().Before(end); {
		h.Write(buf)
	}
}

// childInherited closes inherited descriptors (the parent passes fd 3)
// and checks that its own survive and the runtime still polls and sleeps.
func childInherited(string) error {
	own, err := os.Open("/proc/self/status")
	if err != nil {
		return err
	}
	if err := CloseInherited(); err != nil {
		return err
	}
	_, err = unix.FcntlInt(3, unix.F_GETFD, 0)
	fmt.Printf("inherited descriptor 3: %s\n", errName(err))
	_, err = unix.FcntlInt(own.Fd(), unix.F_GETFD, 0)
	fmt.Printf("own descriptor: %s\n", errName(err))
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	go func() {
		time.Sleep(10 * time.Millisecond)
		w.WriteString("through the poller\n")
		w.Close()
	}()
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		return err
	}
	fmt.Print(line)
	return nil
}
