package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"

	"signstar/pkg/pgp"
	"signstar/pkg/request"
)

const (
	// stderrMax bounds what is kept of ssh's standard error: enough for
	// the server's one-line refusal and ssh's own messages.
	stderrMax = 4 << 10
	// certMax bounds a certificate: an armored RSA 4096 one is under 3 KiB.
	certMax = 64 << 10
	// waitDelay is how long ssh's output pipes may stay open after ssh has
	// exited: a ControlPersist master forked by the first ssh can inherit
	// them, and must not make every later file wait for it.
	waitDelay = 2 * time.Second
	// exitUnreachable is ssh's own exit status for "could not connect or
	// authenticate" (ssh(1), EXIT STATUS).
	exitUnreachable = 255
)

// request sends one signing request to host and returns the response's
// armored signature, not yet verified.
func (s *signer) request(ctx context.Context, host string, req []byte) ([]byte, error) {
	out, err := s.run(ctx, host, req, request.MaxSize+1, s.words("sign", "--request")...)
	if err != nil {
		return nil, err
	}
	sig, err := request.ReadResponse(bytes.NewReader(out))
	if err != nil {
		return nil, fmt.Errorf("bad response: %v", err)
	}
	return sig, nil
}

// fetchCert runs "cert" on host and reads the certificate it prints.
func (s *signer) fetchCert(ctx context.Context, host string) (*pgp.Certificate, error) {
	out, err := s.run(ctx, host, nil, certMax+1, s.words("cert")...)
	if err != nil {
		return nil, fmt.Errorf("fetch certificate: %v", err)
	}
	if len(out) > certMax {
		return nil, fmt.Errorf("fetch certificate: larger than %d bytes", certMax)
	}
	cert, err := pgp.ReadCertificate(bytes.NewReader(out))
	if err != nil {
		return nil, fmt.Errorf("fetch certificate: %v", err)
	}
	return cert, nil
}

// words is the remote command line: verb, flags, then --key NAME when a
// key was named (the grammar of signstar/pkg/remote).
func (s *signer) words(w ...string) []string {
	if s.key != "" {
		w = append(w, "--key", s.key)
	}
	return w
}

// run runs "ssh -T OPTIONS -- HOST WORDS..." with stdin, keeps at most
// max bytes of its standard output and [stderrMax] of its standard error,
// and gives up after the signer's timeout. -T comes first so a user's
// "RequestTTY yes" cannot put a terminal (and its line discipline) between
// the request and the server; "--" ends ssh's options before HOST.
func (s *signer) run(ctx context.Context, host string, stdin []byte, max int, words ...string) ([]byte, error) {
	sub, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	args := append(append([]string{"-T"}, s.sshOptions...), "--", host)
	cmd := exec.CommandContext(sub, s.ssh, append(args, words...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	stdout, stderr := &capWriter{max: max}, &capWriter{max: stderrMax}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = waitDelay
	err := cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil // ssh exited 0; only a straggler kept its pipes open
	}
	if err != nil {
		return nil, s.runError(ctx, sub, err, stderr.buf.Bytes())
	}
	return stdout.buf.Bytes(), nil
}

// runError says why ssh failed, with what it or the server wrote to stderr.
// ctx is the caller's context, sub the one bounded by the timeout.
func (s *signer) runError(ctx, sub context.Context, err error, stderr []byte) error {
	msg := remoteText(stderr)
	if msg != "" {
		msg = ": " + msg
	}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case sub.Err() != nil:
		return fmt.Errorf("no answer within %v%s", s.timeout, msg)
	case errors.As(err, &exit) && exit.ExitCode() == exitUnreachable:
		return fmt.Errorf("cannot reach host (ssh exit %d)%s", exitUnreachable, msg)
	case errors.As(err, &exit):
		return fmt.Errorf("server failed (exit %d)%s", exit.ExitCode(), msg)
	}
	return fmt.Errorf("run ssh: %v", err)
}

// capWriter keeps the first max bytes written to it and drops the rest,
// never failing: ssh is not to block on a full pipe, and a flood from the
// server costs no memory. One byte past a limit is enough to refuse.
type capWriter struct {
	max int
	buf bytes.Buffer
}

func (w *capWriter) Write(p []byte) (int, error) {
	if room := w.max - w.buf.Len(); room > 0 {
		w.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
