package token

import (
	"fmt"
	"strings"
)

// KeyType names a key algorithm signstar generates.
type KeyType string

// The key types signstar generates. Each maps to one PKCS#11 key pair
// generation mechanism; see [Token.Generate].
const (
	Ed25519 KeyType = "ed25519"
	RSA3072 KeyType = "rsa3072"
	RSA4096 KeyType = "rsa4096"
	P256    KeyType = "p256"
	P384    KeyType = "p384"
)

// KeyTypes returns every key type, in the order they are documented.
func KeyTypes() []KeyType {
	return []KeyType{Ed25519, RSA3072, RSA4096, P256, P384}
}

// ParseKeyType returns the key type named s. Names are case-sensitive, as
// they appear in configuration files and on the command line.
func ParseKeyType(s string) (KeyType, error) {
	for _, k := range KeyTypes() {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown key type %q (valid: %s)", s, JoinKeyTypes(KeyTypes(), ", "))
}

// JoinKeyTypes names types in order, separated by sep: "ed25519, p256"
// for a message, "ed25519,p256" for a command-line enum.
func JoinKeyTypes(types []KeyType, sep string) string {
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = string(t)
	}
	return strings.Join(names, sep)
}
