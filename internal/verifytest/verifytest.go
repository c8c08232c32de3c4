// Package verifytest asserts OpenPGP detached signatures with the real
// verifiers that signstar's users run: gpgv, sqv and pacman-key; and
// cleartext signed messages with gpgv, gpg and sq ([AllClear]).
//
// Every helper works in t.TempDir() with its own GnuPG home, so none reads or
// writes the user's ~/.gnupg or /etc/pacman.d. A missing tool skips the test,
// or fails it when SIGNSTAR_E2E=1 so that CI never skips silently (package
// testenv).
package verifytest

import (
	"bytes"
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

// toolTimeout bounds one external command, so a verifier stuck on a lock or
// an agent fails its test instead of hanging the whole run.
const toolTimeout = 2 * time.Minute

// GPGV returns nil if gpgv accepts sig (binary or armored) over data for the
// armored certificate cert, else an error holding gpgv's output.
func GPGV(t testing.TB, cert, data, sig []byte) error {
	t.Helper()
	gpgv := testenv.Tool(t, "gpgv")
	dir := t.TempDir()
	keyring := dearmor(t, dir, "keyring.gpg", cert)
	dataFile, sigFile := writeFiles(t, dir, data, sig)
	return run(dir, gpgv, "--homedir", dir, "--keyring", keyring, sigFile, dataFile)
}

// SQV returns nil if sqv accepts sig (binary or armored) over data for the
// armored certificate cert, else an error holding sqv's output.
func SQV(t testing.TB, cert, data, sig []byte) error {
	t.Helper()
	sqv := testenv.Tool(t, "sqv")
	dir := t.TempDir()
	certFile := write(t, dir, "cert.asc", cert)
	dataFile, sigFile := writeFiles(t, dir, data, sig)
	return run(dir, sqv, "--keyring", certFile, sigFile, dataFile)
}

// Fingerprint returns the primary key fingerprint of the first key in cert,
// in upper-case hex, as gpg --show-keys prints it.
func Fingerprint(t testing.TB, cert []byte) string {
	t.Helper()
	gpg := testenv.Tool(t, "gpg")
	dir := t.TempDir()
	certFile := write(t, dir, "cert.asc", cert)
	out, err := output(dir, gpg, "--homedir", dir, "--batch", "--with-colons", "--show-keys", certFile)
	if err != nil {
		t.Fatalf("read fingerprint: %v", err)
	}
	fpr := parseFingerprint(string(out))
	if fpr == "" {
		t.Fatalf("read fingerprint: no primary key in gpg --show-keys output:\n%s", out)
	}
	return fpr
}

// parseFingerprint returns field 10 of the first fpr record that follows a pub
// record in gpg's --with-colons output (doc/DETAILS in GnuPG), or "".
func parseFingerprint(colons string) string {
	inPub := false
	for _, line := range strings.Split(colons, "\n") {
		f := strings.Split(line, ":")
		switch {
		case f[0] == "pub":
			inPub = true
		case f[0] == "fpr" && inPub && len(f) > 9:
			return f[9]
		case f[0] == "sub":
			inPub = false
		}
	}
	return ""
}

// verifiers lists the checks that [All] runs.
var verifiers = []struct {
	name   string
	verify func(t testing.TB, cert, data, sig []byte) error
}{
	{"gpgv", GPGV},
	{"sqv", SQV},
	{"pacman-key", PacmanKey},
}

// All asserts that gpgv, sqv and pacman-key each accept sig over data for cert
// and each reject it over data with its last byte flipped (or a byte appended
// when data is empty). Every failure is reported with t.Errorf.
func All(t testing.TB, cert, data, sig []byte) {
	t.Helper()
	bad := tamper(data)
	for _, v := range verifiers {
		if err := v.verify(t, cert, data, sig); err != nil {
			t.Errorf("%s rejected the signature: %v", v.name, err)
		}
		if err := v.verify(t, cert, bad, sig); err == nil {
			t.Errorf("%s accepted the signature over tampered data", v.name)
		}
	}
}

// tamper returns a copy of data with its last byte flipped, or one byte long
// if data is empty.
func tamper(data []byte) []byte {
	if len(data) == 0 {
		return []byte{0}
	}
	bad := bytes.Clone(data)
	bad[len(bad)-1] ^= 0xff
	return bad
}

// isArmored reports whether b starts, after white space, with an ASCII armor
// header line (RFC 4880 section 6.2).
func isArmored(b []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("-----BEGIN PGP "))
}

// dearmor writes b to dir/name, removing ASCII armor with gpg --dearmor if
// there is any, and returns the file's path.
func dearmor(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	if !isArmored(b) {
		return write(t, dir, name, b)
	}
	gpg := testenv.Tool(t, "gpg")
	in := write(t, dir, name+".asc", b)
	out := filepath.Join(dir, name)
	if err := run(dir, gpg, "--homedir", dir, "--batch", "--yes", "--output", out, "--dearmor", in); err != nil {
		t.Fatalf("dearmor %s: %v", name, err)
	}
	return out
}

// writeFiles writes data and sig into dir and returns their paths.
func writeFiles(t testing.TB, dir string, data, sig []byte) (dataFile, sigFile string) {
	t.Helper()
	return write(t, dir, "data", data), write(t, dir, "data.sig", sig)
}

func write(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatalf("write test file: %v", err)
	}
	return path
}

// run runs the tool at path in dir and returns an error holding its output,
// standard output and error interleaved, if it fails.
func run(dir, path string, args ...string) error {
	cmd, cancel := command(dir, path, args...)
	defer cancel()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", filepath.Base(path), strings.Join(args, " "), err, out)
	}
	return nil
}

// output runs the tool at path in dir and returns its standard output; the
// error holds its standard error.
func output(dir, path string, args ...string) ([]byte, error) {
	cmd, cancel := command(dir, path, args...)
	defer cancel()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v\n%s", filepath.Base(path), strings.Join(args, " "), err, stderr.Bytes())
	}
	return out, nil
}

// command prepares the tool at path to run in dir, with HOME and GNUPGHOME
// pointing at dir, a C locale, no stdin and a time limit.
func command(dir, path string, args ...string) (*exec.Cmd, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = dir
	cmd.Env = env(dir)
	return cmd, cancel
}

// env returns the process environment without anything that would lead a
// tool to the user's keys or agent, or translate its messages.
func env(home string) []string {
	var e []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "HOME", name == "GNUPGHOME", name == "GPG_AGENT_INFO",
			name == "LANG", name == "LANGUAGE", strings.HasPrefix(name, "LC_"):
			continue
		}
		e = append(e, kv)
	}
	return append(e, "HOME="+home, "GNUPGHOME="+home, "LC_ALL=C")
}
