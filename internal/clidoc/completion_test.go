package clidoc

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"signstar/internal/clidoc/clidoctest"
)

// completionDir holds a file and a directory for the completions of file
// and directory names to find.
func completionDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sub.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestBash(t *testing.T) {
	script := Bash(toyModel(t), "'make completions'")
	dir := completionDir(t)
	tests := []struct {
		name  string
		words []string // COMP_WORDS; the last is the word completed
		want  []string
	}{
		{"commands, the hidden one too", []string{toyName, ""}, []string{"build", "dump", "remote"}},
		{"subcommands", []string{toyName, "remote", ""}, []string{"add", "list"}},
		{"after a global flag and its value", []string{toyName, "--config", "x", "b"}, []string{"build"}},
		{"after a short flag and its value", []string{toyName, "-c", "x", "r"}, []string{"remote"}},
		{"after a counter", []string{toyName, "-v", "r"}, []string{"remote"}},
		{"after a parent's flag", []string{toyName, "remote", "--tag", "x", "a"}, []string{"add"}},
		{"enum", []string{toyName, "build", "--mode", ""}, []string{"debug", "release"}},
		{"enum after =", []string{toyName, "build", "--jobs", "=", "2", "--mode", "=", "r"}, []string{"release"}},
		{"enum in one word", []string{toyName, "build", "--mode=d"}, []string{"--mode=debug"}},
		{"flags, the parents' too", []string{toyName, "remote", "add", "--"},
			[]string{"--config", "--file", "--help", "--tag", "--url", "--verbose", "--version"}},
		{"a file", []string{toyName, "remote", "add", "--file", dir + "/sub"}, []string{dir + "/sub", dir + "/sub.txt"}},
		{"a directory", []string{toyName, "build", "--out", dir + "/sub"}, []string{dir + "/sub"}},
		{"file arguments", []string{toyName, "build", "--jobs", "2", dir + "/sub."}, []string{dir + "/sub.txt"}},
		{"any value", []string{toyName, "remote", "add", "--url", ""}, nil},
		{"any argument", []string{toyName, "remote", "add", ""}, nil},
		{"a flag not here", []string{toyName, "--mode=d"}, nil},
		{"a flag that takes no value", []string{toyName, "--verbose=x"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := clidoctest.Bash(t, script, tt.words...); !slices.Equal(got, tt.want) {
				t.Errorf("COMPREPLY = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestZsh(t *testing.T) {
	script := Zsh(toyModel(t), "'make completions'")
	dir := completionDir(t)
	tests := []struct {
		line string
		want []string
	}{
		{toyName + " ", []string{"build", "dump", "remote"}},
		{toyName + " remote ", []string{"add", "list"}},
		{toyName + " build --mode ", []string{"debug", "release"}},
		{toyName + " build --out " + dir + "/", []string{"sub"}},
		// --file is not offered after --url: kong refuses both.
		{toyName + " remote add --url x --", []string{"--config", "--help", "--tag", "--verbose", "--version"}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			if got := clidoctest.Zsh(t, toyName, script, tt.line); !slices.Equal(got, tt.want) {
				t.Errorf("completions = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFish(t *testing.T) {
	script := Fish(toyModel(t), "'make completions'")
	tests := []struct {
		line string
		want []string
	}{
		{toyName + " ", []string{"build", "dump", "remote"}},
		{toyName + " remote ", []string{"add", "list"}},
		{toyName + " build --mode ", []string{"debug", "release"}},
		{toyName + " remote add --", []string{"--config", "--file", "--help", "--tag", "--url", "--verbose", "--version"}},
		{toyName + " build --", []string{"--config", "--help", "--jobs", "--mode", "--out", "--verbose", "--version"}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			if got := clidoctest.Fish(t, script, tt.line); !slices.Equal(got, tt.want) {
				t.Errorf("completions = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestCompletionHeader checks that each script says what generated it, in
// the shell's comment syntax, after zsh's #compdef line.
func TestCompletionHeader(t *testing.T) {
	app := toyModel(t)
	tests := []struct {
		shell  string
		script []byte
		first  string
	}{
		{"bash", Bash(app, "'make completions'"), ""},
		{"zsh", Zsh(app, "'make completions'"), "#compdef toy-cli\n"},
		{"fish", Fish(app, "'make completions'"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.shell, func(t *testing.T) {
			want := tt.first + "# " + tt.shell + " completion for toy-cli(1), generated from the command line model by 'make completions'; do not edit.\n"
			if !bytes.HasPrefix(tt.script, []byte(want)) {
				t.Errorf("script starts %.120q, want %q", tt.script, want)
			}
		})
	}
}
