package main

// End-to-end tests of the key lifecycle: the pre-made revocation
// certificate of key generate and adopt, key extend, key revoke and key
// rotate, on a SoftHSM2 token, read back by gpg and sq, signatures
// checked by gpgv.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"signstar/internal/testenv"
	"signstar/internal/verifytest"
)

// gpgHome is a fresh GnuPG home for the gpg commands of one test.
type gpgHome struct {
	t   *testing.T
	dir string
}

func newGPGHome(t *testing.T) gpgHome {
	t.Helper()
	testenv.Tool(t, "gpg")
	return gpgHome{t, t.TempDir()}
}

// run runs gpg in the home with args and returns its standard output;
// the test fails if gpg does.
func (h gpgHome) run(args ...string) []byte {
	h.t.Helper()
	cmd := exec.Command(testenv.Tool(h.t, "gpg"), append([]string{"--homedir", h.dir, "--batch", "--with-colons"}, args...)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "GNUPGHOME="+h.dir)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		h.t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, errb.Bytes())
	}
	return out
}

// importData imports armored or binary OpenPGP data.
func (h gpgHome) importData(data []byte) {
	h.t.Helper()
	p := filepath.Join(h.dir, "import.asc")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		h.t.Fatal(err)
	}
	h.run("--import", p)
}

// pub is the "pub" record of key fpr in gpg's colon listing (fields
// numbered from 1 as in doc/DETAILS: 2 validity, 7 expiry).
func (h gpgHome) pub(fpr string, args ...string) []string {
	h.t.Helper()
	out := h.run(append(args, "--list-keys", fpr)...)
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "pub:") {
			return append([]string{""}, strings.Split(line, ":")...)
		}
	}
	h.t.Fatalf("no pub record for %s in\n%s", fpr, out)
	return nil
}

// sqInspect is what sq inspect says of data.
func sqInspect(t *testing.T, data []byte, args ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cert.asc")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(testenv.Tool(t, "sq"), append(append([]string{"inspect"}, args...), p)...).CombinedOutput()
	if err != nil {
		t.Fatalf("sq inspect: %v\n%s", err, out)
	}
	return string(out)
}

func (f *fixture) fingerprint(name string) string {
	f.t.Helper()
	return verifytest.Fingerprint(f.t, f.ok(nil, "key", "export", "--name", name))
}

// TestRevocationCertificate: key generate and key adopt write
// certs/NAME.rev, mode 0600, which gpg and sq read as the key revoked.
func TestRevocationCertificate(t *testing.T) {
	f := newFixture(t)
	f.generate("repo", "ed25519")
	f.ok(nil, "key", "generate", "--name", "rsa", "--type", "rsa3072", "--uid", "RSA <rsa@example.org>", "--expires", "1y")
	f.keypairgen("0a", []string{"EC:prime256v1"})
	f.ok(nil, "key", "adopt", "--name", "card", "--id", "0a", "--uid", "Card <card@example.org>")
	for _, name := range []string{"repo", "rsa", "card"} {
		t.Run(name, func(t *testing.T) {
			rev := filepath.Join(f.dir, "certs", name+".rev")
			fi, err := os.Stat(rev)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600", rev, fi.Mode().Perm())
			}
			data, err := os.ReadFile(rev)
			if err != nil {
				t.Fatal(err)
			}
			fpr := f.fingerprint(name)
			h := newGPGHome(t)
			h.importData(f.ok(nil, "key", "export", "--name", name))
			if v := h.pub(fpr)[2]; v == "r" {
				t.Fatalf("key revoked before the revocation certificate was imported")
			}
			h.importData(data)
			if v := h.pub(fpr)[2]; v != "r" {
				t.Errorf("gpg validity after importing %s.rev = %q, want r", name, v)
			}
			// sq reads the file on its own: it holds the primary key. gpg
			// wants the key's user ID too and skips it, as it does its own
			// pre-made revocation (the bare signature).
			if out := sqInspect(t, data); !strings.Contains(out, "Revoked") || !strings.Contains(out, fpr) {
				t.Errorf("sq inspect of %s.rev alone does not say %s is revoked:\n%s", name, fpr, out)
			}
		})
	}
	// The certificates themselves are not revoked: the keys sign.
	data := []byte("still signing\n")
	sig := f.ok(data, "sign", "--key", "repo")
	verifytest.All(t, f.ok(nil, "key", "export", "--name", "repo"), data, sig)
}

// TestKeyRevoke: key revoke adds a revocation with its reason to the
// certificate key export returns, gpg and sq see it, and the key signs
// nothing more; a second revoke is refused.
func TestKeyRevoke(t *testing.T) {
	f := newFixture(t)
	f.generate("repo", "ed25519")
	fpr := f.fingerprint("repo")
	data := []byte("signed before\n")
	before := f.ok(data, "sign", "--key", "repo")
	time.Sleep(time.Second) // the revocation is later than the signature, in seconds
	f.ok(nil, "key", "revoke", "--name", "repo", "--reason", "retired", "--message", "moved to the 2027 key")
	rec := lastKeyEvent(t, f)
	rec.want(t, changedFields("revoke", "repo", fpr))
	rec.want(t, map[string]string{"SIGNSTAR_DETAIL": "reason retired"})
	cert := f.ok(nil, "key", "export", "--name", "repo")

	h := newGPGHome(t)
	h.importData(cert)
	if v := h.pub(fpr)[2]; v != "r" {
		t.Errorf("gpg validity = %q, want r", v)
	}
	// gpg --list-sigs: the rev record of class 20x with reason 03 (key
	// retired) and the message.
	if out := string(h.run("--list-sigs", fpr)); !strings.Contains(out, ":20x,03:") || !strings.Contains(out, ":moved to the 2027 key:") {
		t.Errorf("gpg --list-sigs shows no key revocation (class 20x, reason 03, the message):\n%s", out)
	}
	out := sqInspect(t, cert)
	if !strings.Contains(out, "Revoked") || !strings.Contains(out, "moved to the 2027 key") || !strings.Contains(out, "retired") {
		t.Errorf("sq inspect does not show the revocation, its reason and message:\n%s", out)
	}
	// "retired" is a soft revocation (RFC 4880 section 5.2.3.23): a
	// signature made before it stays good, for gpgv and for sqv.
	if err := verifytest.GPGV(t, cert, data, before); err != nil {
		t.Errorf("gpgv of a signature made before the revocation: %v", err)
	}
	if err := verifytest.SQV(t, cert, data, before); err != nil {
		t.Errorf("sqv of a signature made before the revocation: %v", err)
	}
	assertError(t, f.run(data, "sign", "--key", "repo"), 1, "revoked")

	// "compromised" is a hard revocation: sqv refuses even a signature
	// made before it.
	f.generate("leaked", "ed25519")
	early := f.ok(data, "sign", "--key", "leaked")
	time.Sleep(time.Second)
	f.ok(nil, "key", "revoke", "--name", "leaked", "--reason", "compromised")
	if err := verifytest.SQV(t, f.ok(nil, "key", "export", "--name", "leaked"), data, early); err == nil {
		t.Errorf("sqv accepts a signature by a key revoked as compromised")
	}
	assertUnchanged(t, f, func() {
		assertError(t, f.run(nil, "key", "revoke", "--name", "repo", "--reason", "compromised"), 2, "is revoked")
	})
	lastKeyEvent(t, f).want(t, map[string]string{"SIGNSTAR_RESULT": "refused", "SIGNSTAR_EVENT": "revoke", "SIGNSTAR_KEY_FINGERPRINT": fpr})
	assertError(t, f.run(nil, "key", "extend", "--name", "repo", "--expires", "2y"), 2, "revoked")
}

// TestKeyExtend: key extend gives a key with a short expiry a new one;
// gpg and sq read it from the exported certificate, a signature made
// before verifies with gpgv against it, and gpg with its clock three days
// on finds the old certificate expired and the new one valid. A signature
// made after the old expiry cannot be made here (signstar signs at the
// present time and faketime is not installed).
func TestKeyExtend(t *testing.T) {
	f := newFixture(t)
	f.ok(nil, "key", "generate", "--name", "repo", "--type", "ed25519", "--uid", "Repo <repo@example.org>", "--expires", "1d")
	fpr := f.fingerprint("repo")
	oldCert := f.ok(nil, "key", "export", "--name", "repo")
	data := []byte("signed before the extension\n")
	before := f.ok(data, "sign", "--key", "repo")
	time.Sleep(time.Second) // the new self-signature must be newer, in seconds

	f.ok(nil, "key", "extend", "--name", "repo", "--expires", "2y")
	lastKeyEvent(t, f).want(t, changedFields("extend", "repo", fpr))
	want := time.Now().UTC().AddDate(2, 0, 0)
	cert := f.ok(nil, "key", "export", "--name", "repo")
	h := newGPGHome(t)
	h.importData(cert)
	pub := h.pub(fpr)
	exp, err := strconv.ParseInt(pub[7], 10, 64)
	if err != nil || time.Unix(exp, 0).Sub(want).Abs() > time.Minute {
		t.Errorf("gpg expiry field %q, want about %v", pub[7], want)
	}
	if out := sqInspect(t, cert); !strings.Contains(out, "Expiration time: "+want.Format(time.DateOnly)) {
		t.Errorf("sq inspect does not show the expiry %s:\n%s", want.Format(time.DateOnly), out)
	}
	if err := verifytest.GPGV(t, cert, data, before); err != nil {
		t.Errorf("gpgv of a signature made before the extension: %v", err)
	}
	after := f.ok(data, "sign", "--key", "repo")
	verifytest.All(t, cert, data, after)

	later := strconv.FormatInt(time.Now().Add(72*time.Hour).Unix(), 10)
	if v := h.pub(fpr, "--faked-system-time", later)[2]; v == "e" {
		t.Errorf("gpg three days on: the extended key is expired")
	}
	old := newGPGHome(t)
	old.importData(oldCert)
	if v := old.pub(fpr, "--faked-system-time", later)[2]; v != "e" {
		t.Errorf("gpg three days on: the original certificate's validity = %q, want e (expired)", v)
	}

	time.Sleep(time.Second)
	f.ok(nil, "key", "extend", "--name", "repo", "--expires", "never")
	h.importData(f.ok(nil, "key", "export", "--name", "repo"))
	if e := h.pub(fpr)[7]; e != "" {
		t.Errorf("gpg expiry after --expires never = %q, want none", e)
	}
}

// TestKeyRotate: the new key's user ID is certified by the old one, gpg
// trusting only the old key finds the new one fully valid, the new key
// is the default and the old one expires after the overlap.
func TestKeyRotate(t *testing.T) {
	f := newFixture(t)
	f.generate("old", "ed25519")
	f.generate("new", "p256")
	oldFpr, newFpr := f.fingerprint("old"), f.fingerprint("new")
	time.Sleep(time.Second) // old's new self-signature must be newer
	f.ok(nil, "key", "rotate", "--from", "old", "--to", "new", "--overlap", "90d")
	events := readKeyEvents(t, f)
	if len(events) < 2 {
		t.Fatalf("%d lifecycle records, want rotate's two", len(events))
	}
	events[len(events)-2].want(t, changedFields("rotate", "old", oldFpr))
	events[len(events)-1].want(t, changedFields("rotate", "new", newFpr))
	events[len(events)-1].want(t, map[string]string{"SIGNSTAR_DETAIL": "from old to new, overlap 90d"})

	h := newGPGHome(t)
	h.importData(f.ok(nil, "key", "export", "--name", "old"))
	h.importData(f.ok(nil, "key", "export", "--name", "new"))
	trust := []string{"--trust-model", "pgp", "--trusted-key", oldFpr[24:]}
	sigs := string(h.run(append(trust, "--check-sigs", newFpr)...))
	if !strings.Contains(sigs, "sig:!::22:"+oldFpr[24:]+":") {
		t.Errorf("gpg --check-sigs shows no good certification by the old key %s:\n%s", oldFpr[24:], sigs)
	}
	if v := h.pub(newFpr, trust...)[2]; v != "f" {
		t.Errorf("gpg validity of the new key, trusting the old = %q, want f", v)
	}
	// The certification is what does it: a home that does not trust the
	// old key (gpg keeps --trusted-key in its trustdb) finds no validity.
	plain := newGPGHome(t)
	plain.importData(f.ok(nil, "key", "export", "--name", "old"))
	plain.importData(f.ok(nil, "key", "export", "--name", "new"))
	if v := plain.pub(newFpr, "--trust-model", "pgp")[2]; v == "f" || v == "u" {
		t.Errorf("gpg finds the new key valid (%q) without trusting the old", v)
	}
	exp, _ := strconv.ParseInt(h.pub(oldFpr)[7], 10, 64)
	if want := time.Now().AddDate(0, 0, 90); time.Unix(exp, 0).Sub(want).Abs() > time.Minute {
		t.Errorf("old key expires %v, want about %v (the overlap)", time.Unix(exp, 0), want)
	}
	if list := string(f.ok(nil, "key", "list")); !strings.Contains(list, "new (default)") {
		t.Errorf("key list does not show new as the default:\n%s", list)
	}
	data := []byte("signed after the rotation\n")
	verifytest.All(t, f.ok(nil, "key", "export", "--name", "new"), data, f.ok(data, "sign"))
	verifytest.All(t, f.ok(nil, "key", "export", "--name", "old"), data, f.ok(data, "sign", "--key", "old"))
}

// snapshot is what a refused command must leave as it was: the config,
// every file under certs/ (with its mode) and the token's objects.
func snapshot(t *testing.T, f *fixture) string {
	t.Helper()
	var b strings.Builder
	conf, err := os.ReadFile(f.conf)
	if err != nil {
		t.Fatal(err)
	}
	b.Write(conf)
	entries, _ := os.ReadDir(filepath.Join(f.dir, "certs"))
	for _, e := range entries {
		p := filepath.Join(f.dir, "certs", e.Name())
		data, err := os.ReadFile(p)
		fi, _ := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "\n%s %v\n%s", e.Name(), fi.Mode(), data)
	}
	objs, err := f.p11("--list-objects").run()
	if err != nil {
		t.Fatalf("pkcs11-tool --list-objects: %v\n%s", err, objs)
	}
	b.Write(objs)
	return b.String()
}

func assertUnchanged(t *testing.T, f *fixture, run func()) {
	t.Helper()
	before := snapshot(t, f)
	run()
	if after := snapshot(t, f); after != before {
		t.Errorf("a refused command changed the config, certs/ or the token")
	}
}

func TestKeyLifecycleRefusals(t *testing.T) {
	f := newFixture(t)
	f.generate("old", "ed25519")
	f.generate("new", "ed25519")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"extend unknown key", []string{"key", "extend", "--name", "nope", "--expires", "2y"}, `no key "nope"`},
		{"extend bad duration", []string{"key", "extend", "--name", "old", "--expires", "2x"}, `--expires "2x"`},
		{"extend date in the past", []string{"key", "extend", "--name", "old", "--expires", "2020-01-01"}, "in the past"},
		{"extend too far", []string{"key", "extend", "--name", "old", "--expires", "200y"}, `--expires "200y"`},
		{"revoke unknown key", []string{"key", "revoke", "--name", "nope", "--reason", "retired"}, `no key "nope"`},
		{"revoke bad reason", []string{"key", "revoke", "--name", "old", "--reason", "bored"}, "--reason"},
		{"revoke message with a newline", []string{"key", "revoke", "--name", "old", "--reason", "retired", "--message", "a\nb"}, "--message"},
		{"rotate to itself", []string{"key", "rotate", "--from", "old", "--to", "old"}, "same key"},
		{"rotate unknown old", []string{"key", "rotate", "--from", "nope", "--to", "new"}, `no key "nope"`},
		{"rotate unknown new", []string{"key", "rotate", "--from", "old", "--to", "nope"}, `no key "nope"`},
		{"rotate bad overlap", []string{"key", "rotate", "--from", "old", "--to", "new", "--overlap", "soon"}, "--overlap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertUnchanged(t, f, func() { assertError(t, f.run(nil, tt.args...), 2, tt.want) })
		})
	}
}
