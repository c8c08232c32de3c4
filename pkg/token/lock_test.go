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
