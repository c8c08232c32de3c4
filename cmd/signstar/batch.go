//go:build linux && cgo

package main

// A batch session (sign --batch, issue 17): many digest-only signing
// requests in one login shell, with one token login and one lockdown. The
// stream is JSON Lines both ways (package request, lines.go): one request a
// line in, one response a line out, in order, each written as soon as its
// request is signed and recorded. Every request is a job of its own: its
// own request ID and record, settled (job.settle) before its line is
// released, exactly as a request on its own is; a request the session
// cannot sign gets an error line and a record, and the stream goes on. The
// session ends at the end of the stream, at [remote] batch-max-requests,
// after batch-idle-timeout without a whole request, or when the client
// hangs up, and its end is one more record (audit.BatchEnd) saying which.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"signstar/pkg/audit"
	"signstar/pkg/input"
	"signstar/pkg/keyring"
	"signstar/pkg/refusal"
	"signstar/pkg/request"
)

// How a batch session ends, as its end record says.
const (
	endEOF     = "eof"    // the client's stream ended
	endLimit   = "limit"  // batch-max-requests answered
	endIdle    = "idle"   // no whole request within batch-idle-timeout
	endHangup  = "hangup" // the client went away
	endFailure = "failure"
)

// batchSession is one batch: the session's job, whose record becomes the
// end record, and what it has answered.
type batchSession struct {
	j      *job
	key    *keyring.Key
	clock  *lineClock
	lines  *request.LineReader
	max    int
	seq    int // requests read so far
	signed int
}

// batch serves a batch session for key name; it ends the job with the
// session's end record.
func (j *job) batch(name string) error {
	if !j.cfg.Remote.BatchEnabled() {
		return j.finish(nil, refusal.Errorf("batch signing is not enabled for this account"))
	}
	kr, ks, err := j.openLocked(name)
	if err != nil {
		return j.finish(nil, err)
	}
	defer kr.Close()
	if err := signsRequests(ks[0]); err != nil {
		return j.finish(nil, err)
	}
	defer j.sink.Close()
	// A client that hung up would kill signstar with SIGPIPE in the middle
	// of the stream, before the trail could say what never left.
	signal.Ignore(syscall.SIGPIPE)
	max, idle := j.cfg.Remote.BatchLimits()
	clock := &lineClock{idle: idle}
	b := &batchSession{j: j, key: ks[0], clock: clock, lines: request.NewLineReader(clock), max: max}
	end, err := b.serve()
	return b.end(end, err)
}

// serve answers requests until the session ends, and says how it ended;
// an error is the server's own failure (a record that could not be
// written), which ends it too.
func (b *batchSession) serve() (string, error) {
	for b.seq < b.max {
		if end, err := b.answerGroup(); end != "" || err != nil {
			return end, err
		}
	}
	return endLimit, nil
}

// maxGroup bounds the requests recorded at once: the first of a group
// waits for the others' signatures, never for their input.
const maxGroup = 32

// answerGroup reads, signs, records and answers the next request, and
// with it those whose lines are already read in (group commit: their
// records take one fsync, not one each). It never waits for a request
// to sign more: a lone request is answered as soon as it is signed. The
// token lock is let go while the session waits for a request (inside
// SignHash) and again while it records and answers them: eight sessions
// on one token wait for each other only while the token signs.
func (b *batchSession) answerGroup() (string, error) {
	g, cut, end := b.signGroup()
	if len(g) == 0 {
		return end, nil // no request came
	}
	var aend string
	var err error
	lerr := b.key.Unlocked(func() error {
		aend, err = b.answer(g, cut)
		return err
	})
	switch {
	case err == nil && lerr != nil:
		return endFailure, lerr
	case aend != "" || err != nil:
		return aend, err
	}
	return end, nil
}

// signGroup signs the next request, and the ones after it while a whole
// line is already read in, up to maxGroup, until the client is found
// gone. cut: the last was cut off by
// the idle timeout; end: no request came, and why.
func (b *batchSession) signGroup() (g []outcome, cut bool, end string) {
	for len(g) < maxGroup && b.seq < b.max && (len(g) == 0 || b.lines.Buffered()) {
		rj := b.requestJob()
		line := &nextLine{b: b}
		out, err := rj.respond(b.key, line)
		if line.end != "" {
			return g, false, line.end
		}
		b.seq++
		g = append(g, outcome{rj, out, err})
		switch {
		case line.cut:
			return g, true, ""
		case errors.Is(err, errHungUp):
			return g, false, "" // answer ends the session on it
		}
	}
	return g, false, ""
}

// errUnsent is the undelivered record of a signature of a group whose
// session ended (the client went away) before its line was written.
var errUnsent = errors.New("the session ended before its response was written")

// answer records a group of requests (settleAll) and writes their lines
// in order. Once the session ends, a signature not yet written gets its
// undelivered record.
func (b *batchSession) answer(g []outcome, cut bool) (string, error) {
	settleAll(audit.Signed, g)
	for _, o := range g {
		if o.err == nil {
			b.signed++ // made and recorded; whether it got out, its records say
		}
	}
	end := ""
	for i, o := range g {
		if end != "" {
			if o.err == nil {
				if err := o.j.undelivered(errUnsent); err != errUnsent {
					return endFailure, err
				}
			}
			continue
		}
		var err error
		if end, err = b.answerOne(o, cut && i == len(g)-1); err != nil {
			return end, err
		}
	}
	return end, nil
}

// answerOne writes a settled request's line: the response, or an error
// line; a request cut off by the idle timeout gets none.
func (b *batchSession) answerOne(o outcome, cut bool) (string, error) {
	out, err := o.out, o.err
	signed := err == nil
	switch {
	case errors.Is(err, errNotReleased):
		return endFailure, err
	case cut:
		return endIdle, nil // the client stopped inside a request: no answer
	case err != nil:
		out = request.ErrorResponse(toClient(err, o.j.rec.RequestID).Error())
	}
	if end, err := send(o.j, out, signed); end != "" || err != nil {
		return end, err
	}
	if errors.Is(err, errHungUp) {
		return endHangup, nil
	}
	return "", nil
}

// send writes a request's response line in one write: a line (well under
// PIPE_BUF, 4096 bytes, for any key signstar has) reaches sshd whole or
// not at all (pipe(7)), never half. A signature that could not be written
// gets its undelivered record, and the session ends.
func send(rj *job, out []byte, signed bool) (end string, err error) {
	_, werr := os.Stdout.Write(append(out, '\n'))
	switch {
	case werr == nil:
		return "", nil
	case !signed:
		return endHangup, nil
	}
	werr = fmt.Errorf("write to the client: %w", werr)
	if err := rj.undelivered(werr); err != werr {
		return endFailure, err // the record saying so failed
	}
	return endHangup, nil
}

// requestJob is the job of the session's next request: the session's job
// with a record of its own, the session's record so far (who, the
// command, the key) with its own request ID and its place in the session.
func (b *batchSession) requestJob() *job {
	rec := *b.j.rec
	rec.RequestID, rec.Batch, rec.BatchSeq = audit.NewRequestID(), b.j.rec.RequestID, b.seq+1
	rj := *b.j // the sink, the config and whatever else settle needs
	rj.rec = &rec
	return &rj
}

// end writes the session's end record and returns what the client is
// told: nothing after its stream ended, a line saying why the session
// stopped early (exit status 3, see batchEnded), or the failure.
func (b *batchSession) end(end string, err error) error {
	rec := b.j.rec
	rec.Result, rec.Event, rec.Batch = audit.Answered, audit.BatchEnd, rec.RequestID
	rec.Detail = fmt.Sprintf("%d requests, %d signed, ended by %s", b.seq, b.signed, end)
	if b.j.stderr != nil {
		rec.ModuleOutput = b.j.stderr.output()
	}
	if werr := b.j.sink.Write(rec); werr != nil && err == nil {
		err = fmt.Errorf("write audit record: %v", werr)
	}
	switch {
	case err != nil:
		return err
	case end == endLimit:
		return &batchEnded{fmt.Sprintf("%d requests, the limit for one session", b.seq)}
	case end == endIdle:
		return &batchEnded{"idle for " + seconds(b.clock.idle)}
	case end == endHangup:
		return errHungUp
	}
	return nil
}

// batchEnded is a batch session that stopped before the client's stream
// did; the client sends the rest in a new session. The login shell exits
// with status exitPartial and this line.
type batchEnded struct{ why string }

func (e *batchEnded) Error() string {
	return "batch ended: " + e.why + "; send the rest in a new session"
}

// endedEarly marks it for exitWith.
func (e *batchEnded) endedEarly() {}

// isPartial reports whether err is a batch that ended early.
func isPartial(err error) bool {
	var e *batchEnded
	return errors.As(err, &e)
}

// seconds writes d as the config does: "60s", not "1m0s".
func seconds(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}

// nextLine is the session's next request line as an io.Reader, read when
// it is first read: inside keyring's SignHash, so the token lock is let go
// while the session waits for it. If no request came, end says why the
// session ends; cut says the client stopped inside one.
type nextLine struct {
	b    *batchSession
	r    *bytes.Reader
	err  error
	end  string
	cut  bool
	read bool
}

func (l *nextLine) Read(p []byte) (int, error) {
	if !l.read {
		l.read = true
		l.fetch()
	}
	if l.err != nil {
		return 0, l.err
	}
	return l.r.Read(p)
}

// errNoRequest is what reading a request that never came returns: the
// session ends (nextLine.end), nothing is recorded of it.
var errNoRequest = errors.New("no request")

// fetch reads the next line under the idle clock and sorts out what came.
func (l *nextLine) fetch() {
	l.b.clock.start()
	line, err := l.b.lines.Next()
	l.r = bytes.NewReader(line)
	switch {
	case err == nil:
	case errors.Is(err, request.ErrLineTooLong), errors.Is(err, request.ErrUnterminated):
		l.err = err // a malformed request, refused as one (requestError)
	case len(line) == 0 && err == io.EOF && checkClient() != nil:
		l.end, l.err = endHangup, errNoRequest // sshd closed both ends
	case len(line) == 0 && err == io.EOF:
		l.end, l.err = endEOF, errNoRequest
	case len(line) == 0 && errors.Is(err, input.ErrLimit):
		l.end, l.err = endIdle, errNoRequest
	case len(line) == 0:
		l.end, l.err = endHangup, errNoRequest
	case errors.Is(err, input.ErrLimit):
		l.cut, l.err = true, fmt.Errorf("no whole request within %s: closing", seconds(l.b.clock.idle))
	default:
		l.err = err
	}
}

// lineClock is standard input with a fresh limit for each request line:
// batch-idle-timeout from when the session starts waiting for the line,
// read under package input (a wait that ppoll(2) ends, not a blocked
// read(2)). It bounds the wait between requests and the time one takes
// to arrive alike: a client dripping a byte at a time cannot hold the
// session open either.
type lineClock struct {
	idle time.Duration
	r    io.Reader
}

// start starts the clock for the next line.
func (c *lineClock) start() {
	c.r = input.NewReader(os.Stdin, input.Limits{Total: c.idle, Start: time.Now()})
}

func (c *lineClock) Read(p []byte) (int, error) { return c.r.Read(p) }
