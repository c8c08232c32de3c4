package request

import "strings"

// checkVersion accepts a Semantic Versioning 2.0.0 string whose major
// version is 1: upstream parses the field with the semver crate and its
// server refuses any other major (signstar-sign/src/main.rs).
func checkVersion(doc, v string) error {
	core, build, hasBuild := strings.Cut(v, "+")
	core, pre, hasPre := strings.Cut(core, "-")
	nums := strings.Split(core, ".")
	ok := len(nums) == 3 && numeric(nums[0]) && numeric(nums[1]) && numeric(nums[2]) &&
		(!hasPre || identifiers(pre, true)) && (!hasBuild || identifiers(build, false))
	if !ok {
		return invalidf(doc, "version: %s is not a semantic version", quote(v))
	}
	if nums[0] != "1" {
		return invalidf(doc, "version: %s is not supported (want 1.x.y)", quote(v))
	}
	return nil
}

// numeric is a semver numeric identifier: digits, no leading zero.
func numeric(s string) bool {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// identifiers checks dot-separated pre-release (pre) or build identifiers:
// [0-9A-Za-z-]+, and in a pre-release a numeric one has no leading zero.
func identifiers(s string, pre bool) bool {
	for _, id := range strings.Split(s, ".") {
		if id == "" {
			return false
		}
		digits := true
		for i := 0; i < len(id); i++ {
			c := id[i]
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-':
				digits = false
			default:
				return false
			}
		}
		if pre && digits && !numeric(id) {
			return false
		}
	}
	return true
}
