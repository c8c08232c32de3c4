package tpmtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"signstar/internal/testenv"
	"strings"
	"testing"
)

// TestStart makes a P-256 key on a fresh token with pkcs11-tool, signs with
// it and verifies the signature; then, once the test that owned the TPM has
// ended, checks that its daemons and directory are gone.
func TestStart(t *testing.T) {
	var dir string
	t.Run("token", func(t *testing.T) {
		p11 := &pkcs11Tool{t: t, path: testenv.Tool(t, "pkcs11-tool")}
		p := Start(t, "tpmtest")
		dir, p11.p = p.Dir, p
		if out := p11.run("--list-token-slots"); !strings.Contains(out, "token label        : tpmtest\n") {
			t.Fatalf("token not listed:\n%s", out)
		}
		p11.run("--login", "--pin", p.PIN, "--keypairgen", "--key-type", "EC:prime256v1", "--id", "01", "--label", "k")
		digest := sha256.Sum256([]byte("signstar"))
		in, out := filepath.Join(p.Dir, "digest"), filepath.Join(p.Dir, "sig")
		if err := os.WriteFile(in, digest[:], 0o600); err != nil {
			t.Fatal(err)
		}
		p11.run("--login", "--pin", p.PIN, "--sign", "--mechanism", "ECDSA", "--id", "01", "--input-file", in, "--output-file", out)
		sig, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		// Not --read-object --type pubkey: OpenSC 0.23's fails on this token
		// in one to four runs in a hundred ("cannot create EVP_PKEY"), and
		// succeeds on the same key when run again.
		pub := parseECPoint(t, p11.run("--list-objects", "--type", "pubkey"))
		if len(sig) != 64 {
			t.Fatalf("signature is %d bytes, want 64 (r||s)", len(sig))
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(pub, digest[:], r, s) {
			t.Error("signature does not verify")
		}
	})
	if dir == "" {
		return // skipped, or failed before Start returned
	}
	if left := processesIn(t, dir); len(left) > 0 {
		t.Errorf("processes left running after the test: %q", left)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s not removed after the test: %v", dir, err)
	}
}

// TestStartFails checks that a Start failing after the daemons are up stops
// them all: here tpm2_ptool, found first in PATH, fails.
func TestStartFails(t *testing.T) {
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "tpm2_ptool"), []byte("#!/bin/sh\necho refused >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	r := &recorder{}
	t.Run("start", func(t *testing.T) {
		r.TB = t
		done := make(chan struct{})
		go func() {
			defer close(done)
			Start(r, "tpmtest")
		}()
		<-done
		if r.skipped != "" {
			t.Skip(r.skipped)
		}
	})
	if r.skipped != "" {
		t.Skip(r.skipped)
	}
	if !strings.Contains(r.fatal, "refused") {
		t.Fatalf("Start failed with %q, want the fake tpm2_ptool's message", r.fatal)
	}
	if r.dir == "" {
		t.Fatal("Start failed before it made its directory")
	}
	if left := processesIn(t, r.dir); len(left) > 0 {
		t.Errorf("processes left running after Start failed: %q", left)
	}
}

// recorder records the directory Start makes and how it fails or skips,
// ending the calling goroutine as the real Fatal and Skip do.
type recorder struct {
	testing.TB
	dir, fatal, skipped string
}

func (r *recorder) TempDir() string {
	r.dir = r.TB.TempDir()
	return r.dir
}

func (r *recorder) Fatal(args ...any) {
	r.fatal = fmt.Sprint(args...)
	runtime.Goexit()
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestBusAddress(t *testing.T) {
	tests := []struct {
		name, path, want string
	}{
		{"plain", "/tmp/TestX123/001/bus", "unix:path=/tmp/TestX123/001/bus"},
		{"reserved", "/tmp/a,b=c;d/bus", "unix:path=/tmp/a%2cb%3dc%3bd/bus"},
		{"space and percent", "/tmp/a b%/bus", "unix:path=/tmp/a%20b%25/bus"},
		{"non-ASCII", "/tmp/\u00e9/bus", "unix:path=/tmp/%c3%a9/bus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := busAddress(tt.path); got != tt.want {
				t.Errorf("busAddress(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

// pkcs11Tool runs OpenSC's pkcs11-tool on the token.
type pkcs11Tool struct {
	t    testing.TB
	p    *TPM
	path string
}

func (c *pkcs11Tool) run(args ...string) string {
	c.t.Helper()
	args = append([]string{"--module", c.p.Module, "--token-label", c.p.Label}, args...)
	cmd := exec.Command(c.path, args...)
	cmd.Env = append(os.Environ(), c.p.Env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("pkcs11-tool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// parseECPoint returns the P-256 public key of the one public key object
// in pkcs11-tool --list-objects output: its CKA_EC_POINT, printed in hex, is
// the uncompressed point in a DER OCTET STRING (04 41).
func parseECPoint(t testing.TB, listing string) *ecdsa.PublicKey {
	t.Helper()
	_, rest, ok := strings.Cut(listing, "EC_POINT:")
	if !ok || strings.Contains(rest, "EC_POINT:") {
		t.Fatalf("want one EC_POINT in:\n%s", listing)
	}
	der, err := hex.DecodeString(strings.Fields(rest)[0])
	if err != nil || len(der) != 67 || der[0] != 0x04 || der[1] != 65 {
		t.Fatalf("EC_POINT is not a DER OCTET STRING of 65 bytes: %v\n%s", err, listing)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), der[2:])
	if err != nil {
		t.Fatalf("parse EC_POINT: %v", err)
	}
	return pub
}

// processesIn returns the command lines of the processes whose working
// directory, command line or environment mentions dir.
func processesIn(t testing.TB, dir string) []string {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, proc := range procs {
		cmdline, _ := os.ReadFile(filepath.Join(proc, "cmdline"))
		environ, _ := os.ReadFile(filepath.Join(proc, "environ"))
		cwd, _ := os.Readlink(filepath.Join(proc, "cwd")) // "dir (deleted)" once removed
		if strings.HasPrefix(cwd, dir) || bytes.Contains(cmdline, []byte(dir)) || bytes.Contains(environ, []byte(dir)) {
			found = append(found, string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
		}
	}
	return found
}
