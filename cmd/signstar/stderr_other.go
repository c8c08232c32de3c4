//go:build !linux

package main

import "errors"

// moduleStderr: see stderr_linux.go.
type moduleStderr struct{ client int }

func captureModuleStderr() (*moduleStderr, error) {
	return nil, errors.New("capture module output: not supported on this system")
}

func (m *moduleStderr) output() string { return "" }
