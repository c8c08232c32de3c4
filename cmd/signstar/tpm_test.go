package main

// A TPM token end to end: swtpm behind tpm2-abrmd, the tpm2-pkcs11 module,
// keys generated through signstar and signatures made under full lockdown.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"signstar/internal/sshdtest"
	"signstar/internal/tpmtest"
	"signstar/internal/verifytest"
)

// newTPMFixture is a fixture whose token is a fresh software TPM.
func newTPMFixture(t *testing.T) (*fixture, *tpmtest.TPM) {
	t.Helper()
	tpm := tpmtest.Start(t, "signstar-tpm")
	dir := t.TempDir()
	f := &fixture{t: t, dir: dir, conf: filepath.Join(dir, "signstar.toml")}
	f.env = append(append(os.Environ(), tpm.Env...), "SIGNSTAR_CONFIG="+f.conf)
	f.writePIN(tpm.PIN, 0o600)
	f.ok(nil, "init", "--module", tpm.Module, "--token", tpm.Label,
		"--pin-file", filepath.Join(dir, "pin"), "--audit", "file:"+filepath.Join(dir, "audit.jsonl"))
	return f, tpm
}

// TestTPM: the key types a TPM offers sign under lockdown, and the
// signatures pass gpgv, sqv and pacman-key; what it does not offer is
// refused by name.
func TestTPM(t *testing.T) {
	f, _ := newTPMFixture(t)
	for _, typ := range []string{"ed25519", "rsa4096"} {
		r := f.run(nil, "key", "generate", "--name", typ, "--type", typ, "--uid", "x <x@example.org>")
		assertError(t, r, exitFailed, "the token supports only rsa3072, p256, p384")
	}
	out := string(f.ok(nil, "check"))
	for _, want := range []string{"ok    types    the token can generate rsa3072, p256, p384",
		"ok    lockdown kept open ", "talks over sockets opened before lockdown"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	data := sample(t)
	for _, typ := range []string{"p256", "p384", "rsa3072"} {
		t.Run(typ, func(t *testing.T) {
			cert := f.generate(typ, typ)
			for _, args := range [][]string{{"sign", "--key", typ}, {"sign", "--key", typ, "--armor"}} {
				verifytest.All(t, cert, data, f.ok(data, args...))
			}
			recs := readAuditFile(t, f)
			recs[len(recs)-1].want(t, map[string]string{
				"SIGNSTAR_RESULT": "signed", "SIGNSTAR_KEY": typ, "SIGNSTAR_WARNING": "-",
				"SIGNSTAR_KEY_FINGERPRINT": verifytest.Fingerprint(t, cert),
			})
		})
	}
}

// TestTPMRequests: ECDSA keys on a TPM finish a client's hash; RSA keys
// cannot (tpm2-pkcs11 hashes RSA messages itself) and say so.
func TestTPMRequests(t *testing.T) {
	f, _ := newTPMFixture(t)
	f.generate("p256", "p256")
	f.generate("rsa", "rsa3072")
	req, err := os.ReadFile("../../testdata/signstar-request-v1/sample-request.json")
	if err != nil {
		t.Fatal(err)
	}
	r := f.runCmd(exec.Command(binary, "-c", "sign --request --key p256"), req)
	if r.code != 0 || len(r.stdout) == 0 {
		t.Fatalf("request with an ECDSA key: exit %d: %s", r.code, r.stderr)
	}
	r = f.runCmd(exec.Command(binary, "-c", "sign --request --key rsa"), req)
	assertError(t, r, exitRefused, `key "rsa" cannot sign digest-only requests`)
}

// TestTPMGoneAfterLockdown: when the TPM goes away while signstar waits for
// its input, locked down, signing fails cleanly instead of seccomp killing
// the process for how the module reports the failure. Through the login
// shell, the client sees one generic error line; the PKCS#11 error and
// what GLib, the TSS and tpm2-pkcs11 printed go to the audit record.
func TestTPMGoneAfterLockdown(t *testing.T) {
	for _, typ := range []string{"p256", "rsa3072"} {
		t.Run(typ, func(t *testing.T) {
			f, tpm := newTPMFixture(t)
			f.generate(typ, typ)
			w := f.startLocked(exec.Command(binary, "-c", "sign --key "+typ))
			tpm.StopBroker()
			r := w.finish([]byte("signed by a TPM that is gone\n"))
			id := assertServerFailure(t, r)
			recs := readAuditFile(t, f)
			rec := recs[len(recs)-1]
			rec.want(t, map[string]string{"SIGNSTAR_RESULT": "failed", "SIGNSTAR_MODE": "ssh", "SIGNSTAR_KEY": typ, "SIGNSTAR_REQUEST_ID": id})
			if !strings.Contains(rec["SIGNSTAR_ERROR"], "CKR_GENERAL_ERROR") {
				t.Errorf("SIGNSTAR_ERROR = %q, want the module's error", rec["SIGNSTAR_ERROR"])
			}
			// How the TSS words the lost broker depends on when it died:
			// mid-read ("tcti:IO failure") or mid-write ("Connection
			// reset by peer"); either way it is in the record.
			if mo := rec["SIGNSTAR_MODULE_OUTPUT"]; !strings.Contains(mo, "tcti:IO failure") && !strings.Contains(mo, "Connection reset by peer") {
				t.Errorf("SIGNSTAR_MODULE_OUTPUT = %q, want the TSS's error", mo)
			}
		})
	}
}

// TestTPMThroughSSH: the deployment, with a TPM. A client pipes a file to
// the signing account over sshd; signstar, that account's login shell,
// finds the module's environment in the drop-in's SetEnv and signs under
// lockdown as that account.
func TestTPMThroughSSH(t *testing.T) {
	sshdtest.Require(t)
	f, tpm := newTPMFixture(t)
	cert := f.generate("repo", "p256")
	srv := sshdtest.Start(t, sshdtest.Options{Shell: binary, Env: append([]string{"SIGNSTAR_CONFIG=" + f.conf}, tpm.Env...)})
	audit := filepath.Join(f.dir, "audit.jsonl")
	if err := os.WriteFile(audit, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	srv.Grant(append(tpm.Share(), filepath.Join(f.dir, "pin"), audit)...)
	data := sample(t)
	r := sshdtest.Run(t, srv.SSH(), data)
	if r.Code != 0 {
		t.Fatalf("ssh: exit %d: %s", r.Code, r.Stderr)
	}
	verifytest.All(t, cert, data, r.Stdout)
	recs := readAuditFile(t, f)
	recs[len(recs)-1].want(t, map[string]string{
		"SIGNSTAR_RESULT": "signed", "SIGNSTAR_MODE": "ssh", "SIGNSTAR_USER": srv.User,
		"SIGNSTAR_MODULE_OUTPUT": "-", "SIGNSTAR_WARNING": "-",
	})
}
