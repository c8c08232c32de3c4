package main

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"signstar/internal/verifytest"
)

// TestLockedWhileReading: a signstar blocked on stdin is already locked
// down, as /proc/<pid>/status shows; after it reads, it still signs.
func TestLockedWhileReading(t *testing.T) {
	f := newFixture(t)
	for _, typ := range []string{"ed25519", "rsa3072", "p256"} {
		t.Run(typ, func(t *testing.T) {
			cert := f.generate(typ, typ)
			cmd := exec.Command(binary, "sign", "--key", typ)
			cmd.Env = f.env
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			status := waitStatus(t, cmd.Process.Pid, "Seccomp:\t2")
			for _, want := range []string{"NoNewPrivs:\t1", "CapEff:\t0000000000000000", "CapPrm:\t0000000000000000", "CapAmb:\t0000000000000000"} {
				if !strings.Contains(status, want) {
					t.Errorf("/proc/%d/status lacks %q", cmd.Process.Pid, want)
				}
			}
			data := []byte("read after lockdown\n")
			stdin.Write(data)
			stdin.Close()
			if err := cmd.Wait(); err != nil {
				t.Fatalf("sign: %v: %s", err, errb.Bytes())
			}
			verifytest.All(t, cert, data, out.Bytes())
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
