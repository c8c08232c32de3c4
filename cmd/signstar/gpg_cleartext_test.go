package main

// The gpg front end's signatures as a release tool gets them: cleartext
// signed messages (--clearsign) to stdout, to -o FILE and to FILE.asc,
// checked by gpgv, sq and gpg --verify with the release engineer's keyring;
// detached binary, armored and text signatures by one key and by two;
// SIG_CREATED on the status fd; the key listing and version that makepkg
// and debsign read; and signing through the local token on the signing
// host itself, where there is no client config.

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"signstar/internal/testenv"
	"signstar/internal/verifytest"
)

// localGPGRecipe is README's recipe for the signing host itself: no client
// config, so the front end signs through the local signstar config.
const localGPGRecipe = `signstar gpg --local-user repo --armor --detach-sign Release`

// gpgClearTexts are what cleartext framing must get right, one case each.
var gpgClearTexts = []struct{ name, text string }{
	{"trailing whitespace", "Label: test  \nSuite: stable\t\t\nCodename: x \t \n"},
	{"dash lines", "-----BEGIN PGP SIGNATURE-----\n- dash\n--\n-\nend\n"},
	{"from lines", "From here\nFrom \nFrom\n"},
	{"crlf", "Origin: signstar\r\nLabel: test\r\n\r\nend\r\n"},
	{"no final newline", "first\nlast line without a newline"},
	{"empty last line", "text\n\n"},
	{"utf-8", "Maintainer: Jörg Dünn <j@example.org>\nDescription: 日本語 ✓ ça\n"},
}

// TestGPGClearsign: gpg --clearsign through the front end, to stdout, to
// -o FILE and to FILE.asc, makes a message that gpgv, sq and gpg --verify
// (a fresh home and the release engineer's GNUPGHOME) accept for repo's
// certificate, that each rejects with one byte of its text changed, and
// whose text sq gives back as it was sent, last line end and all.
func TestGPGClearsign(t *testing.T) {
	g := newGPGFront(t)
	fpr := fingerprintOf(t, g.certs["repo"])
	for _, tt := range gpgClearTexts {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			in := []byte(tt.text)
			writeFile(t, filepath.Join(dir, "Release"), in, 0o644)
			for _, form := range []struct {
				name   string
				args   []string
				stdin  bool
				output string // "": stdout
			}{
				{"stdout", []string{"--clearsign"}, true, ""},
				{"-o", []string{"--clearsign", "-o", "InRelease", "Release"}, false, "InRelease"},
				{"default", []string{"--clearsign", "Release"}, false, "Release.asc"},
			} {
				var stdin []byte
				if form.stdin {
					stdin = in
				}
				msg := gpgOutput(t, g, dir, stdin, form.output, form.args...)
				if !bytes.HasPrefix(msg, []byte("-----BEGIN PGP SIGNED MESSAGE-----\nHash: ")) {
					t.Errorf("%s: message starts %q", form.name, msg[:min(len(msg), 60)])
				}
				assertSigPackets(t, clearSignatureBlock(t, msg), packet.SigTypeText, fpr)
				verifytest.AllClear(t, g.certs["repo"], msg)
				if err := gpgVerifyHome(t, g, dir, msg); err != nil {
					t.Errorf("%s: gpg --verify in GNUPGHOME: %v", form.name, err)
				}
				if err := gpgVerifyHome(t, g, dir, verifytest.TamperClear(t, msg)); err == nil {
					t.Errorf("%s: gpg --verify in GNUPGHOME accepted a changed text", form.name)
				}
				got, err := verifytest.ClearSQ(t, g.certs["repo"], msg)
				if err != nil {
					t.Fatalf("%s: sq verify: %v", form.name, err)
				}
				// sq ends the text it recovers with a line end of its own.
				if want, got := signedText(string(in)), signedText(strings.TrimSuffix(string(got), "\n")); got != want {
					t.Errorf("%s: sq recovers the text %q, want %q", form.name, got, want)
				}
			}
		})
	}
}

// TestGPGDetached: the detached forms release tools ask for write where
// gpg writes (FILE.sig binary, FILE.asc armored, stdout for stdin), by the
// key or keys named, and each verifier rejects a one-byte change.
func TestGPGDetached(t *testing.T) {
	g := newGPGFront(t)
	repo, pkg := fingerprintOf(t, g.certs["repo"]), fingerprintOf(t, g.certs["pkg"])
	both := [][]byte{g.certs["repo"], g.certs["pkg"]}
	const text = "Origin: signstar\r\nLabel: test  \n- dash\nFrom here\n"
	tests := []struct {
		name    string
		args    []string
		stdin   bool
		output  string // "": stdout
		armored bool
		sigType packet.SignatureType
		signers []string
	}{
		{"-b FILE", []string{"-b", "Release"}, false, "Release.sig", false, packet.SigTypeBinary, []string{repo}},
		{"-ab FILE", []string{"-ab", "Release"}, false, "Release.asc", true, packet.SigTypeBinary, []string{repo}},
		{"-sb stdin", []string{"-sb"}, true, "", false, packet.SigTypeBinary, []string{repo}},
		{"-b -o - FILE", []string{"-b", "-o", "-", "Release"}, false, "", false, packet.SigTypeBinary, []string{repo}},
		{"-ab -o - -- -", []string{"-ab", "-o", "-", "--", "-"}, true, "", true, packet.SigTypeBinary, []string{repo}},
		{"-bt FILE", []string{"-bt", "Release"}, false, "Release.sig", false, packet.SigTypeText, []string{repo}},
		{"-u pkg -u repo -b FILE", []string{"-u", "pkg", "-u", "repo", "-b", "Release"}, false, "Release.sig", false, packet.SigTypeBinary, []string{pkg, repo}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			data := []byte(text)
			writeFile(t, filepath.Join(dir, "Release"), data, 0o644)
			var stdin []byte
			if tt.stdin {
				stdin = data
			}
			sig := gpgOutput(t, g, dir, stdin, tt.output, tt.args...)
			if got := bytes.HasPrefix(sig, []byte("-----BEGIN PGP SIGNATURE-----\n")); got != tt.armored {
				t.Errorf("armored = %v, want %v", got, tt.armored)
			}
			assertSigPackets(t, sig, tt.sigType, tt.signers...)
			if len(tt.signers) == 1 {
				verifytest.All(t, g.certs["repo"], data, sig)
			}
			assertAllSigners(t, both, data, sig, tt.signers)
			if tt.sigType == packet.SigTypeText {
				// A text signature holds over the text with other line
				// ends (RFC 4880 section 5.2.1, type 0x01): gpg -t.
				lf := []byte(strings.ReplaceAll(text, "\r\n", "\n"))
				for v, verify := range map[string]func(testing.TB, []byte, []byte, []byte) error{"gpgv": verifytest.GPGV, "sqv": verifytest.SQV} {
					if err := verify(t, g.certs["repo"], lf, sig); err != nil {
						t.Errorf("%s rejects the text signature over the text with LF line ends: %v", v, err)
					}
				}
			}
		})
	}
}

// assertAllSigners checks that gpgv, gpg and sqv each find a good
// signature by exactly the keys want (fingerprints, sorted) in sig over
// data with every certificate in certs at hand, and none over data with
// its last byte changed.
func assertAllSigners(t *testing.T, certs [][]byte, data, sig []byte, want []string) {
	t.Helper()
	bad := bytes.Clone(data)
	bad[len(bad)-1] ^= 0x01
	sqv := func(t testing.TB, certs [][]byte, data, sig []byte) []string {
		got, _ := verifytest.SQVSigners(t, certs, data, sig)
		return got
	}
	want = slices.Sorted(slices.Values(want)) // verifiers report in their own order
	for name, signers := range map[string]func(testing.TB, [][]byte, []byte, []byte) []string{
		"gpgv": verifytest.GPGVSigners, "gpg": verifytest.GPGSigners, "sqv": sqv,
	} {
		if got := slices.Sorted(slices.Values(signers(t, certs, data, sig))); !slices.Equal(got, want) {
			t.Errorf("%s finds good signatures by %v, want %v", name, got, want)
		}
		if got := signers(t, certs, bad, sig); len(got) != 0 {
			t.Errorf("%s finds good signatures by %v over changed data", name, got)
		}
	}
}

// TestGPGStatusFD: --status-fd N, in both spellings git and others use,
// prints SIG_CREATED for each signature made, with the form (D detached, C
// cleartext), the algorithm, hash, class, time and fingerprint of the
// signature actually written.
func TestGPGStatusFD(t *testing.T) {
	g := newGPGFront(t)
	repo, pkg := fingerprintOf(t, g.certs["repo"]), fingerprintOf(t, g.certs["pkg"])
	tests := []struct {
		name    string
		args    []string
		fd      int
		form    string
		signers []string
	}{
		{"--status-fd 2 -b", []string{"--status-fd", "2", "-b", "-o", "out", "Release"}, 2, "D", []string{repo}},
		{"--status-fd=1 -b", []string{"--status-fd=1", "-b", "-o", "out", "Release"}, 1, "D", []string{repo}},
		{"--status-fd=1 -bt", []string{"--status-fd=1", "-bt", "-o", "out", "Release"}, 1, "D", []string{repo}},
		{"--status-fd=1 --clearsign", []string{"--status-fd=1", "--clearsign", "-o", "out", "Release"}, 1, "C", []string{repo}},
		{"--status-fd 2 --clearsign pkg", []string{"--status-fd", "2", "-u", "pkg", "--clearsign", "-o", "out", "Release"}, 2, "C", []string{pkg}},
		{"--status-fd 2 two keys", []string{"--status-fd", "2", "-u", "pkg", "-u", "repo", "-b", "-o", "out", "Release"}, 2, "D", []string{pkg, repo}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "Release"), "Origin: signstar\n", 0o644)
			r := g.gpg(dir, nil, tt.args...)
			if r.code != 0 {
				t.Fatalf("gpg %s: exit %d\n%s", strings.Join(tt.args, " "), r.code, r.stderr)
			}
			status := r.stderr
			if tt.fd == 1 {
				status = r.stdout
				for _, line := range strings.Split(strings.TrimSuffix(string(r.stdout), "\n"), "\n") {
					if !strings.HasPrefix(line, "[GNUPG:] ") {
						t.Errorf("stdout with --status-fd=1 and -o holds a line that is not a status line: %q", line)
					}
				}
			}
			out := readFile(t, filepath.Join(dir, "out"))
			sigs := out
			if tt.form == "C" {
				sigs = clearSignatureBlock(t, out)
			}
			var want []string
			for _, s := range signaturePackets(t, sigs) {
				want = append(want, sigCreatedLine(tt.form, s))
			}
			if got := sigCreatedLines(status); !slices.Equal(got, want) {
				t.Errorf("status fd %d says\n%s\nwant\n%s", tt.fd, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// sigCreatedLine is the status line gpg prints for the signature s made
// in form (D or C): doc/DETAILS in GnuPG, "SIG_CREATED <type> <pk_algo>
// <hash_algo> <class> <timestamp> <keyfpr>".
func sigCreatedLine(form string, s *packet.Signature) string {
	hash, _ := openpgp.HashToHashId(s.Hash)
	return fmt.Sprintf("[GNUPG:] SIG_CREATED %s %d %d %02x %d %X", form, s.PubKeyAlgo, hash, uint8(s.SigType), s.CreationTime.Unix(), s.IssuerFingerprint)
}

// sigCreatedLines are the SIG_CREATED lines in status output.
func sigCreatedLines(status []byte) []string {
	var lines []string
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "[GNUPG:] SIG_CREATED ") {
			lines = append(lines, strings.TrimSuffix(line, "\r"))
		}
	}
	return lines
}

// TestGPGListSecretKeys: the key listing makepkg and others check before
// they sign lists the configured keys with the fingerprints and user IDs
// of their pinned certificates, finds a key by name, fingerprint, key ID
// or email, and fails for a key that is not configured; --version says a
// version debsign takes for GnuPG 2.
func TestGPGListSecretKeys(t *testing.T) {
	g := newGPGFront(t)
	repo, pkg := fingerprintOf(t, g.certs["repo"]), fingerprintOf(t, g.certs["pkg"])
	uids := []string{"Test repo <repo@example.org>", "Test pkg <pkg@example.org>"}
	dir := t.TempDir()

	r := g.gpg(dir, nil, "--list-secret-keys")
	if r.code != 0 {
		t.Fatalf("--list-secret-keys: exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range append([]string{repo, pkg}, uids...) {
		if !strings.Contains(string(r.stdout), want) {
			t.Errorf("--list-secret-keys does not list %q:\n%s", want, r.stdout)
		}
	}

	r = g.gpg(dir, nil, "--list-secret-keys", "--with-colons")
	if r.code != 0 {
		t.Fatalf("--list-secret-keys --with-colons: exit %d\n%s", r.code, r.stderr)
	}
	fprs, gotUIDs := colonKeys(t, r.stdout)
	if want := slices.Sorted(slices.Values([]string{repo, pkg})); !slices.Equal(slices.Sorted(slices.Values(fprs)), want) {
		t.Errorf("--with-colons lists secret keys %v, want %v:\n%s", fprs, want, r.stdout)
	}
	for _, uid := range uids {
		if !slices.Contains(gotUIDs, uid) {
			t.Errorf("--with-colons lists user IDs %q, want %q among them", gotUIDs, uid)
		}
	}

	for _, tt := range []struct{ key, want, not string }{
		{"repo", repo, pkg},
		{repo, repo, pkg},
		{"pkg@example.org", pkg, repo},
		{"0x" + pkg[24:], pkg, repo},
		{"Test pkg <pkg@example.org>", pkg, repo},
	} {
		for _, extra := range [][]string{nil, {"--with-colons"}} {
			args := append(append([]string{"--list-secret-keys"}, extra...), tt.key)
			r := g.gpg(dir, nil, args...)
			if r.code != 0 || !strings.Contains(string(r.stdout), tt.want) || strings.Contains(string(r.stdout), tt.not) {
				t.Errorf("%q: exit %d, stdout:\n%s\nwant exit 0 listing %s alone; stderr: %s", args, r.code, r.stdout, tt.want, r.stderr)
			}
		}
	}
	for _, key := range []string{"nosuchkey", "0x0123456789ABCDEF", "nobody@example.org"} {
		r := g.gpg(dir, nil, "--list-secret-keys", key)
		if r.code == 0 || strings.Contains(string(r.stdout), repo) || strings.Contains(string(r.stdout), pkg) {
			t.Errorf("--list-secret-keys %s: exit %d, stdout:\n%s\nwant a failure listing no key", key, r.code, r.stdout)
		}
	}

	r = g.gpg(dir, nil, "--version")
	first, _, _ := strings.Cut(string(r.stdout), "\n")
	// debsign: gpgversion=$($signcommand --version | head -n 1 | cut -d' ' -f3)
	words := strings.Split(first, " ")
	if r.code != 0 || len(words) < 3 {
		t.Fatalf("--version: exit %d, first line %q", r.code, first)
	}
	major, err := strconv.Atoi(strings.Split(words[2], ".")[0])
	if err != nil || major < 2 {
		t.Errorf("--version: first line %q, third word %q is not a GnuPG 2 version", first, words[2])
	}
}

// colonKeys are the fingerprints of the sec records and every uid's user
// ID in gpg's --with-colons output (doc/DETAILS in GnuPG: field 10).
func colonKeys(t *testing.T, out []byte) (fprs, uids []string) {
	t.Helper()
	inSec := false
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, ":")
		switch {
		case f[0] == "sec":
			inSec = true
		case f[0] == "ssb", f[0] == "pub", f[0] == "sub":
			inSec = false
		case f[0] == "fpr" && inSec && len(f) > 9:
			fprs = append(fprs, f[9])
			inSec = false
		case f[0] == "uid" && len(f) > 9:
			uids = append(uids, f[9])
		}
	}
	return fprs, uids
}

// TestGPGLocalMode: on the signing host itself, with no client config, the
// front end signs through the local signstar config as 'signstar sign'
// does: by key name and by fingerprint, each signature recorded in the
// host's audit trail. The host is a plain fixture, not newGPGFront's: the
// sshd harness hands the token's files to its test account.
func TestGPGLocalMode(t *testing.T) {
	assertREADMEQuotes(t, localGPGRecipe)
	f := newFixture(t)
	certs := map[string][]byte{"repo": f.generate("repo", "ed25519"), "pkg": f.generate("pkg", "p256")}
	env := []string{"XDG_CONFIG_HOME=" + t.TempDir(), "PATH=" + filepath.Dir(binary) + ":" + os.Getenv("PATH")}
	for _, kv := range f.env {
		name, _, _ := strings.Cut(kv, "=")
		if name != "SIGNSTAR_CLIENT_CONFIG" && name != "XDG_CONFIG_HOME" && name != "PATH" {
			env = append(env, kv)
		}
	}
	dir := t.TempDir()
	data := []byte("Origin: signstar\nLabel: local\n")
	writeFile(t, filepath.Join(dir, "Release"), data, 0o644)

	recipe := exec.Command("bash", "-euo", "pipefail", "-c", localGPGRecipe)
	recipe.Dir, recipe.Env = dir, env
	if out, err := recipe.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", localGPGRecipe, err, out)
	}
	sig := readFile(t, filepath.Join(dir, "Release.asc"))
	if !bytes.HasPrefix(sig, []byte("-----BEGIN PGP SIGNATURE-----\n")) {
		t.Errorf("Release.asc is not armored: %.40q", sig)
	}
	verifytest.All(t, certs["repo"], data, sig)

	byFpr := exec.Command(binary, "gpg", "-u", fingerprintOf(t, certs["pkg"]), "-b", "Release")
	byFpr.Dir, byFpr.Env = dir, env
	if out, err := byFpr.CombinedOutput(); err != nil {
		t.Fatalf("signstar gpg -u FPR -b Release: %v\n%s", err, out)
	}
	verifytest.All(t, certs["pkg"], data, readFile(t, filepath.Join(dir, "Release.sig")))

	recs := readAuditFile(t, f)
	if len(recs) != 2 {
		t.Fatalf("%d audit records, want 2: %v", len(recs), recs)
	}
	s256, _ := digests(data)
	for i, key := range []string{"repo", "pkg"} {
		recs[i].want(t, map[string]string{
			"SIGNSTAR_RESULT": "signed", "SIGNSTAR_KEY": key,
			"SIGNSTAR_KEY_FINGERPRINT": fingerprintOf(t, certs[key]), "SIGNSTAR_INPUT_SHA256": s256,
		})
	}
}

// gpgOutput runs the front end in dir, which holds only the input, and
// returns what it wrote to output ("": stdout); it fails the test unless
// the front end exits 0 and writes nothing else: no stdout with an output
// file, and no file besides it.
func gpgOutput(t *testing.T, g *gpgFront, dir string, stdin []byte, output string, args ...string) []byte {
	t.Helper()
	before := dirNames(t, dir)
	r := g.gpg(dir, stdin, args...)
	if r.code != 0 {
		t.Fatalf("gpg %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	after := dirNames(t, dir)
	if output == "" {
		if !slices.Equal(after, before) {
			t.Errorf("gpg %s: files %v, want %v", strings.Join(args, " "), after, before)
		}
		return r.stdout
	}
	if len(r.stdout) != 0 {
		t.Errorf("gpg %s: %d bytes on stdout, want none", strings.Join(args, " "), len(r.stdout))
	}
	if want := slices.Sorted(slices.Values(append(before, output))); !slices.Equal(after, want) {
		t.Errorf("gpg %s: files %v, want %v", strings.Join(args, " "), after, want)
	}
	return readFile(t, filepath.Join(dir, output))
}

// dirNames are the names in dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// gpgVerifyHome runs the real gpg --verify on the cleartext message msg
// with the release engineer's keyring (GNUPGHOME of the front end's
// environment), as a release tool's own check would.
func gpgVerifyHome(t *testing.T, g *gpgFront, dir string, msg []byte) error {
	t.Helper()
	file := filepath.Join(t.TempDir(), "msg.asc")
	writeFile(t, file, msg, 0o644)
	cmd := exec.Command(testenv.Tool(t, "gpg"), "--batch", "--verify", file)
	cmd.Dir, cmd.Env = dir, g.env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v\n%s", err, out)
	}
	return nil
}

// clearSignatureBlock is the armored signature of a cleartext signed
// message.
func clearSignatureBlock(t *testing.T, msg []byte) []byte {
	t.Helper()
	i := bytes.Index(msg, []byte("\n-----BEGIN PGP SIGNATURE-----\n"))
	if i < 0 {
		t.Fatalf("no signature block in the cleartext message:\n%s", msg)
	}
	return msg[i+1:]
}

// signaturePackets are the signature packets in sig (armored or not), read
// by go-crypto.
func signaturePackets(t *testing.T, sig []byte) []*packet.Signature {
	t.Helper()
	var sigs []*packet.Signature
	r := packet.NewReader(bytes.NewReader(packetBytes(t, sig)))
	for {
		p, err := r.Next()
		if err == io.EOF {
			return sigs
		}
		if err != nil {
			t.Fatalf("read signature packets: %v", err)
		}
		s, ok := p.(*packet.Signature)
		if !ok {
			t.Fatalf("a %T packet among the signatures", p)
		}
		sigs = append(sigs, s)
	}
}

// assertSigPackets checks that sig holds one signature of type typ by each
// key in fprs, in any order.
func assertSigPackets(t *testing.T, sig []byte, typ packet.SignatureType, fprs ...string) {
	t.Helper()
	var got []string
	for _, s := range signaturePackets(t, sig) {
		if s.SigType != typ {
			t.Errorf("signature type %#02x, want %#02x", uint8(s.SigType), uint8(typ))
		}
		got = append(got, fmt.Sprintf("%X", s.IssuerFingerprint))
	}
	if want := slices.Sorted(slices.Values(fprs)); !slices.Equal(slices.Sorted(slices.Values(got)), want) {
		t.Errorf("signatures by %v, want %v", got, want)
	}
}

// signedText is text as a cleartext signature covers it (RFC 4880
// section 7.1), with LF line ends: trailing spaces, tabs and CRs of each
// line dropped. signstar covers the text as sent, its last line end
// included where there is one (gpg would leave that one out).
func signedText(text string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	return strings.Join(lines, "\n")
}
