// Package keyname holds the alphabet of signstar's key names: one to 64
// ASCII letters, digits, '_' and '-', starting with a letter or digit.
//
// A key name is the one free-form word of a client's request (sign --key
// NAME), a bare TOML key in the config ([keys.NAME]) and a file name under
// the certificate directory (NAME.asc), so the alphabet is small and inert
// in all three: no space, quote, dot, slash or leading dash. The config, the
// login shell's grammar, the keyring and the client all check names here and
// nowhere else.
package keyname

// Valid reports whether name may name a key: ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$.
//
// A loop, not that regexp: every signstar process checks a key name, and
// compiling the regexp (its {0,63} unrolled into 63 optional copies) at
// package init cost 1 to 2 ms of every start, a tenth of a signature's own
// time (GODEBUG=inittrace=1; issue 17).
func Valid(name string) bool {
	if len(name) == 0 || len(name) > 64 || name[0] == '_' || name[0] == '-' {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !inAlphabet(name[i]) {
			return false
		}
	}
	return true
}

func inAlphabet(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}
