package client

// Batches: many files through one 'sign --batch' session per worker
// (issue 17). The server reads one upstream v1 signing request per line
// and writes one response per line, in order, as each is signed (JSON
// Lines: a compact JSON text never holds a raw newline, RFC 8259 section
// 7, so a line is a request and a bad one damages only itself). The
// client pipelines: a writer sends requests while a reader takes the
// answers, which keeps both pipes moving (a writer that waited for each
// answer would leave the token idle for a round trip per file; one that
// never read would fill the server's stdout pipe and stall).
//
// Files wait in one queue that every session draws from. A session that
// ends by the server's request limit or idle time (exit 3) leaves its
// unanswered files in the queue for a new session; a server that refuses
// 'sign --batch' before answering anything (an older signstar, upstream
// Signstar, an account with batches off) gets one session per file from
// then on.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"signstar/pkg/pgp"
	"signstar/pkg/request"
)

const (
	// batchWindow bounds the requests one session has sent and not had
	// answered. Each holds its file open (the fstat check needs the
	// descriptor that was hashed), so it bounds descriptors too; 64 answers
	// cover a round trip of tens of milliseconds at a token's rate of
	// about a thousand signatures a second.
	batchWindow = 64
	// writeSlots bounds the signatures being written at once. Each write
	// waits for two fsyncs (the file, then its directory); many at once
	// share the file system's journal commits, where one after the other
	// cost a commit each (ext4 on a virtual disk: 6 ms a file alone, under
	// 1 ms a file 32 at a time).
	writeSlots = 32
	// exitBatchEnd is the status a signstar server exits with when it ends
	// a batch by its request limit or idle time; what it did not answer
	// goes to a new session.
	exitBatchEnd = 3
)

// item is one file on its way through the queue.
type item struct {
	index  int
	file   string
	f      *os.File // open from hashing until the result
	d      digest
	hashed bool
	failed map[string]bool // hosts that failed this file
	errs   []string        // "host: why", for the error if every host fails
}

// queue holds the files no session has taken, and the results.
type queue struct {
	mu      sync.Mutex
	cond    sync.Cond
	pending []*item
	open    int // items without a result
	results []Result
	total   int
	last    time.Time // of the last progress line
	log     *logger
}

func newQueue(files []string, log *logger) *queue {
	q := &queue{results: make([]Result, len(files)), open: len(files), total: len(files), log: log}
	q.cond.L = &q.mu
	for i, f := range files {
		q.pending = append(q.pending, &item{index: i, file: f, failed: make(map[string]bool)})
		q.results[i].File = f
	}
	return q
}

// take removes and returns the first pending item that host has not
// failed, or nil.
func (q *queue) take(host string) *item {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.takeLocked(host)
}

func (q *queue) takeLocked(host string) *item {
	for i, it := range q.pending {
		if !it.failed[host] {
			q.pending = append(q.pending[:i], q.pending[i+1:]...)
			return it
		}
	}
	return nil
}

// requeue puts items back at the front, in their order, for the next
// session.
func (q *queue) requeue(items ...*item) {
	if len(items) == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pending = append(append([]*item(nil), items...), q.pending...)
	q.cond.Broadcast()
}

// finish records it's result and closes its file.
func (q *queue) finish(it *item, r Result) {
	if it.f != nil {
		it.f.Close()
		it.f = nil
	}
	r.File = it.file
	q.mu.Lock()
	defer q.mu.Unlock()
	q.results[it.index] = r
	q.open--
	q.progressLocked()
	q.cond.Broadcast()
}

// progressLocked shows "files done/total" on a terminal, at most every
// progressInterval and once at the end.
func (q *queue) progressLocked() {
	done := q.total - q.open
	if !q.log.tty || (done < q.total && time.Since(q.last) < progressInterval) {
		return
	}
	q.last = time.Now()
	if done == q.total {
		q.log.clear()
		return
	}
	q.log.status(fmt.Sprintf("signing: %d/%d files done", done, q.total))
}

// signBatches signs files through batch sessions, s.jobs at once.
func (s *signer) signBatches(ctx context.Context, files []string) ([]Result, error) {
	q := newQueue(files, s.log)
	s.writing = make(chan struct{}, writeSlots)
	stop := context.AfterFunc(ctx, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		q.cond.Broadcast()
	})
	defer stop()
	var wg sync.WaitGroup
	for range min(s.jobs, len(files)) {
		wg.Go(func() {
			for {
				host, it, ok := s.next(ctx, q)
				if !ok {
					return
				}
				if s.batchless(host) {
					s.signSingle(ctx, q, host, it)
				} else {
					s.runBatch(ctx, q, host, it)
				}
			}
		})
	}
	wg.Wait()
	s.cancelRest(ctx, q)
	return q.results, summary(q.results)
}

// next waits for a pending item and returns it with the host it goes to:
// the first in s.hosts' order it has not failed on. false: every file has
// its result, or ctx is done.
func (s *signer) next(ctx context.Context, q *queue) (string, *item, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		if ctx.Err() != nil || q.open == 0 {
			return "", nil, false
		}
		for _, host := range s.hosts.order() {
			if it := q.takeLocked(host); it != nil {
				return host, it, true
			}
		}
		q.cond.Wait()
	}
}

// cancelRest gives the files left when ctx ended its error, unlogged as
// [signer.signFile] leaves it: the user stopped the run.
func (s *signer) cancelRest(ctx context.Context, q *queue) {
	for _, it := range q.pending {
		err := ctx.Err()
		if err == nil {
			err = errors.New("BUG: file left in the queue")
		}
		q.finish(it, Result{Err: fmt.Errorf("%s: not signed: %w", show(it.file), err)})
	}
	q.pending = nil
}

// fail gives it its final error and logs it.
func (s *signer) fail(q *queue, it *item, err error) {
	err = fmt.Errorf("%s: not signed: %w", show(it.file), err)
	s.log.printf("%v", err)
	q.finish(it, Result{Err: err})
}

// failOn notes that host could not sign it, and sends it to the next host
// it has not failed on, or fails it when there is none.
func (s *signer) failOn(q *queue, it *item, host string, err error) {
	it.failed[host] = true
	it.errs = append(it.errs, fmt.Sprintf("%s: %v", show(host), err))
	for _, h := range s.hosts.list {
		if !it.failed[h] {
			s.log.printf("warning: %s: %s: %v; trying %s", show(it.file), show(host), err, show(h))
			q.requeue(it)
			return
		}
	}
	s.fail(q, it, errors.New(strings.Join(it.errs, "; ")))
}

// prepare opens and hashes it once; a requeued item keeps its hash. false:
// it failed, and has its result.
func (s *signer) prepare(q *queue, it *item) bool {
	if it.hashed {
		return true
	}
	f, err := openRegular(it.file)
	if err == nil {
		it.d, err = s.hashFile(f)
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		s.fail(q, it, err)
		return false
	}
	it.f, it.hashed = f, true
	return true
}

// deliver checks armored, host's answer for it, and writes it as the
// file's signature, or notes why not.
func (s *signer) deliver(ctx context.Context, q *queue, it *item, host string, cert *pgp.Certificate, armored []byte) {
	sig, err := s.check(ctx, host, cert, armored, it.d)
	if err != nil {
		s.failOn(q, it, host, err)
		return
	}
	path, err := s.write(it.f, it.d, sig)
	if err != nil {
		s.fail(q, it, err)
		return
	}
	s.hosts.mark(host, true)
	s.log.printf("signed %s on %s: wrote %s", show(it.file), show(host), show(path))
	q.finish(it, Result{Output: path, Host: host, Fingerprint: cert.Fingerprint()})
}

// signSingle signs it in a session of its own: host takes no batches.
func (s *signer) signSingle(ctx context.Context, q *queue, host string, it *item) {
	if !s.prepare(q, it) {
		return
	}
	cert, err := s.certs.get(ctx, host)
	var armored []byte
	if err == nil {
		armored, err = s.request(ctx, host, it.d.request)
	}
	switch {
	case ctx.Err() != nil:
		q.requeue(it) // cancelRest gives it the context's error
	case err != nil:
		s.hosts.mark(host, false)
		s.failOn(q, it, host, err)
	default:
		s.deliver(ctx, q, it, host, cert, armored)
	}
}

// batchless is the set of hosts found to refuse batches in one run.
type batchless struct {
	mu    sync.Mutex
	hosts map[string]bool
}

// batchless reports whether host was found to refuse batches.
func (s *signer) batchless(host string) bool {
	s.noBatch.mu.Lock()
	defer s.noBatch.mu.Unlock()
	return s.noBatch.hosts[host]
}

// noBatches notes that host refused 'sign --batch' and says so once.
func (s *signer) noBatches(host string, err error) {
	s.noBatch.mu.Lock()
	known := s.noBatch.hosts[host]
	s.noBatch.hosts[host] = true
	s.noBatch.mu.Unlock()
	if !known {
		s.log.printf("%s does not take batches (%v); signing one file per session there", show(host), err)
	}
}

// session is one 'sign --batch' ssh run.
type session struct {
	ctx    context.Context // the session's: cancelled when it ends early
	host   string
	cert   *pgp.Certificate
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *io.PipeReader
	stderr *capWriter
	// sent holds the items written and not yet answered, in order.
	sent     chan *item
	over     chan struct{} // closed when the reader is done
	answered int
	timer    *time.Timer
	timedOut atomic.Bool
	exit     chan error // ssh's exit
}

// runBatch runs one batch session on host, starting with first and then
// taking what the queue has for host, until the queue has nothing more
// for it or the session ends.
func (s *signer) runBatch(ctx context.Context, q *queue, host string, first *item) {
	if !s.prepare(q, first) {
		return
	}
	cert, err := s.certs.get(ctx, host)
	if err != nil {
		s.sessionFailed(ctx, q, host, err, first)
		return
	}
	sub, cancel := context.WithCancel(ctx)
	defer cancel()
	ss, err := s.startBatch(sub, cancel, host, cert)
	if err != nil {
		s.sessionFailed(ctx, q, host, err, first)
		return
	}
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		s.feed(q, ss, first)
	}()
	readErr := s.readAnswers(q, ss)
	close(ss.over)
	if readErr != nil {
		cancel() // a server that breaks the protocol is not heard out
	}
	ss.stdin.Close() // unblocks a writer stuck on a full pipe
	<-wrote
	waitErr := <-ss.exit
	ss.timer.Stop()
	s.endBatch(ctx, q, ss, readErr, waitErr, sub)
}

// startBatch starts "ssh -T OPTIONS -- HOST sign --batch [--key NAME]".
// Its output goes through a pipe that is closed once ssh has exited, so a
// ControlPersist master holding ssh's stdout delays the end by at most
// waitDelay, as in [signer.run].
func (s *signer) startBatch(ctx context.Context, cancel context.CancelFunc, host string, cert *pgp.Certificate) (*session, error) {
	args := append(append([]string{"-T"}, s.sshOptions...), "--", host)
	cmd := exec.CommandContext(ctx, s.ssh, append(args, s.words("sign", "--batch")...)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("run ssh: %v", err)
	}
	pr, pw := io.Pipe()
	ss := &session{
		ctx: ctx, host: host, cert: cert, cmd: cmd, stdin: stdin, stdout: pr,
		stderr: &capWriter{max: stderrMax},
		sent:   make(chan *item, batchWindow),
		over:   make(chan struct{}),
		exit:   make(chan error, 1),
	}
	cmd.Stdout, cmd.Stderr = pw, ss.stderr
	cmd.WaitDelay = waitDelay
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run ssh: %v", err)
	}
	// Armed only once ss.timer is set, which expire re-arms.
	ss.timer = time.AfterFunc(time.Hour, func() { ss.expire(s.timeout, cancel) })
	ss.timer.Reset(s.timeout)
	go func() {
		err := cmd.Wait()
		if errors.Is(err, exec.ErrWaitDelay) {
			err = nil // ssh exited 0; only a straggler kept its pipes open
		}
		pw.Close()
		ss.exit <- err
	}()
	return ss, nil
}

// expire ends a session whose server has not answered within timeout
// while requests were waiting; an idle session is only re-armed.
func (ss *session) expire(timeout time.Duration, cancel context.CancelFunc) {
	if len(ss.sent) == 0 {
		ss.timer.Reset(timeout)
		return
	}
	ss.timedOut.Store(true)
	cancel()
}

// feed writes first, then whatever the queue has for the session's host,
// one request per line, each after its item is in ss.sent; it closes
// stdin when the queue has nothing more, which tells the server to finish.
func (s *signer) feed(q *queue, ss *session, first *item) {
	defer ss.stdin.Close()
	for it := first; it != nil; it = q.take(ss.host) {
		if !s.prepare(q, it) {
			continue
		}
		select {
		case ss.sent <- it:
		case <-ss.over:
			q.requeue(it)
			return
		}
		line := append(bytes.Clone(it.d.request), '\n')
		if _, err := ss.stdin.Write(line); err != nil {
			return // the reader finds it unanswered
		}
		ss.timer.Reset(s.timeout)
	}
}

// readAnswers reads one line per item sent and delivers each, until the
// server closes its output; the error is a break of the protocol, which
// ends the session. Signatures are written while the next answers are
// read, and all of them before it returns.
func (s *signer) readAnswers(q *queue, ss *session) error {
	var writes sync.WaitGroup
	defer writes.Wait()
	defer ss.stdout.CloseWithError(errors.New("session over")) // ssh's output is drained no further
	lr := request.NewLineReader(ss.stdout)
	for {
		line, err := lr.Next()
		bad := err // a line too long, or cut short at the end, is its request's bad answer
		switch {
		case err == io.EOF:
			return nil
		case errors.Is(err, request.ErrLineTooLong), errors.Is(err, request.ErrUnterminated):
		case err != nil:
			return fmt.Errorf("read answers: %v", err)
		}
		var it *item
		select {
		case it = <-ss.sent:
		default:
			return errors.New("bad answer: more answers than requests")
		}
		ss.answered++
		ss.timer.Reset(s.timeout)
		if bad != nil {
			s.failOn(q, it, ss.host, fmt.Errorf("bad response: %v", bad))
			continue
		}
		armored, err := readAnswer(line)
		if err != nil {
			s.failOn(q, it, ss.host, err)
			continue
		}
		s.writing <- struct{}{}
		writes.Go(func() {
			defer func() { <-s.writing }()
			s.deliver(ss.ctx, q, it, ss.host, ss.cert, armored)
		})
	}
}

// readAnswer parses one answer line: a signing response, or an error
// line {"version":"1.0.0","error":"..."} for a request the server
// refused or failed, which the client reports in one printable line.
func readAnswer(line []byte) ([]byte, error) {
	sig, err := request.ReadResponse(bytes.NewReader(line))
	if err == nil {
		return sig, nil
	}
	var refusal struct {
		Error *string `json:"error"`
	}
	if json.Unmarshal(line, &refusal) == nil && refusal.Error != nil {
		return nil, fmt.Errorf("server refused the request: %s", remoteText([]byte(*refusal.Error)))
	}
	return nil, fmt.Errorf("bad response: %v", err)
}

// endBatch decides what becomes of the files a session sent and did not
// get answered, from how the session ended.
func (s *signer) endBatch(ctx context.Context, q *queue, ss *session, readErr, waitErr error, sub context.Context) {
	var unanswered []*item
	for len(ss.sent) > 0 {
		unanswered = append(unanswered, <-ss.sent)
	}
	var exit *exec.ExitError
	code := 0
	if errors.As(waitErr, &exit) {
		code = exit.ExitCode()
	}
	msg := remoteText(ss.stderr.buf.Bytes())
	switch {
	case ctx.Err() != nil:
		q.requeue(unanswered...)
	case ss.timedOut.Load():
		s.sessionFailed(ctx, q, ss.host, fmt.Errorf("no answer within %v%s", s.timeout, colon(msg)), unanswered...)
	case readErr != nil:
		s.sessionFailed(ctx, q, ss.host, readErr, unanswered...)
	case waitErr == nil && len(unanswered) > 0:
		s.sessionFailed(ctx, q, ss.host, errors.New("batch ended without answering every request"), unanswered...)
	case waitErr == nil:
	case code == exitUnreachable:
		s.sessionFailed(ctx, q, ss.host, fmt.Errorf("cannot reach host (ssh exit %d)%s", exitUnreachable, colon(msg)), unanswered...)
	case code == exitBatchEnd && ss.answered > 0:
		q.requeue(unanswered...) // the limit or idle time: the rest go to a new session
	case code != exitBatchEnd && ss.answered == 0:
		s.noBatches(ss.host, fmt.Errorf("server failed (exit %d)%s", code, colon(msg)))
		q.requeue(unanswered...)
	default:
		s.sessionFailed(ctx, q, ss.host, fmt.Errorf("server failed (exit %d)%s", code, colon(msg)), unanswered...)
	}
}

// sessionFailed marks host as failing and sends items on to other hosts.
func (s *signer) sessionFailed(ctx context.Context, q *queue, host string, err error, items ...*item) {
	if ctx.Err() != nil {
		q.requeue(items...)
		return
	}
	s.hosts.mark(host, false)
	for _, it := range items {
		s.failOn(q, it, host, err)
	}
}

// colon is ": msg", or nothing for an empty msg.
func colon(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}
