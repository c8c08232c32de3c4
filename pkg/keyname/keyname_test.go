package keyname

import (
	"regexp"
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	tests := []struct {
		name string
		key  string
		want bool
	}{
		{"letters", "repo", true},
		{"digits dash underscore", "0_release-2", true},
		{"64 bytes", strings.Repeat("k", 64), true},
		{"65 bytes", strings.Repeat("k", 65), false},
		{"empty", "", false},
		{"leading dash", "-k", false}, // would read as a flag on the remote command line
		{"leading underscore", "_k", false},
		{"dot", "a.b", false},    // a dotted TOML key, and NAME.asc
		{"slash", "../k", false}, // a path under certs/
		{"space", "a b", false},  // two words on the remote command line
		{"quote", `a"b`, false},
		{"non-ASCII", "schlüssel", false},
		{"newline", "k\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Valid(tt.key); got != tt.want {
				t.Fatalf("Valid(%q) = %v, want %v", tt.key, got, tt.want)
			}
		})
	}
}

// TestValidIsTheRegexp checks the loop against the regexp it replaced, for
// every one- and two-byte name and names around the length limit.
func TestValidIsTheRegexp(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
	var names []string
	for a := 0; a < 256; a++ {
		names = append(names, string([]byte{byte(a)}))
		for b := 0; b < 256; b++ {
			names = append(names, string([]byte{byte(a), byte(b)}))
		}
	}
	for _, n := range []int{63, 64, 65} {
		names = append(names, "k"+strings.Repeat("-", n-1), "k"+strings.Repeat("_", n-2)+".")
	}
	for _, name := range names {
		if got, want := Valid(name), re.MatchString(name); got != want {
			t.Errorf("Valid(%q) = %v, the regexp says %v", name, got, want)
		}
	}
}
