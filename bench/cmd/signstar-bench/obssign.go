package main

// obs-sign (github.com/openSUSE/obs-sign, GPL-2.0), the signer of
// openSUSE's build service, as section 7's peer: its C client `sign` and
// its Perl daemon `signd` on 127.0.0.1, built by scripts/bench from a
// checkout in a temp dir and never part of this repository.
//
// How it signs (sign.c, signd): `sign -d FILE...` hashes each file itself
// and sends one request per file over its own TCP connection to signd
// (doreq in sign.c); signd forks a child per connection (its accept loop),
// which finds the key (`gpg --locate-key`, or its keycache) and, since
// Debian's gpg has no --files-are-digests patch, asks gpg-agent to sign
// the hash (sign_with_agent: SIGKEY, SETHASH, PKSIGN), then wraps the
// result into a signature packet; `sign` writes FILE.asc.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

type obsSign struct {
	bin, conf  string
	keyring    string // the gpg key's certificate, for gpgv
	pkcs11Skip string
}

// obsPKCS11Skip is why signd's PKCS#11 backend is not measured with the
// SoftHSM2 token: signd_pkcs11 signs only with gpg keys that gpg-agent
// holds as "shadowed-tpm2-v1 pkcs11" stubs (openSUSE's gpg_pkcs11_tpm),
// and needs the Perl modules Crypt::PKCS11 and Crypt::GCrypt::Sexp, which
// Debian 12 does not package.
const obsPKCS11Skip = "signd_pkcs11 needs Crypt::PKCS11 and Crypt::GCrypt::Sexp (not packaged by Debian 12) and a gpg key shadowed onto the token by openSUSE's gpg_pkcs11_tpm, so only the gpg backend is measured"

// startObsSign starts signd from the built checkout dir with a new
// Ed25519 gpg key (the type of signstar's key), configured as generously
// as obs-sign allows: gpg-agent signs (use-agent), the key lookup is
// cached (keycache), unprivileged ports (root's reserved ports would run
// out in TIME_WAIT after a few hundred connections).
func (f *fixture) startObsSign(dir string) (*obsSign, error) {
	o := &obsSign{bin: filepath.Join(dir, "sign"), pkcs11Skip: obsPKCS11Skip}
	w := f.path("obs-sign")
	home := filepath.Join(w, "gnupg")
	for _, d := range []string{w, home, filepath.Join(w, "phrases"), filepath.Join(w, "tmp"), filepath.Join(w, "keycache")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	env := []string{"GNUPGHOME=" + home}
	f.onCleanup(func() { sh(env, "gpgconf", "--kill", "gpg-agent") })
	const uid = "obs-sign bench <obs@example.invalid>"
	if _, err := sh(env, "gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
		"--quick-gen-key", uid, "ed25519", "sign", "never"); err != nil {
		return nil, err
	}
	// signd signs only for users with a phrase file (empty: no passphrase).
	if err := os.WriteFile(filepath.Join(w, "phrases", "obs@example.invalid"), nil, 0o600); err != nil {
		return nil, err
	}
	o.keyring = filepath.Join(w, "pub.gpg")
	if _, err := sh(env, "gpg", "--batch", "--yes", "--export", "-o", o.keyring); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	pidfile := filepath.Join(w, "signd.pid")
	conf := fmt.Sprintf(`server: 127.0.0.1
port: %d
allow: 127.0.0.1
user: obs@example.invalid
hash: sha512
phrases: %s
tmpdir: %s
gnupghome: %s
use-agent: true
keycache: %s
allow-unprivileged-ports: true
use-unprivileged-ports: true
pidfile: %s
logfile: %s
`, port, filepath.Join(w, "phrases"), filepath.Join(w, "tmp"), home, filepath.Join(w, "keycache"), pidfile, filepath.Join(w, "signd.log"))
	o.conf = filepath.Join(w, "sign.conf")
	if err := os.WriteFile(o.conf, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	// -f: signd forks into the background and writes its pid file.
	if _, err := sh(nil, "perl", filepath.Join(dir, "signd"), "--config", o.conf, "-f"); err != nil {
		return nil, err
	}
	f.onCleanup(func() { stopPidfile(pidfile) })
	if !listening(port) {
		return nil, fmt.Errorf("signd is not listening on 127.0.0.1:%d; see %s", port, filepath.Join(w, "signd.log"))
	}
	// One signature warms gpg-agent and the keycache.
	probe := f.path("obs-sign-probe")
	if err := os.WriteFile(probe, []byte("probe\n"), 0o644); err != nil {
		return nil, err
	}
	if err := o.sign([]string{probe}, 1); err != nil {
		return nil, err
	}
	if bad, _ := gpgvAll(o.keyring, []string{probe}, ".asc"); bad > 0 {
		return nil, fmt.Errorf("gpgv rejects obs-sign's signature of %s", probe)
	}
	return o, nil
}

// sign runs jobs `sign -d` processes at once, each over its share of
// files: one process signs many files, one connection each.
func (o *obsSign) sign(files []string, jobs int) error {
	var shares [][]string
	per := (len(files) + jobs - 1) / jobs
	for i := 0; i < len(files); i += per {
		shares = append(shares, files[i:min(i+per, len(files))])
	}
	names := make([]string, len(shares))
	for i := range shares {
		names[i] = strconv.Itoa(i)
	}
	return parallel(names, jobs, func(i string) error {
		n, _ := strconv.Atoi(i)
		// -4: a v4 signature, as signstar's; -h sha512, as signstar's.
		argv := append([]string{o.bin, "--config", o.conf, "-4", "-h", "sha512", "-d"}, shares[n]...)
		_, err := run(spec{label: "sign -d", argv: argv}, 10*time.Minute)
		return err
	})
}

// stopPidfile ends the daemon whose pid the file holds.
func stopPidfile(file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		return
	}
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}

var obsVersion = regexp.MustCompile(`^[0-9a-f]{7,40}`)

// obsSignVersion is the commit the checkout was built from, or "?".
func obsSignVersion(dir string) string {
	out, err := exec.Command("git", "-C", dir, "log", "-1", "--format=%h %cs").Output()
	if err != nil || !obsVersion.Match(out) {
		return "?"
	}
	return firstLine(string(out))
}
