//go:build linux

package keyring

import (
	"bytes"
	"crypto"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"signstar/internal/tokentest"
	"signstar/internal/verifytest"
	"signstar/pkg/config"
	"signstar/pkg/pgp"
	"signstar/pkg/token"
)

// newLockedConfig is newConfig with a lock file, whose path it returns.
func newLockedConfig(t *testing.T, hsm *tokentest.SoftHSM) (*config.Config, string) {
	t.Helper()
	t.Setenv("SOFTHSM2_CONF", hsm.Conf)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pin"), []byte(hsm.PIN), 0o600); err != nil {
		t.Fatal(err)
	}
	path, lock := filepath.Join(dir, "signstar.toml"), filepath.Join(dir, "token.lock")
	tok := config.Token{Module: hsm.Module, Label: hsm.Label, PINFile: "pin", LockFile: lock}
	if err := config.Create(path, tok, config.Audit{Sink: "stderr"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, lock
}

// otherProcess holds the lock file as another signstar process would:
// through its own open file description, which conflicts with the
// keyring's.
type otherProcess struct {
	t     *testing.T
	path  string
	f     *os.File
	holds atomic.Bool
}

// take takes the lock without waiting, and fails the test if someone holds it.
func (p *otherProcess) take(why string) {
	p.t.Helper()
	f, err := os.Open(p.path)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		p.t.Fatalf("%s: the lock is taken: %v", why, err)
	}
	p.f = f
	p.holds.Store(true)
}

// give lets the lock go.
func (p *otherProcess) give() {
	if p.f != nil {
		p.holds.Store(false)
		p.f.Close()
		p.f = nil
	}
}

// keyringHolds reports whether the lock is held by someone other than p:
// here, the keyring.
func (p *otherProcess) keyringHolds() bool {
	if p.holds.Load() {
		return false
	}
	err := tryLock(p.path)
	if err != nil && !errors.Is(err, syscall.EWOULDBLOCK) {
		p.t.Errorf("flock %s: %v", p.path, err)
	}
	return err != nil
}

// tryLock takes and drops a non-blocking exclusive flock on path through a
// new open file description.
func tryLock(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// watchedToken is a token key that checks, each time it signs, that the
// keyring holds the lock.
type watchedToken struct {
	crypto.Signer
	other *otherProcess
	uses  atomic.Int32
}

func (k *watchedToken) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	k.uses.Add(1)
	switch {
	case k.other.holds.Load():
		k.other.t.Error("the token signed while another process held the lock")
	case !k.other.keyringHolds():
		k.other.t.Error("the token signed with the lock let go")
	}
	return k.Signer.Sign(r, digest, opts)
}

// TestSignWaitsForLock: on a real token with a lock file, another process
// can take the lock while Sign or SignHash reads its input, and the token
// does not sign until that process lets it go; then the signature is good
// and the keyring holds the lock again.
func TestSignWaitsForLock(t *testing.T) {
	hsm := tokentest.NewSoftHSM(t, "lock")
	cfg, lockPath := newLockedConfig(t, hsm)
	kr, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer kr.Close()
	k, err := kr.Generate(NewKey{Name: "k", Type: token.Ed25519, UserID: "L <l@example.org>", Created: created})
	if err != nil {
		t.Fatal(err)
	}
	var cert bytes.Buffer
	if err := k.Cert.WriteArmored(&cert); err != nil {
		t.Fatal(err)
	}
	other := &otherProcess{t: t, path: lockPath}
	watched := &watchedToken{Signer: k.guard.key, other: other}
	k.guard.key = watched

	first, rest := bytes.Repeat([]byte("first "), 1000), []byte("and the rest\n")
	data := append(bytes.Clone(first), rest...)
	tests := []struct {
		name string
		sign func(r io.Reader, o SignOptions) ([]byte, error)
	}{
		{"Sign", func(r io.Reader, o SignOptions) ([]byte, error) {
			var sig bytes.Buffer
			_, err := k.Sign(&sig, r, o)
			return sig.Bytes(), err
		}},
		{"SignHash", func(r io.Reader, o SignOptions) ([]byte, error) { return k.SignHash(r, readAll, o) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			watched.uses.Store(0)
			other.t = t
			t.Cleanup(other.give)
			pr, pw := io.Pipe()
			t.Cleanup(func() { pw.CloseWithError(errors.New("test over")) })
			ready := make(chan struct{}, 1)
			o := SignOptions{Options: pgp.Options{Time: signed}, Ready: func() error { ready <- struct{}{}; return nil }}
			type result struct {
				sig []byte
				err error
			}
			done := make(chan result, 1)
			go func() {
				sig, err := tt.sign(pr, o)
				done <- result{sig, err}
			}()

			// An io.Pipe write returns once the reader has it: the
			// keyring is reading its input now.
			if _, err := pw.Write(first); err != nil {
				t.Fatal(err)
			}
			other.take("while the input streams in")
			if _, err := pw.Write(rest); err != nil {
				t.Fatal(err)
			}
			pw.Close()
			select {
			case <-ready:
			case <-time.After(10 * time.Second):
				t.Fatal("Ready did not run once the input was read")
			}
			select {
			case r := <-done:
				t.Fatalf("returned (error %v) while another process held the lock", r.err)
			case <-time.After(200 * time.Millisecond):
			}
			other.give()
			var r result
			select {
			case r = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("still waiting after the other process let the lock go")
			}
			if r.err != nil {
				t.Fatal(r.err)
			}
			if n := watched.uses.Load(); n != 1 {
				t.Errorf("the token signed %d times, want 1", n)
			}
			if !other.keyringHolds() {
				t.Error("returned without the lock")
			}
			verifytest.All(t, cert.Bytes(), data, r.sig)
		})
	}
}
