// Package tpmtest runs a throwaway software TPM with a tpm2-pkcs11 token on
// it, so that signstar can be tested against the PKCS#11 module that TPM
// users load (issue 9: TPM token tests).
//
// [Start] chains three daemons, each a child of the test process and each
// private to the test:
//
//	swtpm (TCP on 127.0.0.1)  <-  tpm2-abrmd (own session bus)  <-  tpm2-pkcs11
//
// and creates a token with tpm2_ptool. The TPM state, the token store, the
// bus socket and the daemons' logs are in [TPM.Dir]; the daemons are
// stopped before the directory is removed, and a failing Start stops those
// it started.
//
// Programs load [TPM.Module] with [TPM.Env] in their environment. The
// module reads it once, at C_Initialize: tests that load the module
// in-process call [TPM.Setenv], which also keeps them from running in
// parallel.
//
// A missing tool or module skips the test, or fails it when the environment
// has SIGNSTAR_E2E=1, so that CI never skips silently.
package tpmtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"signstar/internal/testenv"
	"strings"
	"testing"
	"time"
)

// TPM is a running software TPM with an initialized tpm2-pkcs11 token.
type TPM struct {
	Module string   // path of libtpm2_pkcs11.so
	Label  string   // token label
	PIN    string   // user PIN
	Dir    string   // temporary directory: TPM state, token store, bus socket, logs
	Env    []string // NAME=value for programs that load Module, or run tpm2-tools

	abrmd *daemon
}

// Fixed PINs: the token lives in a TPM only this test can reach, so there
// is nothing for them to protect.
const (
	pin   = "123456"
	soPIN = "12345678"
)

// tcti is how tpm2-tools and the module reach tpm2-abrmd: by its well-known
// name on the session bus named by DBUS_SESSION_BUS_ADDRESS.
const tcti = "tabrmd:bus_type=session"

// Time limits: readyTimeout for tpm2-abrmd to answer, toolTimeout for one
// run of a tool (tpm2_ptool addtoken takes up to 2.4 s on a loaded machine).
const (
	readyTimeout = 10 * time.Second
	toolTimeout  = time.Minute
)

// Start starts a software TPM and creates a token labelled label on it. The
// daemons run until the test ends.
func Start(t testing.TB, label string) *TPM {
	t.Helper()
	// CK_TOKEN_INFO's label is 32 bytes; tpm2_ptool does not check.
	if label == "" || len(label) > 32 {
		t.Fatalf("token label %q: want 1 to 32 bytes", label)
	}
	tools := lookTools(t)
	// The test's first t.TempDir, here at the latest, registers the removal
	// of its directories before the daemons' stops are registered below;
	// t.Cleanup runs last in, first out, so the daemons are gone before
	// their directory is.
	p := &TPM{Module: findModule(t), Label: label, PIN: pin, Dir: t.TempDir()}
	bus := filepath.Join(p.Dir, "bus")
	// sun_path holds 108 bytes with the terminating NUL (unix(7)).
	if len(bus) > 107 {
		t.Fatalf("bus socket path %s is longer than a unix socket allows; set GOTMPDIR to a shorter directory", bus)
	}
	store := filepath.Join(p.Dir, "store")
	if err := os.Mkdir(store, 0o700); err != nil {
		t.Fatal(err)
	}
	p.Env = []string{
		"DBUS_SESSION_BUS_ADDRESS=" + busAddress(bus),
		"TPM2_PKCS11_STORE=" + store,
		"TPM2_PKCS11_TCTI=" + tcti, // read by the module
		"TPM2TOOLS_TCTI=" + tcti,   // read by tpm2-tools and tpm2_ptool
		"TSS2_LOG=all+none",        // else the TSS prints an ERROR line for every failed command
	}

	start := time.Now()
	swtpm, port := startSWTPM(t, tools.swtpm, p.Dir)
	startBus(t, tools.dbusDaemon, p.Dir, busAddress(bus))
	p.abrmd = startABRMD(t, tools.abrmd, p.Dir, p.Env, port)
	p.waitReady(t, tools.getcap, p.abrmd, swtpm)
	if err := p.run(tools.ptool, "init", "--path="+store); err != nil {
		t.Fatalf("create the token store: %v", err)
	}
	if err := p.run(tools.ptool, "addtoken", "--pid=1", "--label="+label,
		"--userpin="+pin, "--sopin="+soPIN, "--path="+store); err != nil {
		t.Fatalf("create token %q: %v", label, err)
	}
	t.Logf("tpmtest: token %q ready in %v", label, time.Since(start).Round(time.Millisecond))
	return p
}

// StopBroker stops tpm2-abrmd, as if the TPM went away: programs that
// have the module open lose their connection to it.
func (p *TPM) StopBroker() { p.abrmd.stop() }

// Share returns the paths another account needs to use the token: the
// token store, which the module writes at C_Initialize, and the bus socket.
// Hand them to that account (sshdtest's Grant) before it loads the module.
func (p *TPM) Share() []string {
	return []string{filepath.Join(p.Dir, "store"), filepath.Join(p.Dir, "bus")}
}

// Setenv sets [TPM.Env] in the test process with t.Setenv, for tests that
// load the module in-process.
func (p *TPM) Setenv(t testing.TB) {
	t.Helper()
	for _, kv := range p.Env {
		name, value, _ := strings.Cut(kv, "=")
		t.Setenv(name, value)
	}
}

// waitReady polls tpm2_getcap until tpm2-abrmd answers, which it does once
// it owns its name on the bus and has connected to swtpm.
func (p *TPM) waitReady(t testing.TB, getcap string, abrmd, swtpm *daemon) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(readyTimeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if abrmd.exited() {
			t.Fatalf("tpm2-abrmd exited: %v\n%s%s", abrmd.cmd.ProcessState, abrmd.logs(), swtpm.logs())
		}
		if err = p.run(getcap, "properties-fixed"); err == nil {
			return
		}
	}
	t.Fatalf("tpm2-abrmd did not answer within %v: %v\n%s%s", readyTimeout, err, abrmd.logs(), swtpm.logs())
}

// run runs a tool in [TPM.Dir] with [TPM.Env], within toolTimeout, and
// returns an error holding its output if it fails.
func (p *TPM) run(path string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = p.Dir
	cmd.Env = append(os.Environ(), p.Env...) // later entries win
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", filepath.Base(path), strings.Join(args, " "), err, out)
	}
	return nil
}

// tools are the paths of the programs Start runs.
type tools struct {
	swtpm, dbusDaemon, abrmd, getcap, ptool string
}

func lookTools(t testing.TB) tools {
	t.Helper()
	return tools{
		swtpm:      testenv.Tool(t, "swtpm"),
		dbusDaemon: testenv.Tool(t, "dbus-daemon"),
		abrmd:      testenv.Tool(t, "tpm2-abrmd"), // in /usr/sbin on Debian
		getcap:     testenv.Tool(t, "tpm2_getcap"),
		ptool:      testenv.Tool(t, "tpm2_ptool"),
	}
}

// moduleCandidates are where distributions install libtpm2_pkcs11.so:
// Debian and Ubuntu (multiarch), Fedora, Arch, and a source build.
var moduleCandidates = []string{
	"/usr/lib/*-linux-gnu*/pkcs11/libtpm2_pkcs11.so",
	"/usr/lib64/pkcs11/libtpm2_pkcs11.so",
	"/usr/lib/pkcs11/libtpm2_pkcs11.so",
	"/usr/local/lib/pkcs11/libtpm2_pkcs11.so",
	"/usr/local/lib/libtpm2_pkcs11.so",
}

// findModule returns the path of the tpm2-pkcs11 module, or skips the
// test. SIGNSTAR_TPM2_PKCS11_MODULE overrides the search.
func findModule(t testing.TB) string {
	t.Helper()
	if m := os.Getenv("SIGNSTAR_TPM2_PKCS11_MODULE"); m != "" {
		return m
	}
	for _, pattern := range moduleCandidates {
		matches, _ := filepath.Glob(pattern) // the patterns are well-formed
		for _, m := range matches {
			if isFile(m) {
				return m
			}
		}
	}
	testenv.SkipOrFatal(t, "the tpm2-pkcs11 PKCS#11 module (libtpm2_pkcs11.so) not found (scripts/deps installs it)")
	return ""
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}
