package main

// What the gpg front end refuses and how it fails: an option it does not
// implement or a key it does not know is refused with exit 2, one line
// naming it, nothing on stdout and no file written, before any signature
// is made; a signature that cannot be made or checked leaves an existing
// output file as it was, and the signing host records what it refused.

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestGPGRefusals: each unsupported option and an unknown key, with and
// without -o OUT: exit 2, exactly one line on stderr naming the option or
// key, nothing on stdout, no file in the directory besides the input, and
// no request to the host.
func TestGPGRefusals(t *testing.T) {
	g := newGPGFront(t)
	tests := []struct {
		name string
		args []string
		want string // in the one line on stderr
	}{
		{"encrypt", []string{"--encrypt", "-r", "repo"}, "--encrypt"},
		{"-e", []string{"-e", "-r", "repo"}, "-e"},
		{"symmetric", []string{"--symmetric"}, "--symmetric"},
		{"sign without -b", []string{"--sign"}, "--sign"},
		{"-s without -b", []string{"-s"}, "-s"},
		{"export-secret-keys", []string{"--export-secret-keys"}, "--export-secret-keys"},
		{"gen-key", []string{"--gen-key"}, "--gen-key"},
		{"unknown option", []string{"--frobnicate", "-b"}, "--frobnicate"},
		{"digest-algo SHA1", []string{"--digest-algo", "SHA1", "-b"}, "SHA1"},
		{"digest-algo=SHA1", []string{"--digest-algo=SHA1", "--clearsign"}, "SHA1"},
		{"unknown key", []string{"-u", "nosuchkey", "-b"}, "nosuchkey"},
		{"unknown key clearsign", []string{"--local-user", "nosuchkey", "--clearsign"}, "nosuchkey"},
		{"one key unknown", []string{"-u", "repo", "-u", "nosuchkey", "-ab"}, "nosuchkey"},
	}
	data := []byte("Origin: signstar\n")
	for _, tt := range tests {
		for _, out := range []string{"", "OUT"} {
			for _, input := range []string{"stdin", "file"} {
				args := slices.Clone(tt.args)
				if out != "" {
					args = append([]string{"-o", out}, args...)
				}
				if input == "file" {
					args = append(args, "Release")
				}
				t.Run(tt.name+"/"+strings.Join(args, " "), func(t *testing.T) {
					dir := t.TempDir()
					writeFile(t, filepath.Join(dir, "Release"), data, 0o644)
					r := g.gpg(dir, data, args...)
					assertGPGRefused(t, r, tt.want)
					if names := dirNames(t, dir); !slices.Equal(names, []string{"Release"}) {
						t.Errorf("files after the refusal: %v, want only the input", names)
					}
				})
			}
		}
	}
	// Refused before the host is asked: no request, let alone a signature.
	if recs := readAuditFile(t, g.fixture); len(recs) != 0 {
		t.Errorf("the host has %d records of refused gpg commands: %v", len(recs), recs)
	}
}

// assertGPGRefused checks a refusal: exit 2, nothing on stdout, one line on
// stderr that mentions want.
func assertGPGRefused(t *testing.T, r result, want string) {
	t.Helper()
	if r.code != exitRefused {
		t.Errorf("exit %d, want %d", r.code, exitRefused)
	}
	if len(r.stdout) != 0 {
		t.Errorf("%d bytes on stdout, want none: %.60q", len(r.stdout), r.stdout)
	}
	if n := strings.Count(string(r.stderr), "\n"); n != 1 || !strings.HasSuffix(string(r.stderr), "\n") || !strings.Contains(string(r.stderr), want) {
		t.Errorf("stderr %q: want one line naming %q", r.stderr, want)
	}
}

// TestGPGSigningFailures: when the signature cannot be made (the signing
// host unreachable, a key the host does not have, a text the host refuses)
// or does not verify against the pinned certificate, the front end exits
// 1 (failed: the client's exit for whatever the host did not sign, as
// 'signstar request' does) with one line saying why, writes nothing to
// stdout, and an output file that already existed keeps its content;
// where the host was reached, its audit trail has the record.
func TestGPGSigningFailures(t *testing.T) {
	g := newGPGFront(t)
	conf := readFile(t, g.clientConf)
	port := fmt.Sprintf("%q, %q", "-p", strconv.Itoa(g.srv.Port))
	if !bytes.Contains(conf, []byte(port)) {
		t.Fatalf("client config does not hold %s:\n%s", port, conf)
	}
	unreachable := strings.Replace(string(conf), port, fmt.Sprintf("%q, %q", "-p", freePort(t)), 1)
	// ghost is a key the host does not have; wrongpin is the host's repo
	// pinned with pkg's certificate, so its signatures do not verify.
	extraKeys := string(conf) + fmt.Sprintf("\n[keys.ghost]\ncert = %q\nremote = \"nosuch\"\n", g.certFile("repo")) +
		fmt.Sprintf("\n[keys.wrongpin]\ncert = %q\nremote = \"repo\"\n", g.certFile("pkg"))
	const text = "Origin: signstar\n"

	tests := []struct {
		name     string
		conf     string
		args     []string
		input    string // the file Release
		stdin    string
		existing string   // the output file that exists before
		want     string   // in the one line on stderr
		records  []string // SIGNSTAR_RESULT of the host's new records
	}{
		{"unreachable -b -o", unreachable, []string{"-b", "-o", "OUT", "Release"}, text, "", "OUT", "cannot reach host", nil},
		{"unreachable --clearsign -o", unreachable, []string{"--clearsign", "-o", "OUT", "Release"}, text, "", "OUT", "cannot reach host", nil},
		{"unreachable -ab default", unreachable, []string{"-ab", "Release"}, text, "", "Release.asc", "cannot reach host", nil},
		{"unreachable -sb stdout", unreachable, []string{"-sb"}, text, text, "", "cannot reach host", nil},
		{"host lacks key", extraKeys, []string{"-u", "ghost", "-b", "-o", "OUT", "Release"}, text, "", "OUT", `key "nosuch" is not configured`, []string{"refused"}},
		{"host lacks key clearsign", extraKeys, []string{"-u", "ghost", "--clearsign", "Release"}, text, "", "Release.asc", `key "nosuch" is not configured`, []string{"refused"}},
		{"pinned certificate mismatch", extraKeys, []string{"-u", "wrongpin", "-b", "-o", "OUT", "Release"}, text, "", "OUT", "does not verify", []string{"signed"}},
		{"pinned certificate mismatch clearsign", extraKeys, []string{"-u", "wrongpin", "--clearsign", "-o", "OUT", "Release"}, text, "", "OUT", "does not verify", []string{"signed"}},
		{"host refuses NUL", string(conf), []string{"--clearsign", "-o", "InRelease", "Release"}, "a\x00b\n", "", "InRelease", "input is not text: NUL byte at offset 1", []string{"refused"}},
		{"host refuses invalid UTF-8", string(conf), []string{"-bt", "Release"}, "caf\xe9\n", "", "Release.sig", "input is not text: invalid UTF-8 at offset 3", []string{"refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := g.clientEnv(t, tt.conf)
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "Release"), tt.input, 0o644)
			old := "an old signature that must survive\n"
			if tt.existing != "" {
				writeFile(t, filepath.Join(dir, tt.existing), old, 0o644)
			}
			before := dirNames(t, dir)
			nrec := len(readAuditFile(t, g.fixture))
			r := g.gpgEnv(env, dir, []byte(tt.stdin), tt.args...)
			if r.code != exitFailed {
				t.Errorf("exit %d, want %d", r.code, exitFailed)
			}
			if len(r.stdout) != 0 {
				t.Errorf("%d bytes on stdout, want none: %.60q", len(r.stdout), r.stdout)
			}
			if strings.Count(string(r.stderr), "\n") != 1 || !strings.Contains(string(r.stderr), tt.want) {
				t.Errorf("stderr %q: want one line saying %q", r.stderr, tt.want)
			}
			if after := dirNames(t, dir); !slices.Equal(after, before) {
				t.Errorf("files %v after the failure, want %v", after, before)
			}
			if tt.existing != "" {
				if got := string(readFile(t, filepath.Join(dir, tt.existing))); got != old {
					t.Errorf("%s was overwritten with %.60q", tt.existing, got)
				}
			}
			var got []string
			for _, rec := range readAuditFile(t, g.fixture)[nrec:] {
				got = append(got, rec["SIGNSTAR_RESULT"])
			}
			if !slices.Equal(got, tt.records) {
				t.Errorf("host's new audit records: %v, want %v", got, tt.records)
			}
		})
	}
}
