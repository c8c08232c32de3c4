//go:build !linux

package client

import "os"

// isTerminal reports false outside Linux: the only cost is that no
// progress bar is drawn, nothing a signature depends on.
func isTerminal(f *os.File) bool { return false }
