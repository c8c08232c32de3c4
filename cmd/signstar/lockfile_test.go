package main

// The lock file 'signstar init' chooses, and what happens without one:
// SoftHSM2 drops a token from its slot list while another process logs
// in (token.NeedsLock), so concurrent signers without a lock file fail.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"signstar/internal/tokentest"
	"signstar/internal/verifytest"
	"signstar/pkg/config"
)

// newBareFixture is newFixture before 'signstar init': a token, its PIN
// file and the environment, but no config yet.
func newBareFixture(t *testing.T) *fixture {
	t.Helper()
	hsm := tokentest.NewSoftHSM(t, "signstar")
	dir := t.TempDir()
	f := &fixture{t: t, dir: dir, hsm: hsm, conf: filepath.Join(dir, "signstar.toml")}
	f.env = append(os.Environ(), hsm.Env(), "SIGNSTAR_CONFIG="+f.conf)
	f.writePIN(hsm.PIN, 0o600)
	return f
}

// init runs 'signstar init' with the PIN file and audit file of newFixture
// and the token flags given.
func (f *fixture) init(tokenArgs ...string) result {
	f.t.Helper()
	args := []string{"init", "--pin-file", filepath.Join(f.dir, "pin"),
		"--audit", "file:" + filepath.Join(f.dir, "audit.jsonl")}
	return f.run(nil, append(args, tokenArgs...)...)
}

// newDefaultFixture is newFixture with the lock file init chooses.
func newDefaultFixture(t *testing.T) *fixture {
	t.Helper()
	f := newBareFixture(t)
	if r := f.init("--module", f.hsm.Module, "--token", f.hsm.Label); r.code != 0 {
		t.Fatalf("init: exit %d\n%s", r.code, r.stderr)
	}
	return f
}

// lockFile is the lock file f's config names, resolved, or "".
func (f *fixture) lockFile() string {
	f.t.Helper()
	cfg, err := config.Load(f.conf)
	if err != nil {
		f.t.Fatal(err)
	}
	if cfg.Token.LockFile == "" {
		return ""
	}
	return cfg.Resolve(cfg.Token.LockFile)
}

// TestInitLockFile: init gives a SoftHSM2 config a lock file unless told
// which, creates it, and gives none to a module that needs none.
func TestInitLockFile(t *testing.T) {
	tests := []struct {
		name string
		args func(f *fixture) []string // init's token flags
		want func(f *fixture) string   // the lock file; "": none
	}{
		{"SoftHSM2: beside the config by default",
			func(f *fixture) []string { return []string{"--module", f.hsm.Module, "--token", f.hsm.Label} },
			func(f *fixture) string { return filepath.Join(f.dir, "signstar.lock") }},
		{"SoftHSM2 through a URI",
			func(f *fixture) []string {
				return []string{"--uri", "pkcs11:token=signstar?module-path=" + f.hsm.Module}
			},
			func(f *fixture) string { return filepath.Join(f.dir, "signstar.lock") }},
		{"SoftHSM2: the one asked for",
			func(f *fixture) []string {
				return []string{"--module", f.hsm.Module, "--token", f.hsm.Label, "--lock-file", filepath.Join(f.dir, "mine.lock")}
			},
			func(f *fixture) string { return filepath.Join(f.dir, "mine.lock") }},
		{"module that needs none",
			func(f *fixture) []string {
				// Another name for SoftHSM2, which token.NeedsLock does not know.
				other := filepath.Join(f.dir, "libother.so")
				if err := os.Symlink(f.hsm.Module, other); err != nil {
					t.Fatal(err)
				}
				return []string{"--module", other, "--token", f.hsm.Label}
			},
			func(f *fixture) string { return "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newBareFixture(t)
			r := f.init(tt.args(f)...)
			if r.code != 0 {
				t.Fatalf("init: exit %d\n%s", r.code, r.stderr)
			}
			want := tt.want(f)
			if got := f.lockFile(); got != want {
				t.Fatalf("config's lock file %q, want %q", got, want)
			}
			if want == "" {
				return
			}
			if !strings.Contains(string(r.stderr), "signstar: lock file "+want+"\n") {
				t.Errorf("init does not name the lock file it made:\n%s", r.stderr)
			}
			var st syscall.Stat_t
			if err := syscall.Stat(want, &st); err != nil {
				t.Fatalf("init did not create the lock file: %v", err)
			}
			if st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Mode&0o777 != 0o600 {
				t.Errorf("lock file mode %o, want a regular file, mode 600", st.Mode)
			}
		})
	}
}

// signed is one of many concurrent signers: what it signed, what it got.
type signed struct {
	data []byte
	r    result
}

// signConcurrently starts n 'signstar sign' at once and waits for all.
func (f *fixture) signConcurrently(n int) []signed {
	f.t.Helper()
	outs := make([]signed, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := []byte(fmt.Sprintf("artifact %d\n", i))
			<-start
			outs[i] = signed{data, f.run(data, "sign")}
		}()
	}
	close(start)
	wg.Wait()
	return outs
}

// TestConcurrentSignDefaultConfig: with the config 'signstar init' writes
// for SoftHSM2 when not told about lock files, 16 concurrent signers all
// succeed. Without the lock file, 1 to 7 of 16 failed in most rounds
// (TestConcurrentSignWithoutLockFile); two rounds make a pass by luck
// unlikely.
func TestConcurrentSignDefaultConfig(t *testing.T) {
	f := newDefaultFixture(t)
	if f.lockFile() == "" {
		t.Fatal("init wrote no lock file into the config")
	}
	cert := f.generate("k", "ed25519")
	for round := range 2 {
		for i, o := range f.signConcurrently(16) {
			if o.r.code != 0 {
				t.Errorf("round %d, signer %d: exit %d: %s", round, i, o.r.code, o.r.stderr)
				continue
			}
			if err := verifytest.GPGV(t, cert, o.data, o.r.stdout); err != nil {
				t.Errorf("round %d, signer %d: %v", round, i, err)
			}
		}
	}
}

// TestConcurrentSignWithoutLockFile: a config without a lock file on
// SoftHSM2 (an old one, or an admin's) makes concurrent signers fail now
// and then; each failure says why. Whether any fails is up to the
// scheduler, so the message is also checked on a token that is not there,
// which takes the same path and fails every time.
func TestConcurrentSignWithoutLockFile(t *testing.T) {
	const cause = "concurrent signstar processes without a lock file (token.lock-file) can make SoftHSM2 miss the token"
	f := newDefaultFixture(t)
	f.generate("k", "ed25519")
	replaceInFile(t, f.conf, "lock-file = 'signstar.lock'\n", "")
	failed := 0
	for round := range 2 {
		for i, o := range f.signConcurrently(16) {
			if o.r.code == 0 {
				continue
			}
			failed++
			if line, _, _ := strings.Cut(string(o.r.stderr), "\n"); !strings.Contains(line, cause) {
				t.Errorf("round %d, signer %d: exit %d, error does not say why: %s", round, i, o.r.code, o.r.stderr)
			}
		}
	}
	t.Logf("%d of 32 signers without a lock file failed", failed)

	replaceInFile(t, f.conf, "label = 'signstar'", "label = 'gone'")
	assertError(t, f.run([]byte("x"), "sign"), exitFailed, `find token "gone": no token with that label (2 slots); `+cause)
}
