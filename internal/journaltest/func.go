package journaltest

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// funcEnv names the function a re-executed test binary runs.
const funcEnv = "JOURNALTEST_FUNC"

// Main is the body of TestMain for a package that runs Go functions in the
// namespace. When the test binary was started by [Journal.Func] it runs the
// named function of funcs and exits: 0 if it returned nil, 1 with the error
// on stderr if not. Otherwise it runs the tests.
//
//	func TestMain(m *testing.M) {
//		journaltest.Main(m, map[string]func() error{"write": writeEntry})
//	}
func Main(m *testing.M, funcs map[string]func() error) {
	name, ok := os.LookupEnv(funcEnv)
	if !ok {
		os.Exit(m.Run())
	}
	fn, ok := funcs[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "journaltest: no function %q registered with Main\n", name)
		os.Exit(2)
	}
	if err := fn(); err != nil {
		fmt.Fprintf(os.Stderr, "journaltest: %s: %v\n", name, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Func is a command that runs the function registered as name with [Main]
// in the namespace, in a re-executed test binary. Append to cmd.Env to
// pass it parameters; it inherits the test's environment.
func (j *Journal) Func(t testing.TB, name string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("journaltest: find the test binary: %v", err)
	}
	cmd := j.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), funcEnv+"="+name)
	return cmd
}
