//go:build unix

package translog

import (
	"fmt"
	"os"
	"syscall"
)

// lock takes an exclusive flock(2) on path (made if missing), waiting
// for any other holder: appends of concurrent signstar processes go one
// at a time. The returned function lets it go.
func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock: %v", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %v", path, err)
	}
	return func() { f.Close() }, nil
}
