package main

import (
	"io"
	"os"
	"path/filepath"
	"signstar/internal/testenv"
	"strings"
	"testing"
)

// TestUntrustedFilesRefused: a config, certificate or PKCS#11 module that
// someone other than root could change is refused before the module is
// loaded, at the command line and in the login shell, with a hint for the
// admin and a record where the config can be trusted to name the trail.
func TestUntrustedFilesRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.SkipOrFatal(t, "ownership tests need root")
	}
	tests := []struct {
		name     string
		loosen   func(t *testing.T, f *fixture)
		want     string
		recorded bool // the config is trusted, so its audit file holds the refusal
	}{
		{"config writable by others", func(t *testing.T, f *fixture) { chmodT(t, f.conf, 0o666) },
			"config: may be changed by someone other than root: " + "CONF has mode 0666", false},
		{"config owned by another user", func(t *testing.T, f *fixture) { chownT(t, f.conf, 65534) },
			"config: may be changed by someone other than root: CONF belongs to uid 65534", false},
		{"config directory writable by others", func(t *testing.T, f *fixture) { chmodT(t, f.dir, 0o777) },
			"config: may be changed by someone other than root: DIR has mode 0777", false},
		{"module writable by others", func(t *testing.T, f *fixture) {
			mod := filepath.Join(f.dir, "libsofthsm2.so")
			copyFileT(t, f.hsm.Module, mod)
			chmodT(t, mod, 0o666)
			replaceInFile(t, f.conf, f.hsm.Module, mod)
		}, "PKCS#11 module: may be changed by someone other than root: DIR/libsofthsm2.so has mode 0666", true},
		{"certs directory writable by others", func(t *testing.T, f *fixture) { chmodT(t, filepath.Join(f.dir, "certs"), 0o757) },
			"certificate of key k: may be changed by someone other than root: DIR/certs has mode 0757", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.generate("k", "ed25519")
			tt.loosen(t, f)
			want := strings.NewReplacer("CONF", f.conf, "DIR", f.dir).Replace(tt.want)
			r := f.run([]byte("data\n"), "sign")
			assertError(t, r, exitFailed, want)
			if !strings.Contains(string(r.stderr), "signstar: hint: make root the owner") {
				t.Errorf("no hint: %s", r.stderr)
			}
			if tt.recorded {
				recs := readAuditFile(t, f)
				rec := recs[len(recs)-1]
				if rec["SIGNSTAR_RESULT"] != "failed" || !strings.Contains(rec["SIGNSTAR_ERROR"], want) {
					t.Errorf("audit record %v, want failed with %q", rec, want)
				}
			}
		})
	}
}

// TestRootAgainstAccountToken: root signing against a token whose files
// belong to the signing account would fail after lockdown with a PKCS#11
// code; sign and check both say to run as the account instead.
func TestRootAgainstAccountToken(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.SkipOrFatal(t, "needs root")
	}
	f := newFixture(t)
	f.generate("k", "ed25519")
	if err := filepath.Walk(filepath.Join(f.hsm.Dir, "tokens"), func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, 65534, 65534)
	}); err != nil {
		t.Fatal(err)
	}
	r := f.run([]byte("data\n"), "sign")
	assertError(t, r, exitFailed, "belong to nobody, and root loses the right to read them at lockdown")
	if !strings.Contains(string(r.stderr), "signstar: hint: run signstar as that account") {
		t.Errorf("no hint: %s", r.stderr)
	}
	r = f.run(nil, "check")
	if r.code != exitFailed || !strings.Contains(string(r.stdout), "FAIL  identity the token's files in") ||
		!strings.Contains(string(r.stdout), "run signstar as that account") {
		t.Errorf("check: exit %d\n%s", r.code, r.stdout)
	}
}

func chmodT(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func chownT(t *testing.T, path string, uid int) {
	t.Helper()
	if err := os.Chown(path, uid, -1); err != nil {
		t.Fatal(err)
	}
}

func copyFileT(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
