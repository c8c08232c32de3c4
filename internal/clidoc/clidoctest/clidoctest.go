// Package clidoctest runs what package clidoc writes as a user would: the
// man page through man(1) and lexgrog(1), the completions through bash,
// zsh and fish, completing a command line the way each shell does when the
// user presses tab.
//
// A missing tool skips the test, or fails it under SIGNSTAR_E2E=1
// ([verifytest.Tool]).
package clidoctest

import (
	"bytes"
	_ "embed"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"signstar/internal/testenv"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// Plain strips roff escapes from page source, for matching text.
func Plain(roff string) string {
	roff = regexp.MustCompile(`\\f[BIRP]`).ReplaceAllString(roff, "")
	return strings.NewReplacer(`\-`, "-", `\&`, "", `\e`, `\`, `\(aq`, "'", `\(ga`, "`", `\(ti`, "~", `\(ha`, "^", `\(dq`, `"`).Replace(roff)
}

// Sections splits page source into its .SH and .SS sections, by title,
// in plain text.
func Sections(page []byte) map[string]string {
	out := map[string]string{}
	title := ""
	for _, line := range strings.Split(string(page), "\n") {
		if name, ok := strings.CutPrefix(line, ".SH "); ok {
			title = strings.Trim(name, `"`)
		} else if name, ok := strings.CutPrefix(line, ".SS "); ok {
			title = strings.Trim(name, `"`)
		}
		out[Plain(title)] += Plain(line) + "\n"
	}
	return out
}

// Man renders page with man -l at 80 columns and returns the text. It
// fails the test if man warns about the source or a line is wider than 80
// columns.
func Man(t testing.TB, page []byte) string {
	t.Helper()
	man := testenv.Tool(t, "man")
	path := writeFile(t, t.TempDir(), "page.1", page)
	cmd := exec.Command(man, "--warnings", "-E", "UTF-8", "-l", path)
	cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("man --warnings: %v\n%s", err, stderr.Bytes())
	}
	for i, line := range strings.Split(stdout.String(), "\n") {
		if utf8.RuneCountInString(line) > 80 {
			t.Errorf("line %d is wider than 80 columns: %q", i+1, line)
		}
	}
	return stdout.String()
}

// Whatis is what lexgrog(1) reads from page's NAME section, as mandb does
// for whatis(1) and apropos(1): `page.1: "NAME - WHAT"`.
func Whatis(t testing.TB, page []byte) string {
	t.Helper()
	lexgrog := testenv.Tool(t, "lexgrog")
	out, err := exec.Command(lexgrog, writeFile(t, t.TempDir(), "page.1", page)).CombinedOutput()
	if err != nil {
		t.Fatalf("lexgrog: %v: %s", err, out)
	}
	return string(out)
}

// Bash sources script, a bash completion, and completes words (COMP_WORDS:
// the command's name first, the word being completed last) with the
// function script registers for words[0]. It returns COMPREPLY, sorted,
// without duplicates.
func Bash(t testing.TB, script []byte, words ...string) []string {
	t.Helper()
	bash := testenv.Tool(t, "bash")
	path := writeFile(t, t.TempDir(), "completion.bash", script)
	if out, err := exec.Command(bash, "-n", path).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	cmd := exec.Command(bash, "--norc", "--noprofile", "-c", `source "$1"; shift
fn=$(complete -p "$1" | sed -n 's/.* -F \([^ ]*\) .*/\1/p')
[[ -n $fn ]] || { echo "no completion function for $1" >&2; exit 1; }
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); "$fn"; printf '%s\n' "${COMPREPLY[@]}"`, "bash", path)
	cmd.Args = append(cmd.Args, words...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return Lines(out)
}

//go:embed complete.zsh
var completeZsh []byte

// Zsh installs script, a zsh completion, as _NAME in a directory on $fpath
// and returns what an interactive zsh offers when tab is pressed after
// line, sorted, without duplicates.
func Zsh(t testing.TB, name string, script []byte, line string) []string {
	t.Helper()
	zsh := testenv.Tool(t, "zsh")
	dir := t.TempDir()
	path := writeFile(t, dir, "_"+name, script)
	if out, err := exec.Command(zsh, "-n", path).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
	tmp := t.TempDir()
	capture := writeFile(t, tmp, "complete.zsh", completeZsh)
	out := filepath.Join(tmp, "out")
	if msg, err := exec.Command(zsh, "-f", capture, dir, line, out).CombinedOutput(); err != nil {
		t.Fatalf("complete.zsh: %v\n%s", err, msg)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(Lines(data), func(s string) bool { return s == "__done__" })
}

// Fish sources script, a fish completion, and returns the words fish
// offers for line (complete --do-complete), sorted, without duplicates.
func Fish(t testing.TB, script []byte, line string) []string {
	t.Helper()
	fish := testenv.Tool(t, "fish")
	path := writeFile(t, t.TempDir(), "completion.fish", script)
	if out, err := exec.Command(fish, "--no-execute", path).CombinedOutput(); err != nil {
		t.Fatalf("fish --no-execute: %v\n%s", err, out)
	}
	out, err := exec.Command(fish, "--no-config", "-c", `source $argv[1]; complete --do-complete=$argv[2]`, path, line).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var words []string
	for _, l := range Lines(out) {
		word, _, _ := strings.Cut(l, "\t")
		words = append(words, word)
	}
	return words
}

// Lines are out's non-empty lines, sorted and without duplicates.
func Lines(out []byte) []string {
	var l []string
	for _, line := range strings.Split(string(out), "\n") {
		if line != "" {
			l = append(l, line)
		}
	}
	slices.Sort(l)
	return slices.Compact(l)
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
