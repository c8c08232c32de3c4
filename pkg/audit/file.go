package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"signstar/internal/filesys"
)

// repairWarning is added to the first record a file sink writes after it
// found the file ending in an unterminated line and terminated it.
const repairWarning = "audit file ended in an unterminated record; terminated it"

// errNotRegular refuses a sink that is not a regular file: /dev/null, a
// FIFO, a socket or a terminal cannot hold a trail, and a FIFO with no
// reader would block open(2) for ever.
var errNotRegular = errors.New("not a regular file")

// fileSink writes one JSON object per line, with the journald entry's field
// names and string values, as `journalctl -o json` prints them, so one
// script reads both. __REALTIME_TIMESTAMP, which journald adds itself, is
// added here: microseconds since the epoch, as a string. Not safe for
// concurrent use; several processes may share the file (see append).
type fileSink struct {
	f   *os.File
	fd  int
	now func() time.Time
	// repaired: Open found the file ending in an unterminated line and
	// terminated it. torn: a write of this sink left part of a record that
	// could not be cut back, so the next record starts with a newline.
	// Either way the next record carries repairWarning.
	repaired, torn bool
}

// openFile opens the audit file for appending, creating it with mode 0600,
// refuses anything but a regular file, and terminates a torn last line.
func openFile(path string) (Sink, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, fmt.Errorf("open audit sink %s: %v", path, err)
	}
	s := &fileSink{f: f, fd: int(f.Fd()), now: time.Now}
	if err := s.repair(path); err != nil {
		f.Close()
		return nil, fmt.Errorf("open audit sink %s: %v", path, err)
	}
	// The file may be new: make its directory entry durable too, now,
	// since Write can open nothing.
	if err := filesys.SyncDir(filepath.Dir(path)); err != nil {
		f.Close()
		return nil, fmt.Errorf("open audit sink %s: %v", path, err)
	}
	return s, nil
}

// openRegular opens path write-only for appending. O_APPEND makes each
// write(2) land whole at the end even with several signstar processes
// writing at once. O_NONBLOCK keeps open(2) from waiting: opening a FIFO
// for writing blocks until a reader comes (fifo(7)), which in the login
// shell means a session hanging before lockdown long after its client left;
// non-blocking, it fails with ENXIO instead, as it does for a UNIX socket
// (open(2)). O_NOCTTY: a terminal named by mistake does not become the
// controlling terminal. Once fstat says it is a regular file, the
// descriptor is made blocking again.
func openRegular(path string) (*os.File, error) {
	const flags = unix.O_WRONLY | unix.O_APPEND | unix.O_CREAT | unix.O_CLOEXEC | unix.O_NONBLOCK | unix.O_NOCTTY
	fd, err := unix.Open(path, flags, 0o600)
	if errors.Is(err, unix.ENXIO) {
		return nil, errNotRegular
	}
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("fstat: %v", err)
	}
	if err := checkFile(&st); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("clear O_NONBLOCK: %v", err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// checkFile refuses what would make the trail worthless: not a regular file,
// or writable by group or others, who could forge lines.
func checkFile(st *unix.Stat_t) error {
	switch perm := st.Mode & 0o777; {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return errNotRegular
	case perm&0o022 != 0:
		return fmt.Errorf("mode %04o: writable by group or others", perm)
	}
	return nil
}

// repair terminates a last line that has no newline, so that the next
// record does not run on from it; the fragment stays, for an auditor to
// see. Under the lock (see append) no signstar is half way through a
// write, so what it finds is really torn.
func (s *fileSink) repair(path string) error {
	unlock, err := lockFile(s.fd)
	if err != nil {
		return err
	}
	defer unlock()
	last, empty, err := lastByte(s.fd, path)
	if err != nil || empty || last == '\n' {
		return err
	}
	if err := writeOnce(s.fd, []byte{'\n'}); err != nil {
		return fmt.Errorf("terminate the unterminated last record: %v", err)
	}
	if err := unix.Fsync(s.fd); err != nil {
		return fmt.Errorf("terminate the unterminated last record: fsync: %v", err)
	}
	s.repaired = true
	return nil
}

// lastByte is the file's last byte, or empty. It reads through a
// second, read-only descriptor, checked to be the same file as fd, so that
// the sink's own descriptor stays write-only through lockdown.
func lastByte(fd int, path string) (last byte, empty bool, err error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, false, fmt.Errorf("fstat: %v", err)
	}
	if st.Size == 0 {
		return 0, true, nil
	}
	r, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return 0, false, fmt.Errorf("reopen to read its end: %v", err)
	}
	defer unix.Close(r)
	var rst unix.Stat_t
	if err := unix.Fstat(r, &rst); err != nil {
		return 0, false, fmt.Errorf("fstat: %v", err)
	}
	if rst.Dev != st.Dev || rst.Ino != st.Ino {
		return 0, false, errors.New("the file was replaced while it was being opened")
	}
	b := make([]byte, 1)
	if _, err := unix.Pread(r, b, st.Size-1); err != nil {
		return 0, false, fmt.Errorf("read its last byte: %v", err)
	}
	return b[0], false, nil
}

// Write appends r as one line with one write(2) and fsync(2)s it, or leaves
// the file as it was and returns an error.
func (s *fileSink) Write(r *Record) error { return s.WriteAll([]*Record{r}) }

// WriteAll appends rs as one line each with one write(2) and one fsync(2),
// or leaves the file as it was and returns an error: none of them is on
// disk, so none of their signatures may leave.
func (s *fileSink) WriteAll(rs []*Record) error {
	var lines []byte
	if s.torn {
		lines = append(lines, '\n')
	}
	for i, r := range rs {
		if i == 0 && (s.repaired || s.torn) {
			rr := *r
			rr.Warning = joinWarnings(r.Warning, repairWarning)
			r = &rr
		}
		f, err := r.fields()
		if err != nil {
			return err
		}
		lines = append(lines, encodeJSON(f, s.now())...)
	}
	if err := s.append(lines); err != nil {
		return fmt.Errorf("write audit entry: %v", err)
	}
	s.repaired, s.torn = false, false
	return nil
}

// append writes line at the end of the file with one write(2) and syncs
// it. If the file system took only part of it (a full disk, a quota), or
// the write or the sync failed, it cuts the file back to its size before,
// so no half record stays for the next one to run on from, and no record
// stays for a signature the caller will now hold back.
//
// Cutting back needs the size before the write, and that nobody appended
// since: O_APPEND alone does not give it, with several signstar processes
// sharing the file. Another's write, waiting on ours, lands right after our
// fragment, and ftruncate to the size fstat saw would cut its record too.
// So every signstar takes an exclusive flock(2) on the file around fstat,
// write, fsync and ftruncate. flock, not fcntl record locks: a POSIX lock
// is the process's and goes when any of its descriptors of the file closes
// (lastByte closes one), a flock belongs to this open file description.
// Writers that do not take the lock (an admin's echo >>) are not covered.
func (s *fileSink) append(line []byte) error {
	unlock, err := lockFile(s.fd)
	if err != nil {
		return err
	}
	defer unlock()
	var st unix.Stat_t
	if err := unix.Fstat(s.fd, &st); err != nil {
		return fmt.Errorf("fstat: %v", err)
	}
	if err := writeOnce(s.fd, line); err != nil {
		return s.cutBack(st.Size, err)
	}
	if err := unix.Fsync(s.fd); err != nil {
		return s.cutBack(st.Size, fmt.Errorf("fsync: %v", err))
	}
	return nil
}

// cutBack truncates the file to size after a failed append, if it grew:
// a write that took nothing needs no ftruncate(2). If cutting fails (an
// append-only inode, chattr +a), the file ends in a fragment: the next
// record starts on a new line and says so.
func (s *fileSink) cutBack(size int64, err error) error {
	var st unix.Stat_t
	if ferr := unix.Fstat(s.fd, &st); ferr == nil && st.Size == size {
		return err
	}
	if terr := unix.Ftruncate(s.fd, size); terr != nil {
		s.torn = true
		return fmt.Errorf("%v; cutting the partial record back failed: ftruncate: %v", err, terr)
	}
	return err
}

// FileFD is the descriptor of s's audit file if s is the file sink. After
// a write the disk did not take whole, Write calls ftruncate(2) on it: a
// lockdown that forbids ftruncate must allow it on this descriptor only,
// or a full disk kills the process instead of failing the request.
func FileFD(s Sink) (int, bool) {
	f, ok := s.(*fileSink)
	if !ok {
		return -1, false
	}
	return f.fd, true
}

func (s *fileSink) Close() error { return s.f.Close() }

// lockFile takes an exclusive flock(2) on fd and returns its release.
func lockFile(fd int) (unlock func(), err error) {
	for {
		err := unix.Flock(fd, unix.LOCK_EX)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("lock audit file: %v", err)
		}
		return func() { unix.Flock(fd, unix.LOCK_UN) }, nil
	}
}

// writeOnce writes b with one write(2). A regular file takes all of it or,
// when the file system or quota is full, a part and then nothing: the part
// is reported as an error, for the caller to cut back.
func writeOnce(fd int, b []byte) error {
	for {
		n, err := unix.Write(fd, b)
		if errors.Is(err, unix.EINTR) {
			continue // nothing was written
		}
		if err != nil {
			return err
		}
		if n != len(b) {
			return fmt.Errorf("wrote %d of %d bytes (file system full?)", n, len(b))
		}
		return nil
	}
}

// joinWarnings joins warnings with "; ", leaving out empty ones.
func joinWarnings(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// stderrSink writes the file sink's lines to stderr, for local development.
type stderrSink struct {
	f   *os.File
	now func() time.Time
}

func newStderr() Sink { return &stderrSink{f: os.Stderr, now: time.Now} }

func (s *stderrSink) Write(r *Record) error {
	f, err := r.fields()
	if err != nil {
		return err
	}
	if _, err := s.f.Write(encodeJSON(f, s.now())); err != nil {
		return fmt.Errorf("write audit entry: %v", err)
	}
	return nil
}

func (s *stderrSink) WriteAll(rs []*Record) error { return writeEach(s, rs) }

func (s *stderrSink) Close() error { return nil }

// encodeJSON is one JSON object and a newline. encoding/json sorts the keys,
// so lines are stable; HTML escaping is off so "<" stays readable.
func encodeJSON(fields []field, now time.Time) []byte {
	m := make(map[string]string, len(fields)+1)
	for _, f := range fields {
		m[f.name] = f.value
	}
	m["__REALTIME_TIMESTAMP"] = strconv.FormatInt(now.UnixMicro(), 10)
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(m); err != nil {
		panic("BUG: encode audit entry: " + err.Error()) // map[string]string always encodes
	}
	return b.Bytes()
}
