package verifytest

import (
	"bytes"
	"os"
	"path/filepath"
	"signstar/internal/testenv"
	"testing"
)

// ClearGPGV returns nil if gpgv accepts msg, a cleartext signed message
// (RFC 4880 section 7), for the armored certificate cert.
func ClearGPGV(t testing.TB, cert, msg []byte) error {
	t.Helper()
	gpgv := testenv.Tool(t, "gpgv")
	dir := t.TempDir()
	keyring := dearmor(t, dir, "keyring.gpg", cert)
	return run(dir, gpgv, "--homedir", dir, "--keyring", keyring, write(t, dir, "msg.asc", msg))
}

// ClearGPG returns nil if gpg --verify accepts msg for cert, imported into
// a fresh GnuPG home.
func ClearGPG(t testing.TB, cert, msg []byte) error {
	t.Helper()
	gpg := testenv.Tool(t, "gpg")
	dir := t.TempDir()
	if err := run(dir, gpg, "--homedir", dir, "--batch", "--import", write(t, dir, "cert.asc", cert)); err != nil {
		t.Fatalf("import certificate: %v", err)
	}
	return run(dir, gpg, "--homedir", dir, "--batch", "--verify", write(t, dir, "msg.asc", msg))
}

// ClearSQ returns the text that sq verify (Sequoia) recovers from msg, and
// nil if it accepts msg for cert.
func ClearSQ(t testing.TB, cert, msg []byte) ([]byte, error) {
	t.Helper()
	sq := testenv.Tool(t, "sq")
	dir := t.TempDir()
	out := filepath.Join(dir, "text")
	err := run(dir, sq, "verify", "--signer-cert", write(t, dir, "cert.asc", cert),
		"--output", out, write(t, dir, "msg.asc", msg))
	if err != nil {
		return nil, err
	}
	text, rerr := os.ReadFile(out)
	if rerr != nil {
		t.Fatalf("read sq output: %v", rerr)
	}
	return text, nil
}

// clearVerifiers lists the checks that [AllClear] runs.
var clearVerifiers = []struct {
	name   string
	verify func(t testing.TB, cert, msg []byte) error
}{
	{"gpgv", ClearGPGV},
	{"gpg", ClearGPG},
	{"sq", func(t testing.TB, cert, msg []byte) error { _, err := ClearSQ(t, cert, msg); return err }},
}

// AllClear asserts that gpgv, gpg and sq each accept the cleartext signed
// message msg for cert, and each reject it with one byte inserted at the
// start of its text. Every failure is reported with t.Errorf.
func AllClear(t testing.TB, cert, msg []byte) {
	t.Helper()
	bad := TamperClear(t, msg)
	for _, v := range clearVerifiers {
		if err := v.verify(t, cert, msg); err != nil {
			t.Errorf("%s rejected the cleartext message: %v", v.name, err)
		}
		if err := v.verify(t, cert, bad); err == nil {
			t.Errorf("%s accepted the cleartext message with its text changed", v.name)
		}
	}
}

// TamperClear returns msg with the byte 'X' inserted where its text
// starts, after the armor headers' empty line.
func TamperClear(t testing.TB, msg []byte) []byte {
	t.Helper()
	i := bytes.Index(msg, []byte("\n\n"))
	if i < 0 {
		t.Fatalf("no end of armor headers in cleartext message:\n%s", msg)
	}
	i += 2
	return append(append(bytes.Clone(msg[:i]), 'X'), msg[i:]...)
}
