package client

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestRemoteText(t *testing.T) {
	for _, tt := range []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"one line", "signstar: error: refused\n", "signstar: error: refused"},
		{"lines", "a\r\n\n  b  \nc", "a; b; c"},
		{"escape", "red \x1b[31mtext\x07", "red ?[31mtext?"},
		{"invalid utf-8", "a\xffb", "a?b"},
		{"unicode", "clé refusée", "clé refusée"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := remoteText([]byte(tt.in)); got != tt.want {
				t.Fatalf("remoteText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestShow(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"pkg.tar.zst", "pkg.tar.zst"},
		{"dir/ü.pkg", "dir/ü.pkg"},
		{"", `""`},
		{"a\x1b[2Jb", `"a\x1b[2Jb"`},
		{"new\nline", `"new\nline"`},
		{`quo"te`, `"quo\"te"`},
	} {
		if got := show(tt.in); got != tt.want {
			t.Errorf("show(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestProgressLine(t *testing.T) {
	for _, tt := range []struct {
		name        string
		file        string
		done, total int64
		want        string
	}{
		{"start", "a.pkg", 0, 100 << 20, "hashing   a.pkg                    [                    ]   0% of 100.0 MiB"},
		{"half", "a.pkg", 50 << 20, 100 << 20, "hashing   a.pkg                    [##########          ]  50% of 100.0 MiB"},
		{"done", "a.pkg", 3 << 30, 3 << 30, "hashing   a.pkg                    [####################] 100% of 3.0 GiB"},
		{"long name", "/srv/repo/x86_64/some-long-package-name-1.0-1-x86_64.pkg.tar.zst", 1, 2,
			"hashing   ...-1-x86_64.pkg.tar.zst [##########          ]  50% of 2 B"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := progressLine("hashing", tt.file, tt.done, tt.total)
			if got != tt.want {
				t.Fatalf("progressLine =\n%q, want\n%q", got, tt.want)
			}
			if len(got) >= 80 {
				t.Fatalf("progress line is %d columns", len(got))
			}
		})
	}
}

// TestNoProgressOffTerminal: a Log that is a file or a buffer never gets a
// carriage return, however large the file.
func TestNoProgressOffTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if newLogger(f).tty {
		t.Fatal("a regular file is taken for a terminal")
	}
	if newLogger(nil).tty || newLogger(&bytes.Buffer{}).tty {
		t.Fatal("a buffer is taken for a terminal")
	}
	big := writeFile(t, t.TempDir(), "big", make([]byte, progressMin+1))
	o := options(t, nil, "ok")
	o.Log = f
	if _, err := Sign(context.Background(), []string{big}, o); err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsAny(log, "\r\x1b") || !bytes.HasPrefix(log, []byte("signstar: signed ")) {
		t.Fatalf("log = %q", log)
	}
}
