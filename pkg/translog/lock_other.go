//go:build !unix

package translog

import "errors"

// lock fails closed where flock(2) is missing: an append without the
// lock could lose another process's entry.
func lock(string) (func(), error) {
	return nil, errors.New("appending needs flock(2), which this system lacks")
}
