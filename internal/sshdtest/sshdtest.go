// Package sshdtest runs OpenSSH's own sshd on 127.0.0.1 for end-to-end
// tests, configured with signstar's shipped drop-in (sshd/50-signstar.conf)
// for a throwaway system account whose login shell is the signstar binary
// under test, or another shell with the binary as the forced command.
//
// It needs root (sshd switches to the account; the account is created with
// useradd and removed afterwards). Without root, or without sshd, a test
// is skipped, and fails where SIGNSTAR_E2E=1.
package sshdtest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"signstar/internal/testenv"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is a running sshd and the account it serves.
type Server struct {
	t      testing.TB
	User   string // the signing account
	Dir    string // world-traversable dir holding the shell, keys, config
	Binary string // the signstar binary under test, copied into Dir
	Port   int
	Key    string // the client's private key file
	log    string
	conf   string
	cmd    *exec.Cmd
}

// Binary, in Options.ForceCommand and in authorized_keys options, stands
// for the path of the signstar binary under test ([Server.Binary]).
const Binary = "@SIGNSTAR@"

// Options configure Start.
type Options struct {
	Shell string   // the signstar binary; copied into Dir and made the account's shell
	Env   []string // "NAME=value" set for the account through sshd's SetEnv
	// AccountShell, if set, is the account's shell instead of the
	// binary (say /bin/bash, with ForceCommand naming the binary).
	AccountShell string
	// ForceCommand, if set, replaces the drop-in's "ForceCommand
	// signstar" line's command ("none": no forced command).
	ForceCommand string
	// KeyOptions are authorized_keys options for the default client
	// key, after "restrict," (say command="signstar sign --key pkg").
	KeyOptions string
	// Command starts sshd; nil is exec.Command. journaltest's Command runs
	// it in a namespace with a private journald.
	Command func(name string, args ...string) *exec.Cmd
}

// Require skips (or, under SIGNSTAR_E2E=1, fails) a test that cannot run
// sshd here.
func Require(t testing.TB) {
	t.Helper()
	var missing string
	switch {
	case os.Geteuid() != 0:
		missing = "root (sshd must switch to the test account)"
	case !exists("/usr/sbin/sshd"):
		missing = "/usr/sbin/sshd (openssh-server)"
	default:
		for _, tool := range []string{"ssh", "ssh-keygen", "useradd", "userdel"} {
			if _, err := exec.LookPath(tool); err != nil {
				missing = tool
			}
		}
	}
	if missing == "" {
		return
	}
	testenv.SkipOrFatal(t, "sshd end-to-end test needs %s", missing)
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

// Start creates the account and starts sshd; both go away when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	Require(t)
	s := &Server{t: t, User: "sst" + randomHex(4)}
	s.Dir = worldDir(t)
	o.Env = s.passCoverage(o.Env)
	s.log = filepath.Join(s.Dir, "sshd.log")
	s.conf = filepath.Join(s.Dir, "sshd_config")
	s.Binary = filepath.Join(s.Dir, "signstar")
	copyFile(t, o.Shell, s.Binary, 0o755)
	shell := s.Binary
	if o.AccountShell != "" {
		shell = o.AccountShell
	}
	s.addUser(shell)
	s.Key = s.keygen("client")
	s.keygen("hostkey")
	s.authorize(s.Key+".pub", o.KeyOptions)
	if o.Command == nil {
		o.Command = exec.Command
	}
	s.start(o, o.Command)
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// worldDir makes a temp dir the account can traverse (t.TempDir is 0700).
func worldDir(t testing.TB) string {
	dir, err := os.MkdirTemp("", "signstar-sshd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// passCoverage adds GOCOVERDIR, where a coverage run sets it, to env, the
// account's SetEnv: a binary built with -cover writes its counters there
// (and without it, complains on the stderr the client reads). The account
// may not write where the test's GOCOVERDIR is, and the login shell clears
// its environment (a coverage build reads GOCOVERDIR before), so sessions
// write into a sticky world-writable directory of their own, whose files
// move to the test's GOCOVERDIR when the test ends.
func (s *Server) passCoverage(env []string) []string {
	dest := os.Getenv("GOCOVERDIR")
	if dest == "" {
		return env
	}
	dir := filepath.Join(s.Dir, "cover")
	if err := os.Mkdir(dir, 0o700); err != nil {
		s.t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777|fs.ModeSticky); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		if err := moveCoverage(dir, dest); err != nil {
			s.t.Logf("sshdtest: coverage of the sessions is lost: %v", err)
		}
	})
	return append(env[:len(env):len(env)], "GOCOVERDIR="+dir)
}

// moveCoverage moves the meta-data files dest lacks and the counter files
// from dir to dest. A session killed after lockdown leaves an empty
// counter file (see pkg/sandbox/coverage_linux.go): it stays behind.
func moveCoverage(dir, dest string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		from, to := filepath.Join(dir, name), filepath.Join(dest, name)
		fi, err := e.Info()
		switch {
		case err != nil || !fi.Mode().IsRegular() || fi.Size() == 0:
			continue
		case strings.HasPrefix(name, "covmeta.") && exists(to):
			continue
		case !strings.HasPrefix(name, "covmeta.") && !strings.HasPrefix(name, "covcounters."):
			continue
		}
		data, err := os.ReadFile(from)
		if err != nil {
			return err
		}
		// Under a name go tool covdata passes over until it is whole.
		tmp := filepath.Join(dest, "tmp."+name)
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, to); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(t testing.TB, from, to string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, mode); err != nil {
		t.Fatal(err)
	}
}

func (s *Server) run(name string, args ...string) {
	s.t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		s.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// addUser creates a system account like sshd/signstar.sysusers does. Its
// password field is "*", not "!": without PAM, sshd refuses accounts whose
// password is locked with "!".
func (s *Server) addUser(shell string) {
	s.run("useradd", "--system", "--no-create-home", "--home-dir", s.Dir,
		"--shell", shell, "--password", "*", s.User)
	s.t.Cleanup(func() {
		exec.Command("pkill", "-KILL", "-u", s.User).Run()
		exec.Command("userdel", s.User).Run()
	})
}

func (s *Server) keygen(name string) string {
	path := filepath.Join(s.Dir, name)
	s.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path)
	return path
}

// NewClientKey makes another client key, authorized for the account, and
// returns its file and SHA256 fingerprint.
func (s *Server) NewClientKey(name string) (key, fingerprint string) {
	s.t.Helper()
	return s.NewClientKeyWith(name, "")
}

// NewClientKeyWith is NewClientKey with authorized_keys options after
// "restrict," (say command="signstar sign --key pkg"); [Binary] in them
// stands for the binary's path.
func (s *Server) NewClientKeyWith(name, options string) (key, fingerprint string) {
	s.t.Helper()
	key = s.keygen(name)
	s.authorize(key+".pub", options)
	return key, s.Fingerprint(key)
}

// Fingerprint is ssh-keygen's SHA256 fingerprint of a key file.
func (s *Server) Fingerprint(key string) string {
	s.t.Helper()
	out, err := exec.Command("ssh-keygen", "-lf", key+".pub").Output()
	if err != nil {
		s.t.Fatal(err)
	}
	return strings.Fields(string(out))[1]
}

func (s *Server) authorize(pub, options string) {
	s.t.Helper()
	opts := "restrict"
	if options != "" {
		opts += "," + strings.ReplaceAll(options, Binary, s.Binary)
	}
	dir := filepath.Join(s.Dir, "authorized_keys")
	os.MkdirAll(dir, 0o755)
	line, err := os.ReadFile(pub)
	if err != nil {
		s.t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, s.User), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	defer f.Close()
	f.Write(append([]byte(opts+" "), line...))
}

// Grant gives the account what a deployment would: ownership of paths
// (the token directory, the PIN file) and the right to traverse to them.
func (s *Server) Grant(paths ...string) {
	s.t.Helper()
	for _, p := range paths {
		s.run("chown", "-R", s.User, p)
		for dir := filepath.Dir(p); dir != "/" && dir != "."; dir = filepath.Dir(dir) {
			fi, err := os.Stat(dir)
			if err != nil {
				s.t.Fatal(err)
			}
			if fi.Mode().Perm()&0o011 == 0o011 {
				continue
			}
			// Keep the sticky bit: chmod(2) with the permission bits
			// alone would clear it on /tmp, and then every path under
			// /tmp fails signstar's "may others replace it" check.
			os.Chmod(dir, fi.Mode()&(fs.ModePerm|fs.ModeSticky|fs.ModeSetgid)|0o011)
		}
	}
}

// dropIn returns the shipped drop-in adapted to this test: the account,
// the authorized keys, the environment, and the forced command if the test
// sets one. Each replaced line must exist, so a change to the drop-in
// cannot silently bypass these tests.
func (s *Server) dropIn(o Options) string {
	s.t.Helper()
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "..", "sshd", "50-signstar.conf")
	data, err := os.ReadFile(path)
	if err != nil {
		s.t.Fatal(err)
	}
	conf := string(data)
	setEnv := "SetEnv " + strings.Join(o.Env, " ")
	if len(o.Env) == 0 {
		setEnv = "# no SetEnv for this test"
	}
	replace := map[string]string{
		"Match User signer": "Match User " + s.User,
		"AuthorizedKeysFile /etc/signstar/authorized_keys/%u": "AuthorizedKeysFile " + filepath.Join(s.Dir, "authorized_keys", "%u"),
		"SetEnv SIGNSTAR_CONFIG=/etc/signstar/config.toml":    setEnv,
	}
	if o.ForceCommand != "" {
		replace["\tForceCommand signstar\n"] = "\tForceCommand " + strings.ReplaceAll(o.ForceCommand, Binary, s.Binary) + "\n"
	}
	for old, new := range replace {
		if !strings.Contains(conf, old) {
			s.t.Fatalf("%s no longer contains %q", path, old)
		}
		conf = strings.Replace(conf, old, new, 1)
	}
	return conf
}

// baseConfig is what a distribution's sshd_config provides around the
// drop-in (Debian ships the Subsystem and AcceptEnv lines), pointed at the
// temp dir. StrictModes is off because the temp dir lives under /tmp.
func (s *Server) baseConfig() string {
	return fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
PidFile %s
UsePAM no
StrictModes no
LogLevel DEBUG1
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
`, s.Port, filepath.Join(s.Dir, "hostkey"), filepath.Join(s.Dir, "sshd.pid"))
}

func (s *Server) start(o Options, command func(string, ...string) *exec.Cmd) {
	s.t.Helper()
	// sshd's privilege separation directory; Debian creates it at boot.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		s.t.Fatal(err)
	}
	for attempt := 0; attempt < 5; attempt++ {
		s.Port = freePort(s.t)
		if err := os.WriteFile(s.conf, []byte(s.baseConfig()+s.dropIn(o)), 0o644); err != nil {
			s.t.Fatal(err)
		}
		s.run("/usr/sbin/sshd", "-t", "-f", s.conf)
		s.cmd = command("/usr/sbin/sshd", "-D", "-f", s.conf, "-E", s.log)
		if err := s.cmd.Start(); err != nil {
			s.t.Fatal(err)
		}
		if s.waitListening() {
			s.t.Cleanup(func() { s.cmd.Process.Kill(); s.cmd.Wait() })
			return
		}
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
	s.t.Fatalf("sshd did not start; log:\n%s", s.Log())
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *Server) waitListening() bool {
	for i := 0; i < 100; i++ {
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)))
		if err == nil {
			c.Close()
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// Effective is what "sshd -T" prints: the configuration sshd applies to a
// connection of user from 127.0.0.1, Match blocks included, one
// "keyword value" line per setting.
func (s *Server) Effective(user string) string {
	s.t.Helper()
	out, err := exec.Command("/usr/sbin/sshd", "-T", "-f", s.conf,
		"-C", "user="+user+",host=localhost,addr=127.0.0.1").Output()
	if err != nil {
		s.t.Fatalf("sshd -T: %v", err)
	}
	return string(out)
}

// Log returns sshd's log so far.
func (s *Server) Log() string {
	data, _ := os.ReadFile(s.log)
	return string(data)
}

// Options returns the ssh options that reach this server without touching
// the user's ~/.ssh (for ssh, scp and sftp alike; the port is separate).
func (s *Server) Options(key string) []string {
	return []string{"-F", "/dev/null", "-i", key,
		"-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
		"-o", "LogLevel=ERROR"}
}

// Target is user@127.0.0.1.
func (s *Server) Target() string { return s.User + "@127.0.0.1" }

// SSH returns an ssh command for the remote command words args, with the
// default client key. Extra ssh options go in front of args via SSHWith.
func (s *Server) SSH(args ...string) *exec.Cmd { return s.SSHWith(s.Key, nil, args...) }

// SSHWith is SSH with another key and extra ssh options.
func (s *Server) SSHWith(key string, opts []string, args ...string) *exec.Cmd {
	a := append(s.Options(key), "-p", strconv.Itoa(s.Port))
	a = append(a, opts...)
	a = append(a, s.Target())
	return exec.Command("ssh", append(a, args...)...)
}

// Result is what a client saw.
type Result struct {
	Stdout, Stderr []byte
	Code           int
}

// Run runs cmd with stdin and returns its output and exit status.
func Run(t testing.TB, cmd *exec.Cmd, stdin []byte) Result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", cmd.Args, err)
	}
	return Result{out.Bytes(), errb.Bytes(), code}
}
