//go:build unix

package main

import (
	"fmt"
	"os"
	"syscall"
)

// execRealGPG replaces this process with GnuPG's gpg and the caller's
// arguments: its descriptors (--status-fd), exit status and output are
// then gpg's own.
func execRealGPG(args []string) error {
	path, err := realGPG()
	if err != nil {
		return err
	}
	err = syscall.Exec(path, append([]string{"gpg"}, args...), os.Environ())
	return fmt.Errorf("run %s: %w", path, err)
}
