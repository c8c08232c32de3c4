package verifytest

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"signstar/internal/testenv"
)

// A signature by several keys (gpg -u A -u B) is checked as apt checks it:
// by which of its signatures a verifier reports good, not by the exit
// status alone. gpgv and gpg exit 2 when one of the signatures is by a key
// missing from the keyring, yet still report the good ones (apt reads
// those from --status-fd); sqv exits 0 once one signature is good and
// prints the fingerprint of each good one.

// GPGVSigners returns the fingerprints of the keys whose signatures gpgv
// reports good (VALIDSIG) in sig over data, for a keyring holding the
// armored certificates certs; with data nil, sig is a cleartext signed
// message. A signature by a key outside the keyring makes gpgv exit 2, so
// the exit status is not what counts here.
func GPGVSigners(t testing.TB, certs [][]byte, data, sig []byte) []string {
	t.Helper()
	gpgv := testenv.Tool(t, "gpgv")
	dir := t.TempDir()
	args := []string{"--homedir", dir, "--status-fd", "1"}
	for i, c := range certs {
		args = append(args, "--keyring", dearmor(t, dir, "keyring"+string(rune('a'+i))+".gpg", c))
	}
	return validSigs(t, dir, gpgv, append(args, files(t, dir, data, sig)...)...)
}

// GPGSigners is GPGVSigners for gpg --verify, with certs imported into a
// fresh GnuPG home.
func GPGSigners(t testing.TB, certs [][]byte, data, sig []byte) []string {
	t.Helper()
	gpg := testenv.Tool(t, "gpg")
	dir := t.TempDir()
	for i, c := range certs {
		if err := run(dir, gpg, "--homedir", dir, "--batch", "--import", write(t, dir, "cert"+string(rune('a'+i))+".asc", c)); err != nil {
			t.Fatalf("import certificate: %v", err)
		}
	}
	args := []string{"--homedir", dir, "--batch", "--status-fd", "1", "--verify"}
	return validSigs(t, dir, gpg, append(args, files(t, dir, data, sig)...)...)
}

// SQVSigners returns the fingerprints sqv prints for the good signatures
// in the detached signature sig over data, sorted (sqv's order is not the
// signatures'), for the armored certificates certs, and sqv's error if it
// found none.
func SQVSigners(t testing.TB, certs [][]byte, data, sig []byte) ([]string, error) {
	t.Helper()
	sqv := testenv.Tool(t, "sqv")
	dir := t.TempDir()
	var args []string
	for i, c := range certs {
		args = append(args, "--keyring", write(t, dir, "cert"+string(rune('a'+i))+".asc", c))
	}
	out, err := output(dir, sqv, append(args, files(t, dir, data, sig)...)...)
	return slices.Sorted(slices.Values(strings.Fields(string(out)))), err
}

// files writes sig and data (if not nil) to dir and returns their paths
// in the order verifiers take them.
func files(t testing.TB, dir string, data, sig []byte) []string {
	t.Helper()
	if data == nil {
		return []string{write(t, dir, "msg.asc", sig)}
	}
	dataFile, sigFile := writeFiles(t, dir, data, sig)
	return []string{sigFile, dataFile}
}

// validSigs runs a GnuPG tool whose --status-fd is 1 and returns the
// fingerprints of its VALIDSIG lines; a failure other than exit status 1
// (bad signature) or 2 (missing key) fails the test.
func validSigs(t testing.TB, dir, path string, args ...string) []string {
	t.Helper()
	cmd, cancel := command(dir, path, args...)
	defer cancel()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && (!errors.As(err, &exit) || exit.ExitCode() > 2) {
		t.Fatalf("%s: %v\n%s", filepath.Base(path), err, stderr.Bytes())
	}
	var fprs []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == "[GNUPG:]" && f[1] == "VALIDSIG" {
			fprs = append(fprs, f[2])
		}
	}
	return fprs
}
