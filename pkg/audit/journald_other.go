//go:build !linux

package audit

import "errors"

// openJournald fails: journald is Linux only, and an audit trail that
// silently goes nowhere is worse than none.
func openJournald(path string) (Sink, error) {
	return nil, errors.New("open audit sink journald: not supported on this platform")
}
