package main

// README.md's tables of configuration keys and audit fields are written
// for people reading the project on the web; these tests hold them to the
// code, so that a key or field added to one is added to the other.

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"signstar/pkg/config"
)

// readmeTable returns the names in the first column of the table under
// heading whose header row's first cell is column: each `name` in
// backquotes, a row may have several ("`token.module`, `token.label`").
func readmeTable(t *testing.T, heading, column string) []string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no %q", heading)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var names []string
	in := false
	for _, line := range strings.Split(section, "\n") {
		first, ok := firstCell(line)
		switch {
		case !ok:
			in = false
		case first == column:
			in = true
		case in && strings.Trim(first, "- ") != "":
			for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(first, -1) {
				names = append(names, m[1])
			}
		}
	}
	if len(names) == 0 {
		t.Fatalf("README.md has no table with a %q column under %q", column, heading)
	}
	return names
}

// firstCell is the first cell of a Markdown table row.
func firstCell(line string) (string, bool) {
	rest, ok := strings.CutPrefix(line, "| ")
	if !ok {
		return "", false
	}
	cell, _, ok := strings.Cut(rest, " |")
	return strings.TrimSpace(cell), ok
}

// sameNames reports, as a test error, names in one list and not in the
// other.
func sameNames(t *testing.T, what string, readme []string, code []string, codeName string) {
	t.Helper()
	for _, n := range code {
		if !slices.Contains(readme, n) {
			t.Errorf("%s %s is in %s, not in README.md", what, n, codeName)
		}
	}
	for _, n := range readme {
		if !slices.Contains(code, n) {
			t.Errorf("README.md lists %s %s, which %s does not have", what, n, codeName)
		}
	}
	if sorted := slices.Sorted(slices.Values(readme)); len(slices.Compact(sorted)) != len(readme) {
		t.Errorf("README.md lists a %s twice: %v", what, readme)
	}
}

func TestREADMEConfigKeys(t *testing.T) {
	readme := readmeTable(t, "## Configuration", "key")
	var documented []string
	for _, k := range configKeys() {
		documented = append(documented, k.name)
	}
	sameNames(t, "key", readme, documented, "signstar(1) (configKeys)")
	sameNames(t, "key", readme, tomlKeys(reflect.TypeFor[config.Config](), ""), "config.Config")
}

func TestREADMEAuditFields(t *testing.T) {
	readme := readmeTable(t, "## Audit", "field")
	var documented []string
	for _, f := range auditFields {
		documented = append(documented, f.name)
	}
	sameNames(t, "field", readme, documented, "signstar(1) (auditFields)")
	// The file sink adds the journal's own timestamp field, which
	// journald sets itself.
	written := slices.DeleteFunc(auditFieldNames(t), func(n string) bool { return n == "__REALTIME_TIMESTAMP" })
	sameNames(t, "field", readme, written, "the audit file sink")
}
