package token

import (
	"errors"
	"fmt"
	"strings"

	"github.com/miekg/pkcs11"
)

// Errors callers branch on. They are wrapped, never returned bare: the
// message of the returned error says what was being done, and errors.Is
// finds the sentinel.
var (
	// ErrModule means the PKCS#11 module could not be loaded or initialized.
	ErrModule = errors.New("PKCS#11 module unusable")
	// ErrTokenNotFound means no slot holds a token with the label or serial asked for.
	ErrTokenNotFound = errors.New("token not found")
	// ErrPIN means the token refused the PIN: wrong, of the wrong length, locked or expired.
	ErrPIN = errors.New("PIN refused")
	// ErrKeyNotFound means no private key on the token has the CKA_ID asked for.
	ErrKeyNotFound = errors.New("key not found")
)

// kindError carries a sentinel for errors.Is without adding the sentinel's
// text to the message, so messages stay one precise line.
type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// errorf formats a message like fmt.Errorf and marks it as kind.
func errorf(kind error, format string, a ...any) error {
	return &kindError{kind: kind, err: fmt.Errorf(format, a...)}
}

// ckr names a PKCS#11 return value (CKR_PIN_INCORRECT) without miekg's
// "pkcs11: 0xA0:" prefix; other errors are returned as their message.
func ckr(err error) string {
	var rv pkcs11.Error
	if !errors.As(err, &rv) {
		return err.Error()
	}
	// miekg/pkcs11 v1.1.2 names only the v2.40 return values; a v3.0 one
	// gets its number.
	msg := rv.Error()
	if i := strings.LastIndex(msg, " "); strings.HasPrefix(msg[i+1:], "CKR_") {
		return msg[i+1:]
	}
	return fmt.Sprintf("CKR 0x%X", uint(rv))
}

// rvError is err as ckr names it, kept for isCKR where a caller branches
// on the return value (see Options.unserialized).
type rvError struct{ err error }

func (e rvError) Error() string { return ckr(e.err) }
func (e rvError) Unwrap() error { return e.err }

// isCKR reports whether err is the PKCS#11 return value rv.
func isCKR(err error, rv uint) bool {
	var e pkcs11.Error
	return errors.As(err, &e) && uint(e) == rv
}

// pinProblem says in words why the token refused a PIN, or "" when err is
// not about the PIN. PKCS#11 v3.0 base specification section 5.6.8 (C_Login)
// lists these return values.
func pinProblem(err error) string {
	var rv pkcs11.Error
	if !errors.As(err, &rv) {
		return ""
	}
	switch uint(rv) {
	case pkcs11.CKR_PIN_INCORRECT:
		return "wrong PIN"
	case pkcs11.CKR_PIN_LEN_RANGE:
		return "PIN too short or too long"
	case pkcs11.CKR_PIN_LOCKED:
		return "PIN locked"
	case pkcs11.CKR_PIN_EXPIRED:
		return "PIN expired"
	case pkcs11.CKR_PIN_INVALID:
		return "PIN has characters the token does not accept"
	}
	return ""
}
