package main

// git tag -s and git commit -S through the gpg front end, git verify-tag
// and git verify-commit through the real gpg it hands --verify to. git
// 2.39 signs with "gpg --status-fd=2 -bsau KEY", the object on stdin and
// the armored signature on stdout, and fails unless a line of stderr
// starts with "[GNUPG:] SIG_CREATED "; it verifies with "gpg
// --keyid-format=long --status-fd=1 --verify SIGFILE -" and accepts only
// a "[GNUPG:] GOODSIG " line on stdout and exit status 0
// (gpg-interface.c: sign_buffer_gpg, verify_gpg_signed_buffer).

import (
	"bytes"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"signstar/internal/testenv"
)

const gitRecipe = `git config user.signingkey repo
git tag -s -m 'Release 1.0' v1.0
git verify-tag v1.0`

// TestGPGGit: README's git recipe signs a tag through the front end and
// git verify-tag accepts it; a signed commit the same, and a tag signed
// by the committer's user ID when user.signingkey is unset. A tag with
// one byte of its signature or of its message changed is BADSIG, one
// checked without the key's certificate in the keyring ERRSIG; a signing
// key the client config does not name makes git fail and leaves no tag.
func TestGPGGit(t *testing.T) {
	assertREADMEQuotes(t, gitRecipe)
	testenv.Tool(t, "git")
	g := newGPGFront(t)
	fpr := fingerprintOf(t, g.certs["repo"])
	gr := newGitRepo(t, g, "Release Engineer", "release@example.org")

	gr.ok(t, "bash", "-euo", "pipefail", "-c", gitRecipe)
	tag := gr.ok(t, "git", "cat-file", "tag", "v1.0")
	if !strings.Contains(tag, "\n-----BEGIN PGP SIGNATURE-----\n") {
		t.Fatalf("tag v1.0 holds no armored signature:\n%s", tag)
	}
	gr.assertGood(t, fpr, "verify-tag", "v1.0")

	t.Run("commit", func(t *testing.T) {
		gr.ok(t, "git", "commit", "-q", "-S", "--allow-empty", "-m", "signed commit")
		gr.assertGood(t, fpr, "verify-commit", "HEAD")
		if log := gr.ok(t, "git", "log", "-1", "--format=%G? %GF"); strings.TrimSpace(log) != "G "+fpr {
			t.Errorf("git log %%G? %%GF = %q, want G %s", log, fpr)
		}
	})
	t.Run("committer as the key", func(t *testing.T) {
		// With no user.signingkey git passes its committer ident as -u:
		// the user ID of the repo key's certificate.
		other := newGitRepo(t, g, "Test repo", "repo@example.org")
		other.ok(t, "git", "tag", "-s", "-m", "by user ID", "v1.0")
		other.assertGood(t, fpr, "verify-tag", "v1.0")
	})

	tampered := []struct {
		name   string
		change func(t *testing.T, tag string) string
	}{
		{"signature changed", flipSignatureByte},
		{"message changed", func(t *testing.T, tag string) string {
			return strings.Replace(tag, "Release 1.0", "Release 1.1", 1)
		}},
	}
	for _, tt := range tampered {
		t.Run(tt.name, func(t *testing.T) {
			bad := tt.change(t, tag)
			if bad == tag {
				t.Fatal("tag unchanged")
			}
			id := strings.TrimSpace(gr.input(t, bad, "git", "hash-object", "-t", "tag", "-w", "--stdin"))
			gr.ok(t, "git", "update-ref", "refs/tags/bad-"+strings.ReplaceAll(tt.name, " ", "-"), id)
			gr.assertRejected(t, "verify-tag", "bad-"+strings.ReplaceAll(tt.name, " ", "-"))
		})
	}
	t.Run("no certificate", func(t *testing.T) {
		empty := t.TempDir()
		cmd := gr.command("git", "verify-tag", "--raw", "v1.0")
		cmd.Env = append(cmd.Env, "GNUPGHOME="+empty)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "[GNUPG:] ERRSIG ") || strings.Contains(string(out), "GOODSIG") {
			t.Fatalf("git verify-tag without the certificate: %v, want ERRSIG\n%s", err, out)
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		gr.ok(t, "git", "config", "user.signingkey", "nosuchkey")
		defer gr.ok(t, "git", "config", "user.signingkey", "repo")
		out, err := gr.command("git", "tag", "-s", "-m", "no key", "v2.0").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "gpg failed to sign the data") {
			t.Fatalf("git tag -s with an unknown key: %v\n%s", err, out)
		}
		if out, err := gr.command("git", "rev-parse", "-q", "--verify", "refs/tags/v2.0").CombinedOutput(); err == nil {
			t.Fatalf("git tag -s left a tag after gpg failed: %s", out)
		}
	})
}

// gitRepo is a git repository with one commit, its own HOME and no system
// config, run with the front end's environment: gpg.program unset, so
// git finds the front end in PATH as gpg.
type gitRepo struct {
	g   *gpgFront
	dir string
	env []string
}

func newGitRepo(t *testing.T, g *gpgFront, name, email string) *gitRepo {
	t.Helper()
	gr := &gitRepo{g: g, dir: t.TempDir()}
	gr.env = append(append([]string(nil), g.env...), "HOME="+t.TempDir(), "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME="+name, "GIT_AUTHOR_EMAIL="+email, "GIT_COMMITTER_NAME="+name, "GIT_COMMITTER_EMAIL="+email,
		"TMPDIR="+t.TempDir())
	gr.ok(t, "git", "init", "-q", "-b", "main")
	writeFile(t, filepath.Join(gr.dir, "README"), "release\n", 0o644)
	gr.ok(t, "git", "add", "README")
	gr.ok(t, "git", "commit", "-q", "-m", "first")
	return gr
}

func (gr *gitRepo) command(name string, args ...string) *exec.Cmd {
	cmd := gr.g.command(gr.dir, name, args...)
	cmd.Env = gr.env
	return cmd
}

// ok runs name with args and returns its stdout; it fails the test
// unless the command exits 0.
func (gr *gitRepo) ok(t *testing.T, name string, args ...string) string {
	t.Helper()
	return gr.input(t, "", name, args...)
}

// input is ok with stdin.
func (gr *gitRepo) input(t *testing.T, stdin, name string, args ...string) string {
	t.Helper()
	cmd := gr.command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s\nsshd log:\n%s", name, strings.Join(args, " "), err, out.String(), errb.String(), gr.g.srv.Log())
	}
	return out.String()
}

// assertGood runs git VERIFY REF (verify-tag or verify-commit) and
// checks that git accepts it, with gpg's GOODSIG and VALIDSIG by the key
// fpr in the status lines (--raw) and "Good signature" for the user.
func (gr *gitRepo) assertGood(t *testing.T, fpr, verify, ref string) {
	t.Helper()
	out, err := gr.command("git", verify, ref).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `Good signature from "Test repo <repo@example.org>"`) {
		t.Fatalf("git %s %s: %v\n%s", verify, ref, err, out)
	}
	out, err = gr.command("git", verify, "--raw", ref).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "[GNUPG:] GOODSIG ") || !strings.Contains(string(out), "[GNUPG:] VALIDSIG "+fpr+" ") {
		t.Fatalf("git %s --raw %s: %v, want GOODSIG and VALIDSIG %s\n%s", verify, ref, err, fpr, out)
	}
}

// assertRejected checks that git VERIFY REF fails and that gpg reported
// the signature bad.
func (gr *gitRepo) assertRejected(t *testing.T, verify, ref string) {
	t.Helper()
	out, err := gr.command("git", verify, "--raw", ref).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "[GNUPG:] BADSIG ") || strings.Contains(string(out), "GOODSIG") {
		t.Fatalf("git %s --raw %s: %v, want BADSIG\n%s", verify, ref, err, out)
	}
}

// flipSignatureByte changes the last byte of the armored signature in a
// tag, the end of its signature value, and armors it again, so that gpg
// parses the signature and reports it bad rather than the armor broken.
func flipSignatureByte(t *testing.T, tag string) string {
	t.Helper()
	i := strings.Index(tag, "-----BEGIN PGP SIGNATURE-----")
	if i < 0 {
		t.Fatalf("no armored signature in the tag:\n%s", tag)
	}
	block, err := armor.Decode(strings.NewReader(tag[i:]))
	if err != nil {
		t.Fatalf("signature armor: %v", err)
	}
	sig, err := io.ReadAll(block.Body)
	if err != nil || len(sig) == 0 {
		t.Fatalf("signature armor: %v", err)
	}
	sig[len(sig)-1] ^= 0x01
	var b strings.Builder
	w, err := armor.Encode(&b, block.Type, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(sig); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return tag[:i] + strings.TrimSuffix(b.String(), "\n") + "\n"
}
