package host

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// unlocked is the password field apply gives an account: no password can
// match it, so nobody logs in with one, but unlike "!" (and systemd-
// sysusers' "!*") it does not mark the account locked. Without PAM
// (UsePAM no) sshd refuses a locked account even for key authentication:
// OpenSSH's auth.c allowed_user() "check for locked account" rejects a
// shadow field that starts with LOCKED_PASSWD_PREFIX, "!" on Linux. With
// UsePAM yes (Debian's default) that check is skipped and PAM's account
// stage decides; "*" serves both.
const unlocked = "*"

// gecos is the accounts' comment field.
const gecos = "signstar signing account"

// account is one line of passwd, its password field taken from shadow.
type account struct {
	uid, gid    int
	pw          string
	home, shell string
}

func defaultAccountTool() string {
	if _, err := exec.LookPath("systemd-sysusers"); err == nil {
		return "systemd-sysusers"
	}
	return "useradd"
}

// readAccounts reads Root's passwd and, where it exists, shadow.
func (o Options) readAccounts() (map[string]account, error) {
	m := map[string]account{}
	err := readColon(o.path("/etc/passwd"), 7, func(f []string) {
		uid, err1 := strconv.Atoi(f[2])
		gid, err2 := strconv.Atoi(f[3])
		if err1 == nil && err2 == nil {
			m[f[0]] = account{uid: uid, gid: gid, pw: f[1], home: f[5], shell: f[6]}
		}
	})
	if err != nil {
		return nil, err
	}
	err = readColon(o.path("/etc/shadow"), 2, func(f []string) {
		if a, ok := m[f[0]]; ok {
			a.pw = f[1]
			m[f[0]] = a
		}
	})
	return m, err
}

// readColon calls line for each line of a passwd(5)-style file with at
// least n fields; a missing file has no lines.
func readColon(path string, n int, line func([]string)) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read accounts: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if f := strings.Split(sc.Text(), ":"); len(f) >= n {
			line(f)
		}
	}
	return sc.Err()
}

func (o Options) compareAccount(name string, a *Account, shell string, cur map[string]account) []Change {
	c, ok := cur[name]
	if !ok {
		return []Change{{
			Desc: fmt.Sprintf("create account %s (%s): home %s, shell %s, password field %q", name, o.AccountTool, a.Home, shell, unlocked),
			do:   func() error { return o.createAccount(name, a.Home, shell) },
		}}
	}
	var ch []Change
	if c.shell != shell {
		ch = append(ch, o.usermod(fmt.Sprintf("set the shell of account %s to %s (is %s)", name, shell, c.shell), name, "--shell", shell))
	}
	if c.home != a.Home {
		ch = append(ch, o.usermod(fmt.Sprintf("set the home of account %s to %s (is %s)", name, a.Home, c.home), name, "--home", a.Home))
	}
	if c.pw != unlocked {
		ch = append(ch, o.usermod(fmt.Sprintf("set the password field of account %s to %q (is %s)", name, unlocked, describePassword(c.pw)), name, "--password", unlocked))
	}
	return ch
}

// describePassword says what kind of password field an account has,
// without printing a hash.
func describePassword(pw string) string {
	switch {
	case pw == "":
		return "empty"
	case strings.HasPrefix(pw, "!"):
		return "locked with '!', which sshd refuses without PAM"
	case strings.HasPrefix(pw, "$"):
		return "a password hash"
	}
	return "another value"
}

func (o Options) usermod(desc, name string, args ...string) Change {
	return Change{Desc: desc, do: func() error {
		return o.run("usermod", append(args, name)...)
	}}
}

func (o Options) createAccount(name, home, shell string) error {
	if o.AccountTool == "useradd" {
		return o.run("useradd", "--system", "--user-group", "--no-create-home",
			"--home-dir", home, "--shell", shell, "--password", unlocked, "--comment", gecos, name)
	}
	// sysusers.d(5): u NAME ID GECOS HOME SHELL. It needs Root's /etc,
	// and locks the password ("!*"), which the usermod after it undoes.
	if err := os.MkdirAll(o.path("/etc"), 0o755); err != nil {
		return err
	}
	line := fmt.Sprintf("u %s - %q %s %s", name, gecos, home, shell)
	if err := o.run("systemd-sysusers", "--inline", line); err != nil {
		return err
	}
	return o.run("usermod", "--password", unlocked, name)
}

// run runs an account tool, with --root for a scratch root.
func (o Options) run(tool string, args ...string) error {
	if !o.onHost() {
		args = append([]string{"--root", o.Root}, args...)
	}
	out, err := exec.Command(tool, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", tool, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// ids returns the user and group ID of owner ("root" or an account) under
// Root, read when a change runs: an earlier change may have made it.
func (o Options) ids(owner string) (int, int, error) {
	if owner == "root" {
		return 0, 0, nil
	}
	m, err := o.readAccounts()
	if err != nil {
		return 0, 0, err
	}
	a, ok := m[owner]
	if !ok {
		return 0, 0, fmt.Errorf("no account %s", owner)
	}
	return a.uid, a.gid, nil
}
