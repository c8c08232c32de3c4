// Package refusal marks the errors that mean "the requester asked for
// something signstar does not do, or may not do", as opposed to a valid
// request that failed. Every layer that judges a request refuses through it:
// the login shell's grammar (package remote), the signing-request checks and
// the admin command line; and every layer that reports one tells them apart
// through it: the audit trail records a refusal as refused, not failed
// (audit.ResultOf), and the command line exits 2.
//
// It is a leaf, standard library only, so that the audit trail can know what
// a refusal is without importing the grammars that produce one.
package refusal

import (
	"errors"
	"fmt"
)

// Err is what every refusal is: errors.Is(err, refusal.Err) tells a
// refusal from a failure, however deeply it was wrapped.
var Err = errors.New("refused")

// Errorf returns a refusal reading "refused: " and the formatted reason.
// The reason goes back to the requester, who in the login shell is the SSH
// client: it says what the request did wrong, never how the host is laid
// out.
func Errorf(format string, v ...any) error {
	return fmt.Errorf("%w: %s", Err, fmt.Sprintf(format, v...))
}
