package audit

import (
	"errors"
	"os/exec"
	"signstar/internal/testenv"
	"strings"
	"testing"
)

// heavy are the packages that parse the config or talk PKCS#11: what a
// package that records (audit), speaks the request protocol (request) or
// runs on a release engineer's laptop (client) must not pull in (STYLE.md,
// "Seams"). A path names a package and everything under it.
var heavy = []string{
	"signstar/pkg/config",
	"signstar/pkg/keyring",
	"signstar/pkg/token",
	"github.com/pelletier/go-toml",
	"github.com/stefanberger/go-pkcs11uri",
	"github.com/miekg/pkcs11",
	"github.com/ThalesGroup/crypto11",
}

// TestDependenciesPointDown holds the rule with `go list -deps`, the check
// STYLE.md names: which packages each of these imports, directly or not.
func TestDependenciesPointDown(t *testing.T) {
	tests := []struct {
		pkg    string
		forbid []string
	}{
		{"signstar/pkg/audit", heavy},
		{"signstar/pkg/request", heavy},
		{"signstar/pkg/client", heavy},
		{"signstar/pkg/remote", heavy},
		// The client config is TOML, and nothing else of the host's.
		{"signstar/pkg/clientconfig", heavy[:3]},
		// The leaves: the standard library only.
		{"signstar/pkg/refusal", []string{"signstar", "github.com", "golang.org/x"}},
		{"signstar/pkg/keyname", []string{"signstar", "github.com", "golang.org/x"}},
	}
	var pkgs []string
	for _, tt := range tests {
		pkgs = append(pkgs, tt.pkg)
	}
	imports := importGraph(t, pkgs...)
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			if _, ok := imports[tt.pkg]; !ok {
				t.Fatalf("go list did not list %s", tt.pkg)
			}
			for _, chain := range reach(imports, tt.pkg, tt.forbid) {
				t.Errorf("%s must not depend on %s: %s", tt.pkg, chain[len(chain)-1], strings.Join(chain, " -> "))
			}
		})
	}
}

// importGraph runs `go list -deps` on pkgs and returns what each package
// listed imports directly.
func importGraph(t *testing.T, pkgs ...string) map[string][]string {
	t.Helper()
	goTool := testenv.Tool(t, "go")
	args := append([]string{"list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}"}, pkgs...)
	out, err := exec.Command(goTool, args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list -deps: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list -deps: %v", err)
	}
	g := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		g[f[0]] = f[1:]
	}
	return g
}

// reach returns, for each package under one of forbid that from imports,
// the first import chain found from it, breadth first.
func reach(imports map[string][]string, from string, forbid []string) [][]string {
	var found [][]string
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p != from && under(p, forbid) {
			found = append(found, chain(prev, p))
			continue
		}
		for _, q := range imports[p] {
			if _, seen := prev[q]; !seen {
				prev[q] = p
				queue = append(queue, q)
			}
		}
	}
	return found
}

func under(pkg string, prefixes []string) bool {
	for _, p := range prefixes {
		if pkg == p || strings.HasPrefix(pkg, p+"/") {
			return true
		}
	}
	return false
}

// chain is the import path from the root of prev to p.
func chain(prev map[string]string, p string) []string {
	c := []string{p}
	for prev[p] != "" {
		p = prev[p]
		c = append([]string{p}, c...)
	}
	return c
}
