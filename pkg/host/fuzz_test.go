package host

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var fingerprint = regexp.MustCompile(`^SHA256:[A-Za-z0-9+/]{43}$`)

// FuzzParse checks that a host file Parse accepts renders into files sshd
// reads as meant: one Match block per account, one "restrict" line per
// client key and nothing else, whatever the names, comments and patterns
// hold (a newline or quote smuggled into one would add a key or an
// option), and allow lists that name only declared keys.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/fuzz-seeds/*.toml")
	for _, s := range append(seeds, example) {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := Parse(data)
		if err != nil {
			if h != nil || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Parse: %q with a file %v", err, h != nil)
			}
			return
		}
		drop := string(dropIn(h))
		if n := strings.Count(drop, "\nMatch User "); n != len(h.Accounts) {
			t.Fatalf("%d Match blocks for %d accounts:\n%s", n, len(h.Accounts), drop)
		}
		for _, w := range authorizedKeys(h)[1:] {
			checkAuthorizedKeys(t, h, w)
		}
		for _, c := range h.Configs {
			for _, clients := range c.Allow {
				for _, cn := range clients {
					if _, cl := h.client(cn); cl == nil || !fingerprint.MatchString(cl.Fingerprint()) {
						t.Fatalf("allow names %q, which is not a declared client key", cn)
					}
				}
			}
		}
	})
}

func checkAuthorizedKeys(t *testing.T, h *File, w want) {
	t.Helper()
	a := h.Accounts[filepath.Base(w.path)]
	keys := 0
	for _, l := range bytes.Split(bytes.TrimSuffix(w.data, []byte("\n")), []byte("\n")) {
		switch {
		case bytes.HasPrefix(l, []byte("#")):
		case bytes.HasPrefix(l, []byte("restrict ")) || bytes.HasPrefix(l, []byte("restrict,from=\"")) && bytes.Count(l, []byte(`"`)) == 2:
			keys++
		default:
			t.Fatalf("line %q in %s is neither a comment nor a restricted key", l, w.path)
		}
	}
	if keys != len(a.Clients) {
		t.Fatalf("%d key lines for %d client keys", keys, len(a.Clients))
	}
}
