//go:build linux && cgo

package main

// What a job reads its input from. In the login shell, standard input is
// read under the account's [remote] idle-timeout and max-duration (package
// input), so an idle or endless client cannot hold a logged-in token
// session. The admin CLI reads standard input as it is: the admin at the
// terminal can interrupt it, and a local pipeline may be slow for good
// reasons (a build still writing the artifact).

import (
	"errors"
	"io"
	"os"
	"time"

	"signstar/pkg/audit"
	"signstar/pkg/input"
)

// processStart is when the request started: the login shell serves one
// request per process, so reading the config, opening and logging in to
// the token and locking down all count against max-duration.
var processStart = time.Now()

// stdin is standard input, under the limits in the login shell.
func (j *job) stdin() io.Reader {
	if j.rec.Mode != audit.SSH {
		return os.Stdin
	}
	idle, total := j.cfg.Remote.Limits()
	return input.NewReader(os.Stdin, input.Limits{Idle: idle, Total: total, Start: processStart})
}

// inputLimit returns the limit that ended err's read, unwrapped: the
// client is told which limit ended its request, in the words of package
// input, without the layers it went through.
func inputLimit(err error) (*input.Error, bool) {
	var limit *input.Error
	return limit, errors.As(err, &limit)
}
