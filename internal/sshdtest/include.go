package sshdtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// WorldDir is a temp dir every account can traverse, removed when the
// test ends, for what a test's accounts must reach (their shell, homes,
// authorized_keys).
func WorldDir(t testing.TB) string { return worldDir(t) }

// StartInclude starts sshd with the test's base config and an Include of
// dropIn, a drop-in that 'signstar host apply' wrote, for accounts the
// test made (the Server's User is empty: pick one with As). Its host key
// and log are in dir.
func StartInclude(t testing.TB, dir, dropIn string) *Server {
	t.Helper()
	Require(t)
	s := &Server{t: t, Dir: dir}
	s.log = filepath.Join(dir, "sshd.log")
	s.conf = filepath.Join(dir, "sshd_config")
	s.keygen("hostkey")
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	for attempt := 0; attempt < 5; attempt++ {
		s.Port = freePort(t)
		if err := os.WriteFile(s.conf, []byte(s.baseConfig()+"Include "+dropIn+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		s.run("/usr/sbin/sshd", "-t", "-f", s.conf)
		s.cmd = exec.Command("/usr/sbin/sshd", "-D", "-f", s.conf, "-E", s.log)
		if err := s.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if s.waitListening() {
			t.Cleanup(func() { s.cmd.Process.Kill(); s.cmd.Wait() })
			return s
		}
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
	t.Fatalf("sshd did not start; log:\n%s", s.Log())
	return nil
}

// As is s for another account of the same sshd: SSH, Target and Grant
// act for user.
func (s *Server) As(user string) *Server {
	c := *s
	c.User = user
	return &c
}

// ClientKey makes a client key in s.Dir, authorized nowhere, and returns
// its file.
func (s *Server) ClientKey(name string) string {
	s.t.Helper()
	return s.keygen(name)
}
