//go:build !linux

package input

import (
	"errors"
	"os"
)

// errUnsupported is every read off Linux: a read without its limits would
// let an idle client hold the token session for ever.
var errUnsupported = errors.New("read standard input with time limits: only supported on Linux")

// Reader fails every read.
type Reader struct{}

// NewReader returns a Reader whose reads fail.
func NewReader(*os.File, Limits) *Reader { return &Reader{} }

// Read fails.
func (*Reader) Read([]byte) (int, error) { return 0, errUnsupported }
