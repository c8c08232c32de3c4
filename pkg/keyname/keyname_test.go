package keyname

import (
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
