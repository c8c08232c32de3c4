package audit

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// sendTimeout bounds one send: a journald that is alive but stalled (its
// receive queue full) fails the request instead of hanging it.
const sendTimeout = 10 * time.Second

// journald is the journald sink: a datagram socket connected to
// journalSocket. Not safe for concurrent use.
type journald struct{ fd int }

// openJournald creates the socket and connects it to path, so that Write
// needs neither socket(2) nor a path lookup, and a journald that is not
// running fails here, before any work is done.
func openJournald(path string) (Sink, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open audit sink journald: socket: %v", err)
	}
	tv := unix.NsecToTimeval(sendTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("open audit sink journald: set send timeout: %v", err)
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("open audit sink journald: connect %s: %v (is systemd-journald running?)", path, err)
	}
	return &journald{fd: fd}, nil
}

// Write sends r as one datagram with sendmsg(2). Success means the kernel
// queued the whole entry on journald's socket; the native protocol has no
// acknowledgement beyond that. A journald that died or restarted since Open
// fails with ECONNREFUSED.
func (j *journald) Write(r *Record) error {
	f, err := r.fields()
	if err != nil {
		return err
	}
	b := encodeNative(f)
	for {
		n, err := unix.SendmsgN(j.fd, b, nil, nil, 0)
		// With SO_SNDTIMEO set, SA_RESTART does not restart a blocked send
		// (signal(7)), and the Go runtime signals its threads (SIGURG).
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("write audit entry to journald: %w", err)
		}
		if n != len(b) {
			return fmt.Errorf("write audit entry to journald: sent %d of %d bytes", n, len(b))
		}
		return nil
	}
}

// WriteAll sends each of rs as Write does: journald syncs on its own
// schedule, so one by one costs no more.
func (j *journald) WriteAll(rs []*Record) error { return writeEach(j, rs) }

func (j *journald) Close() error {
	if j.fd < 0 {
		return nil
	}
	err := unix.Close(j.fd)
	j.fd = -1
	return err
}
