package main

// The bench fixture: a throwaway SoftHSM2 token with an Ed25519 and an
// RSA-3072 key, a GnuPG home with the same key types in software, input
// files, and OpenSSH's sshd on 127.0.0.1 for a throwaway account whose
// login shell is signstar, set up as internal/sshdtest does for the tests.

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"signstar/pkg/config"
)

// moduleCandidates: where distributions install libsofthsm2.so (as in
// pkg/token/tokentest).
var moduleCandidates = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib64/pkcs11/libsofthsm2.so",
	"/usr/lib/pkcs11/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
}

const pin = "123456"

type fixture struct {
	dir      string // world-traversable work dir
	signstar string // the binary under test, copied into dir (also the login shell)
	baseline string // an older signstar for section 1 (SIGNSTAR_BENCH_BASELINE), copied into dir; "" for none
	module   string
	hsmConf  string
	cliConf  string            // config for root's CLI runs
	acctConf string            // config for the account (login shell, CLI as the account)
	logConf  string            // cliConf with a transparency log ([log], key tlog)
	ids      map[string]string // key name -> CKA_ID hex
	gpgHome  string
	gpgFpr   map[string]string // key name -> fingerprint
	inputs   map[string]string // size label -> file

	// the account and its sshd
	user      string
	uid, gid  uint32
	clientKey string
	port      int
	sshd      *exec.Cmd
	sshdLog   string
	masters   []*exec.Cmd
	cleanups  []func()
}

func (f *fixture) cleanup() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	f.cleanups = nil
}

func (f *fixture) onCleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }

// sh runs a setup command and fails with its output.
func sh(env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func newFixture(signstar, tmp string) (*fixture, error) {
	f := &fixture{ids: map[string]string{}, gpgFpr: map[string]string{}, inputs: map[string]string{}}
	dir, err := os.MkdirTemp(tmp, "signstar-bench-")
	if err != nil {
		return nil, err
	}
	f.dir = dir
	f.onCleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		return f, err
	}
	f.signstar = filepath.Join(dir, "signstar")
	if err := copyFile(signstar, f.signstar, 0o755); err != nil {
		return f, err
	}
	if b := os.Getenv("SIGNSTAR_BENCH_BASELINE"); b != "" {
		f.baseline = filepath.Join(dir, "signstar-baseline")
		if err := copyFile(b, f.baseline, 0o755); err != nil {
			return f, err
		}
	}
	for _, m := range moduleCandidates {
		if _, err := os.Stat(m); err == nil {
			f.module = m
			break
		}
	}
	if f.module == "" {
		return f, fmt.Errorf("libsofthsm2.so not found (install softhsm2)")
	}
	return f, nil
}

func copyFile(from, to string, mode os.FileMode) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, mode)
}

func (f *fixture) path(name string) string { return filepath.Join(f.dir, name) }

// env is what every signstar and pkcs11-tool run gets.
func (f *fixture) env(conf string) []string {
	return []string{"SOFTHSM2_CONF=" + f.hsmConf, "SIGNSTAR_CONFIG=" + conf}
}

// token makes the SoftHSM2 token, the root config, and one key of each
// type through the signstar CLI, as scripts/demo does.
func (f *fixture) token() error {
	tokens := f.path("tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		return err
	}
	f.hsmConf = f.path("softhsm2.conf")
	conf := "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\n"
	if err := os.WriteFile(f.hsmConf, []byte(conf), 0o644); err != nil {
		return err
	}
	env := f.env(f.path("cli.toml"))
	if _, err := sh(env, "softhsm2-util", "--init-token", "--free", "--label", "bench", "--pin", pin, "--so-pin", "12345678"); err != nil {
		return err
	}
	if err := os.WriteFile(f.path("pin"), []byte(pin+"\n"), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(f.path("audit.jsonl"), nil, 0o600); err != nil {
		return err
	}
	f.cliConf = f.path("cli.toml")
	if _, err := sh(env, f.signstar, "init", "--module", f.module, "--token", "bench",
		"--pin-file", f.path("pin"), "--lock-file", f.path("token.lock"),
		"--audit", "file:"+f.path("audit.jsonl")); err != nil {
		return err
	}
	for _, k := range []struct{ name, typ string }{{"ed25519", "ed25519"}, {"rsa3072", "rsa3072"}, {"tlog", "ed25519"}} {
		if _, err := sh(env, f.signstar, "key", "generate", "--name", k.name, "--type", k.typ, "--uid", "signstar bench <bench@example.invalid>"); err != nil {
			return err
		}
	}
	cfg, err := config.Load(f.cliConf)
	if err != nil {
		return err
	}
	for name, k := range cfg.Keys {
		f.ids[name] = k.ID
	}
	return f.logConfig()
}

// logConfig writes logConf: the CLI's config with a transparency log whose
// checkpoints the key tlog signs (issue 18), so section 1 can show what
// the append before release costs a signature.
func (f *fixture) logConfig() error {
	cli, err := os.ReadFile(f.cliConf)
	if err != nil {
		return err
	}
	f.logConf = f.path("log.toml")
	conf := fmt.Sprintf("%s\n[log]\nkey = \"tlog\"\ndir = %q\norigin = \"bench/log\"\n", cli, f.path("log"))
	return os.WriteFile(f.logConf, []byte(conf), 0o644)
}

// gpg makes a GnuPG home with passphrase-less Ed25519 and RSA-3072 keys
// and warms its agent by signing once with each.
func (f *fixture) gpg() error {
	f.gpgHome = f.path("gnupg")
	if err := os.Mkdir(f.gpgHome, 0o700); err != nil {
		return err
	}
	env := []string{"GNUPGHOME=" + f.gpgHome}
	f.onCleanup(func() { sh(env, "gpgconf", "--kill", "gpg-agent") })
	created := regexp.MustCompile(`KEY_CREATED P ([0-9A-F]{40})`)
	for _, k := range []struct{ name, algo string }{{"ed25519", "ed25519"}, {"rsa3072", "rsa3072"}} {
		out, err := sh(env, "gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
			"--status-fd", "1", "--quick-gen-key", "gpg bench "+k.name+" <"+k.name+"@example.invalid>", k.algo, "sign", "never")
		if err != nil {
			return err
		}
		m := created.FindStringSubmatch(out)
		if m == nil {
			return fmt.Errorf("gpg --quick-gen-key %s: no KEY_CREATED in %q", k.algo, out)
		}
		f.gpgFpr[k.name] = m[1]
		if _, err := run(f.gpgSign(k.name, f.inputs["1KiB"], os.DevNull), time.Minute); err != nil {
			return err
		}
	}
	return nil
}

func (f *fixture) gpgSign(key, in, out string) spec {
	return spec{
		label: "gpg --detach-sign (" + key + ")",
		argv: []string{"gpg", "--batch", "--yes", "--no-tty", "--digest-algo", "SHA512",
			"--local-user", f.gpgFpr[key] + "!", "--detach-sign"},
		env:   []string{"GNUPGHOME=" + f.gpgHome},
		stdin: in, stdout: out,
	}
}

// input writes size bytes of pseudo-random data (incompressible, so no
// transport can shortcut it).
func (f *fixture) input(label string, size int64) error {
	p := f.path("in-" + label)
	fh, err := os.Create(p)
	if err != nil {
		return err
	}
	defer fh.Close()
	var seed [32]byte
	rand.Read(seed[:])
	if _, err := io.CopyN(fh, mrand.NewChaCha8(seed), size); err != nil {
		return err
	}
	if err := os.Chmod(p, 0o644); err != nil {
		return err
	}
	f.inputs[label] = p
	return nil
}

// account creates the throwaway signing account, its config, and hands it
// the token, as a deployment would (README, Deploying).
func (f *fixture) account() error {
	b := make([]byte, 4)
	rand.Read(b)
	f.user = "ssb" + hex.EncodeToString(b)
	if _, err := sh(nil, "useradd", "--system", "--no-create-home", "--home-dir", f.dir,
		"--shell", f.signstar, "--password", "*", f.user); err != nil {
		return err
	}
	f.onCleanup(func() {
		for i := 0; i < 50; i++ { // sessions may still be exiting
			if _, err := sh(nil, "userdel", f.user); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		fmt.Fprintf(os.Stderr, "signstar-bench: could not remove account %s\n", f.user)
	})
	u, err := user.Lookup(f.user)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	f.uid, f.gid = uint32(uid), uint32(gid)
	cli, err := os.ReadFile(f.cliConf)
	if err != nil {
		return err
	}
	acct := strings.NewReplacer(
		f.path("pin"), f.path("pin-account"),
		"file:"+f.path("audit.jsonl"), "file:"+f.path("audit-account.jsonl"),
	).Replace(string(cli))
	f.acctConf = f.path("account.toml")
	if err := os.WriteFile(f.acctConf, []byte(acct), 0o644); err != nil {
		return err
	}
	for _, file := range []string{"pin-account", "audit-account.jsonl"} {
		data := []byte(nil)
		if file == "pin-account" {
			data = []byte(pin + "\n")
		}
		if err := os.WriteFile(f.path(file), data, 0o600); err != nil {
			return err
		}
	}
	return f.grant()
}

// grant shares the token directory and its lock file with the account
// through the account's group, and gives it its PIN and audit file. The
// token files stay root's: root's CLI runs have dropped CAP_DAC_OVERRIDE
// by the time SoftHSM2 touches them again after lockdown.
func (f *fixture) grant() error {
	for _, p := range []string{"tokens", "token.lock"} {
		if _, err := sh(nil, "chgrp", "-R", strconv.Itoa(int(f.gid)), f.path(p)); err != nil {
			return err
		}
		if _, err := sh(nil, "chmod", "-R", "g+rwX", f.path(p)); err != nil {
			return err
		}
	}
	for _, p := range []string{"pin-account", "audit-account.jsonl"} {
		if _, err := sh(nil, "chown", f.user+":", f.path(p)); err != nil {
			return err
		}
	}
	return nil
}

func (f *fixture) asAccount() *syscall.Credential {
	return &syscall.Credential{Uid: f.uid, Gid: f.gid, NoSetGroups: false, Groups: []uint32{}}
}

// startSSHD runs sshd on 127.0.0.1 with the shipped drop-in adapted to the
// account, as internal/sshdtest does, logging at INFO (the default).
func (f *fixture) startSSHD(repo string) error {
	f.clientKey = f.path("client")
	for _, k := range []string{"client", "hostkey"} {
		if _, err := sh(nil, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", k, "-f", f.path(k)); err != nil {
			return err
		}
	}
	pub, err := os.ReadFile(f.clientKey + ".pub")
	if err != nil {
		return err
	}
	akDir := f.path("authorized_keys")
	os.Mkdir(akDir, 0o755)
	if err := os.WriteFile(filepath.Join(akDir, f.user), append([]byte("restrict "), pub...), 0o644); err != nil {
		return err
	}
	dropIn, err := os.ReadFile(filepath.Join(repo, "sshd", "50-signstar.conf"))
	if err != nil {
		return err
	}
	conf := string(dropIn)
	for old, new := range map[string]string{
		"Match User signer": "Match User " + f.user,
		"AuthorizedKeysFile /etc/signstar/authorized_keys/%u": "AuthorizedKeysFile " + filepath.Join(akDir, "%u"),
		"SetEnv SIGNSTAR_CONFIG=/etc/signstar/config.toml":    "SetEnv SIGNSTAR_CONFIG=" + f.acctConf + " SOFTHSM2_CONF=" + f.hsmConf,
	} {
		if !strings.Contains(conf, old) {
			return fmt.Errorf("sshd/50-signstar.conf no longer contains %q", old)
		}
		conf = strings.Replace(conf, old, new, 1)
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return err
	}
	f.sshdLog = f.path("sshd.log")
	for attempt := 0; attempt < 5; attempt++ {
		f.port, err = freePort()
		if err != nil {
			return err
		}
		base := fmt.Sprintf("Port %d\nListenAddress 127.0.0.1\nHostKey %s\nPidFile %s\nUsePAM no\nStrictModes no\nAcceptEnv LANG LC_*\n",
			f.port, f.path("hostkey"), f.path("sshd.pid"))
		cfgPath := f.path("sshd_config")
		if err := os.WriteFile(cfgPath, []byte(base+conf), 0o644); err != nil {
			return err
		}
		if _, err := sh(nil, "/usr/sbin/sshd", "-t", "-f", cfgPath); err != nil {
			return err
		}
		cmd := exec.Command("/usr/sbin/sshd", "-D", "-f", cfgPath, "-E", f.sshdLog)
		if err := cmd.Start(); err != nil {
			return err
		}
		if listening(f.port) {
			f.sshd = cmd
			f.onCleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			return nil
		}
		cmd.Process.Kill()
		cmd.Wait()
	}
	return fmt.Errorf("sshd did not start; see %s", f.sshdLog)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func listening(port int) bool {
	for i := 0; i < 100; i++ {
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			c.Close()
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// sshOptions reach the bench sshd without touching ~/.ssh (as
// sshdtest.Server.Options).
func (f *fixture) sshOptions() []string {
	return []string{"-F", "/dev/null", "-i", f.clientKey,
		"-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
		"-o", "LogLevel=ERROR", "-p", strconv.Itoa(f.port)}
}

func (f *fixture) target() string { return f.user + "@127.0.0.1" }

// ssh is the argv of 'ssh [extra] target words...'.
func (f *fixture) ssh(extra []string, words ...string) []string {
	a := append([]string{"ssh"}, f.sshOptions()...)
	a = append(a, extra...)
	a = append(a, f.target())
	return append(a, words...)
}

// startMaster starts a ControlMaster connection on socket sock and waits
// until it accepts sessions.
func (f *fixture) startMaster(sock string) error {
	cmd := exec.Command("ssh", f.ssh([]string{"-N", "-o", "ControlMaster=yes", "-o", "ControlPath=" + sock, "-o", "ControlPersist=no"})[1:]...)
	if err := cmd.Start(); err != nil {
		return err
	}
	f.masters = append(f.masters, cmd)
	for i := 0; i < 200; i++ {
		check := exec.Command("ssh", f.ssh([]string{"-o", "ControlPath=" + sock, "-O", "check"})[1:]...)
		if check.Run() == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("ControlMaster on %s did not come up", sock)
}

// stopMasters ends the ControlMaster connections this harness started.
func (f *fixture) stopMasters() {
	for _, m := range f.masters {
		m.Process.Signal(syscall.SIGTERM)
		m.Wait()
	}
	f.masters = nil
}
