//go:build linux

package token_test

import (
	"crypto"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"

	"signstar/pkg/token"
)

// childEnv marks a re-executed test binary that plays one signstar
// process; see child.
const childEnv = "SIGNSTAR_TOKEN_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		if err := child(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child opens the token as the parent says, signs with the shared Ed25519
// key, generates a P-256 key of its own and closes the token.
func child() error {
	o := token.Options{
		Module:   os.Getenv("CHILD_MODULE"),
		Label:    os.Getenv("CHILD_LABEL"),
		PIN:      os.Getenv("CHILD_PIN"),
		LockFile: os.Getenv("CHILD_LOCK"),
	}
	tok, err := token.Open(o)
	if err != nil {
		return err
	}
	defer tok.Close()
	k, err := tok.Key([]byte{0xed})
	if err != nil {
		return err
	}
	msg := []byte(os.Getenv(childEnv))
	sig, err := k.Sign(nil, msg, crypto.Hash(0))
	if err != nil {
		return err
	}
	if !ed25519.Verify(k.Public().(ed25519.PublicKey), msg, sig) {
		return fmt.Errorf("child %s: signature does not verify", msg)
	}
	id, _ := hex.DecodeString(os.Getenv(childEnv))
	if _, err := tok.Generate(id, "child", token.P256); err != nil {
		return err
	}
	return tok.Close()
}

// TestLockFileProcesses starts 32 processes on one token at once; with a
// lock file all of them must succeed and every key they made must exist.
func TestLockFileProcesses(t *testing.T) {
	const n = 32
	s := newSoftHSM(t)
	tok := open(t, options(s))
	if _, err := tok.Generate([]byte{0xed}, "shared", token.Ed25519); err != nil {
		t.Fatal(err)
	}
	if err := tok.Close(); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), s.Env(), "CHILD_MODULE="+s.Module, "CHILD_LABEL="+s.Label,
		"CHILD_PIN="+s.PIN, "CHILD_LOCK="+filepath.Join(t.TempDir(), "token.lock"))
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(slices.Clip(env), fmt.Sprintf("%s=%02x", childEnv, i))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("child %d: %v\n%s", i, err, out)
			}
		}()
	}
	wg.Wait()
	tok = open(t, options(s))
	for i := range n {
		if _, err := tok.Key([]byte{byte(i)}); err != nil {
			t.Error(err)
		}
	}
}

func TestLockFile(t *testing.T) {
	s := newSoftHSM(t)
	o := options(s)
	o.LockFile = filepath.Join(t.TempDir(), "token.lock")
	tok, err := token.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(o.LockFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file mode %v, want 0600", fi.Mode().Perm())
	}
	if err := tryLock(o.LockFile); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Errorf("flock while open: %v, want EWOULDBLOCK", err)
	}
	if err := tok.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tryLock(o.LockFile); err != nil {
		t.Errorf("flock after Close: %v", err)
	}
}

// tryLock takes and drops a non-blocking exclusive flock on path through a
// new open file description, which conflicts with any other holder.
func tryLock(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

func TestNeedsLock(t *testing.T) {
	tests := []struct {
		module string
		want   bool
	}{
		{"/usr/lib/softhsm/libsofthsm2.so", true},
		{"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so", true},
		{"/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so.1", false},
		{"/usr/lib/x86_64-linux-gnu/libykcs11.so", false},
		{"/usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so", false},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.module), func(t *testing.T) {
			if got := token.NeedsLock(tt.module); got != tt.want {
				t.Errorf("NeedsLock(%q) = %v, want %v", tt.module, got, tt.want)
			}
		})
	}
}

// TestNotFoundWithoutLockFile: a SoftHSM2 token that cannot be found while
// no lock file serializes its users may only be hidden by another process
// (TestConcurrentSignDefaultConfig in cmd/signstar shows it happen), and
// the error says so; with a lock file, or on a module that needs none, it
// does not.
func TestNotFoundWithoutLockFile(t *testing.T) {
	s := newSoftHSM(t)
	// Another name for the same library: the module needs no lock file
	// as far as NeedsLock knows, and dlopen finds the loaded copy.
	other := filepath.Join(t.TempDir(), "libother.so")
	if err := os.Symlink(s.Module, other); err != nil {
		t.Fatal(err)
	}
	const cause = "; concurrent signstar processes without a lock file (token.lock-file) can make SoftHSM2 miss the token"
	tests := []struct {
		name     string
		module   string
		lockFile string
		want     string
	}{
		{"SoftHSM2 without lock file", s.Module, "", `find token "nope": no token with that label (2 slots)` + cause},
		{"SoftHSM2 with lock file", s.Module, filepath.Join(t.TempDir(), "token.lock"), `find token "nope": no token with that label (2 slots)`},
		{"module that needs no lock", other, "", `find token "nope": no token with that label (2 slots)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options(s)
			o.Module, o.Label, o.LockFile = tt.module, "nope", tt.lockFile
			tok, err := token.Open(o)
			if err == nil {
				tok.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, token.ErrTokenNotFound) {
				t.Errorf("errors.Is(%v, ErrTokenNotFound) = false", err)
			}
			if err.Error() != tt.want {
				t.Errorf("error %q, want %q", err, tt.want)
			}
		})
	}
}

// TestLockFileOwner: a lock file root creates belongs to the owner of its
// directory, so that the account that owns /run/signstar can open what
// root's 'signstar init' or 'signstar sign' created there.
func TestLockFileOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create files for another user")
	}
	const nobody = 65534
	create := map[string]func(string) error{
		"Open": func(path string) error {
			s := newSoftHSM(t)
			o := options(s)
			o.LockFile = path
			tok, err := token.Open(o)
			if err == nil {
				err = tok.Close()
			}
			return err
		},
		"CreateLockFile": token.CreateLockFile,
	}
	for name, create := range create {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(dir, nobody, nobody); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "signstar.lock")
			if err := create(path); err != nil {
				t.Fatal(err)
			}
			var st syscall.Stat_t
			if err := syscall.Stat(path, &st); err != nil {
				t.Fatal(err)
			}
			if st.Uid != nobody || st.Gid != nobody || st.Mode&0o777 != 0o600 {
				t.Errorf("lock file owner %d:%d mode %o, want %d:%d mode 600", st.Uid, st.Gid, st.Mode&0o777, nobody, nobody)
			}
		})
	}
}

// TestLockFileRefuses: what is not a plain file is not used as a lock
// file, and a symbolic link (which the account could plant in its own
// directory) is not followed, so root creates nothing where it points.
func TestLockFileRefuses(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere")
	link := filepath.Join(dir, "link.lock")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"symbolic link", link, fmt.Sprintf("open lock file %q: a symbolic link; name the file itself", link)},
		{"directory", dir, fmt.Sprintf("open lock file %q: not a regular file", dir)},
		{"missing directory", filepath.Join(dir, "nope", "x.lock"), fmt.Sprintf("open lock file %q: no such file or directory", filepath.Join(dir, "nope", "x.lock"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := token.CreateLockFile(tt.path)
			if err == nil || err.Error() != tt.want {
				t.Errorf("CreateLockFile: %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("symbolic link followed: %s exists (%v)", target, err)
	}
}

// TestCreateLockFileKeeps: an existing lock file, say one the tmpfiles
// snippet made, is used as it is.
func TestCreateLockFileKeeps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signstar.lock")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := token.CreateLockFile(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want the 0644 it had", fi.Mode().Perm())
	}
}
