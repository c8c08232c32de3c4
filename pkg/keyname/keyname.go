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

import "regexp"

var alphabet = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// Valid reports whether name may name a key.
func Valid(name string) bool { return alphabet.MatchString(name) }
