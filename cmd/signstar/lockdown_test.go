package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"signstar/internal/verifytest"
	"signstar/pkg/sandbox"
)

// TestLockedWhileReading: a signstar blocked on stdin is already locked
// down, as /proc/<pid>/status shows; after it reads, it still signs.
func TestLockedWhileReading(t *testing.T) {
	f := newFixture(t)
	for _, typ := range []string{"ed25519", "rsa3072", "p256"} {
		t.Run(typ, func(t *testing.T) {
			cert := f.generate(typ, typ)
			w := f.startLocked(exec.Command(binary, "sign", "--key", typ))
			for _, want := range []string{"NoNewPrivs:\t1", "CapEff:\t0000000000000000", "CapPrm:\t0000000000000000", "CapAmb:\t0000000000000000"} {
				if !strings.Contains(w.status, want) {
					t.Errorf("/proc/%d/status lacks %q", w.cmd.Process.Pid, want)
				}
			}
			data := []byte("read after lockdown\n")
			r := w.finish(data)
			if r.code != 0 {
				t.Fatalf("sign: exit %d: %s", r.code, r.stderr)
			}
			verifytest.All(t, cert, data, r.stdout)
		})
	}
}

// waitStatus polls /proc/pid/status until it contains want.
func waitStatus(t *testing.T, pid int, want string) string {
	t.Helper()
	path := "/proc/" + strconv.Itoa(pid) + "/status"
	var last string
	for i := 0; i < 200; i++ {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if last = string(data); strings.Contains(last, want) {
			return last
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("%s never showed %q:\n%s", path, want, last)
	return ""
}

// waiting is signstar started with a pipe for its input, locked down and
// waiting to read.
type waiting struct {
	f           *fixture
	cmd         *exec.Cmd
	stdin       io.WriteCloser
	out, errout bytes.Buffer
	status      string // /proc/PID/status once locked down
}

// startLocked starts cmd with the fixture's environment and returns once
// it is locked down and waiting for input.
func (f *fixture) startLocked(cmd *exec.Cmd) *waiting {
	f.t.Helper()
	w := &waiting{f: f, cmd: cmd}
	cmd.Env = f.env
	cmd.Stdout, cmd.Stderr = &w.out, &w.errout
	var err error
	if w.stdin, err = cmd.StdinPipe(); err != nil {
		f.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	w.status = waitStatus(f.t, cmd.Process.Pid, "Seccomp:\t2")
	return w
}

// finish writes data, ends the input and returns what the user sees.
func (w *waiting) finish(data []byte) result {
	w.f.t.Helper()
	w.stdin.Write(data)
	w.stdin.Close()
	return w.f.result(w.cmd, w.cmd.Wait(), &w.out, &w.errout)
}

// TestLockReleasedWhileReading: a signer waiting for a slow client does not
// hold the token lock, so another signer finishes meanwhile.
func TestLockReleasedWhileReading(t *testing.T) {
	f := newFixture(t)
	cert := f.generate("repo", "ed25519")
	slow := f.startLocked(exec.Command(binary, "sign"))

	fast := exec.Command(binary, "sign")
	fast.Env = f.env
	fast.Stdin = strings.NewReader("fast\n")
	done := make(chan error, 1)
	var fastOut []byte
	go func() {
		var err error
		fastOut, err = fast.Output()
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("second signer: %v", err)
		}
	case <-time.After(20 * time.Second):
		fast.Process.Kill()
		t.Fatal("second signer waited for the first one's input: the token lock is held while reading")
	}
	verifytest.All(t, cert, []byte("fast\n"), fastOut)

	r := slow.finish([]byte("slow\n"))
	if r.code != 0 {
		t.Fatalf("first signer: exit %d: %s", r.code, r.stderr)
	}
	verifytest.All(t, cert, []byte("slow\n"), r.stdout)
}

// TestModulePolicy: what each known module keeps after lockdown.
func TestModulePolicy(t *testing.T) {
	store := t.TempDir()
	if err := os.WriteFile(store+"/tpm2_pkcs11.sqlite3", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TPM2_PKCS11_STORE", store)
	t.Setenv("TPM2_PKCS11_TCTI", "device:/dev/tpmrm0")
	tests := []struct {
		module  string
		keep    string
		streams bool
	}{
		{"/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so.1", store + " /dev/tpmrm0", true},
		{"/usr/lib/x86_64-linux-gnu/libykcs11.so.2", "", true},
		{"/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so", "", true},
		{"/usr/lib/x86_64-linux-gnu/pkcs11/libnethsm_pkcs11.so", "", false},
	}
	for _, tt := range tests {
		var p sandbox.Policy
		if err := addModule(&p, tt.module); err != nil {
			t.Errorf("%s: %v", tt.module, err)
			continue
		}
		if keep := strings.Join(p.KeepOpen, " "); keep != tt.keep || p.Streams != tt.streams {
			t.Errorf("%s: keep %q, streams %v; want %q, %v", tt.module, keep, p.Streams, tt.keep, tt.streams)
		}
	}
	t.Setenv("TPM2_PKCS11_STORE", t.TempDir())
	var p sandbox.Policy
	if err := addModule(&p, "/usr/lib/libtpm2_pkcs11.so"); err == nil || !strings.Contains(err.Error(), "TPM2_PKCS11_STORE") {
		t.Errorf("a store without a database: %v, want an error naming TPM2_PKCS11_STORE", err)
	}
}
