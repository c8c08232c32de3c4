package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// jsonSink writes one JSON object per line, with the journald entry's
// field names and string values, as `journalctl -o json` prints them, so
// one script reads both. __REALTIME_TIMESTAMP, which journald adds itself,
// is added here: microseconds since the epoch, as a string.
type jsonSink struct {
	f    *os.File
	file bool // a file to fsync and close; false for stderr
	now  func() time.Time
}

// openFile opens the audit file for appending, creating it with mode 0600.
// O_APPEND makes each line's write land at the end even with several
// signstar processes writing at once.
func openFile(path string) (Sink, error) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit sink: %w", err)
	}
	if err := checkFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("open audit sink %s: %w", path, err)
	}
	// The file may be new: make its directory entry durable too, now,
	// since Write can open nothing.
	if err := syncDir(filepath.Dir(path)); err != nil {
		f.Close()
		return nil, fmt.Errorf("open audit sink %s: %w", path, err)
	}
	return &jsonSink{f: f, file: true, now: time.Now}, nil
}

// checkFile refuses what would make the trail worthless: not a regular file
// (/dev/null, a FIFO), or writable by group or others, who could forge lines.
func checkFile(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	switch {
	case !fi.Mode().IsRegular():
		return errors.New("not a regular file")
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("mode %04o: writable by group or others", fi.Mode().Perm())
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// newStderr is the stderr sink, for local development.
func newStderr() Sink { return &jsonSink{f: os.Stderr, now: time.Now} }

// Write appends r as one line with one write(2), then fsync(2)s a file.
func (s *jsonSink) Write(r *Record) error {
	f, err := r.fields()
	if err != nil {
		return err
	}
	line := encodeJSON(f, s.now())
	if _, err := s.f.Write(line); err != nil {
		return fmt.Errorf("write audit entry: %w", err)
	}
	if s.file {
		if err := s.f.Sync(); err != nil {
			return fmt.Errorf("write audit entry: %w", err)
		}
	}
	return nil
}

func (s *jsonSink) Close() error {
	if !s.file {
		return nil
	}
	return s.f.Close()
}

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
