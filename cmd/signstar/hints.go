//go:build linux && cgo

package main

import (
	"errors"

	"signstar/pkg/config"
	"signstar/pkg/token"
)

// Hints are advice for the admin at the command line: what to do next
// about an error. Library errors say what failed; the hint is printed as a
// line of its own ("signstar: hint: ..."), as age's errorWithHint does,
// and never in the login shell, whose reader is the SSH client.

// hint is an error that is only advice; checkIdentity wraps one.
type hint string

func (h hint) Error() string { return string(h) }

// hints maps what went wrong to what an admin would do about it; the
// first match wins.
var hints = []struct {
	err  error
	hint string
}{
	{config.ErrNoConfig, "create the config with 'signstar init', or name another with --config or SIGNSTAR_CONFIG"},
	{config.ErrUntrusted, "make root the owner and take write access from group and others: chown root: PATH && chmod go-w PATH"},
	{config.ErrPermissions, "make the file private to the account that signs: chmod 600 PATH"},
	{errNoLockFile, "name one in the config (lock-file = \"/run/signstar/config.lock\" under [token]); the account must be able to open it"},
	{config.ErrNoKeys, "generate one with 'signstar key generate', or take one over with 'signstar key adopt'"},
	{token.ErrModule, "check token.module (or module-path in token.uri) in the config"},
	{token.ErrTokenNotFound, "list the tokens with 'pkcs11-tool --module MODULE --list-token-slots'"},
	{token.ErrPIN, "check the PIN in the file token.pin-file names"},
	{token.ErrKeyNotFound, "the config's key id is not on this token (another token, or the key was deleted)"},
}

// hintFor returns the advice for err, or "".
func hintFor(err error) string {
	var h hint
	if errors.As(err, &h) {
		return string(h)
	}
	for _, e := range hints {
		if errors.Is(err, e.err) {
			return e.hint
		}
	}
	return ""
}
