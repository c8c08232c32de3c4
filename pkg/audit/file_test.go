package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// readLines reads a JSON-lines audit file.
func readLines(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []map[string]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]string
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

func TestFileSink(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	s, err := Open("file:"+path, true)
	if err != nil {
		t.Fatal(err)
	}
	now := time.UnixMicro(1767322800123456)
	s.(*fileSink).now = func() time.Time { return now }
	for _, r := range testRecords(testID) {
		if err := s.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o, want 0600", fi.Mode().Perm())
	}
	lines := readLines(t, path)
	want := wantEntries(testID)
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d", len(lines), len(want))
	}
	for i, got := range lines {
		if got["__REALTIME_TIMESTAMP"] != strconv.FormatInt(now.UnixMicro(), 10) {
			t.Errorf("line %d: __REALTIME_TIMESTAMP = %q", i, got["__REALTIME_TIMESTAMP"])
		}
		delete(got, "__REALTIME_TIMESTAMP")
		if d := diffEntry(got, want[i]); d != nil || len(got) != len(want[i]) {
			t.Errorf("line %d: %d fields, want %d:\n%s", i, len(got), len(want[i]), strings.Join(d, "\n"))
		}
	}
}

func TestFileSinkFlags(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	s, err := Open("file:"+path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fd := s.(*fileSink).f.Fd()
	flags, err := fdFlags(fd)
	if err != nil {
		t.Skipf("read fdinfo: %v", err)
	}
	want := syscall.O_APPEND | syscall.O_WRONLY | syscall.O_CLOEXEC
	if flags&want != want {
		t.Fatalf("flags %#o, want %#o set", flags, want)
	}
	// Opened non-blocking, made blocking again once it is known to be a
	// regular file.
	if flags&syscall.O_NONBLOCK != 0 {
		t.Fatalf("flags %#o: O_NONBLOCK still set", flags)
	}
}

// fdFlags reads the open flags of fd from /proc/self/fdinfo (Linux).
func fdFlags(fd uintptr) (int, error) {
	b, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(int(fd)))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 8, 64)
			return int(n), err
		}
	}
	return 0, os.ErrNotExist
}

// TestFileSinkAppends checks O_APPEND: lines written through another
// descriptor, before and between, are kept and not overwritten.
func TestFileSinkAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	if err := os.WriteFile(path, []byte(`{"OLD":"1"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open("file:"+path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	recs := testRecords(testID)
	if err := s.Write(recs[0]); err != nil {
		t.Fatal(err)
	}
	other.WriteString(`{"OTHER":"2"}` + "\n")
	if err := s.Write(recs[1]); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, path)
	if len(lines) != 4 || lines[0]["OLD"] != "1" || lines[1]["SIGNSTAR_RESULT"] != "signed" ||
		lines[2]["OTHER"] != "2" || lines[3]["SIGNSTAR_RESULT"] != "refused" {
		t.Fatalf("lines = %v", lines)
	}
}

// TestFileSinkSyncs checks Write fsyncs and fails with it: fsync on a pipe
// fails (EINVAL), so a sink over a pipe must return an error.
func TestFileSinkSyncs(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	s := &fileSink{f: w, fd: int(w.Fd()), now: time.Now}
	err = s.Write(testRecords(testID)[0])
	if err == nil || !strings.Contains(err.Error(), "sync") {
		t.Fatalf("Write over a pipe = %v, want the fsync error", err)
	}
}

func TestFileSinkRefuses(t *testing.T) {
	dir := t.TempDir()
	groupWritable := filepath.Join(dir, "gw.jsonl")
	if err := os.WriteFile(groupWritable, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(groupWritable, 0o620); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, spec, want string }{
		{"group writable", "file:" + groupWritable, "writable by group or others"},
		{"not a regular file", "file:/dev/null", "not a regular file"},
		{"missing directory", "file:" + filepath.Join(dir, "none", "a.jsonl"), "no such file"},
		{"relative", "file:audit.jsonl", "absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(tt.spec, true)
			if err == nil {
				s.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open(%s) = %v, want %q", tt.spec, err, tt.want)
			}
		})
	}
}

func TestFileSinkBug(t *testing.T) {
	// A bad record writes nothing.
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	s, err := Open("file:"+path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Write(&Record{Mode: SSH, Result: Signed}); err == nil {
		t.Fatal("Write of a bad record succeeded")
	}
	if b, _ := os.ReadFile(path); len(b) != 0 {
		t.Fatalf("file holds %q", b)
	}
}

// TestFileSinkSpecialFiles refuses what is not a regular file, at once: a
// FIFO with no reader used to block open(2) for ever, hanging the login
// shell; with a reader, or a UNIX socket, the trail would go nowhere.
func TestFileSinkSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tests := []struct {
		name   string
		path   string
		reader bool // open the FIFO for reading first
	}{
		{"fifo without reader", fifo, false},
		{"fifo with reader", fifo, true},
		{"unix socket", sock, false},
		{"device", "/dev/null", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.reader {
				r, err := os.OpenFile(tt.path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
			}
			err := openWithin(t, "file:"+tt.path, 5*time.Second)
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Fatalf("Open(%s) = %v, want not a regular file", tt.path, err)
			}
		})
	}
}

// openWithin opens spec and returns its error, failing the test if Open
// has not returned within d. A FIFO's blocked open is released at the end
// by opening it for reading, so no goroutine is left behind.
func openWithin(t *testing.T, spec string, d time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		s, err := Open(spec, true)
		if err == nil {
			s.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		if r, err := os.OpenFile(strings.TrimPrefix(spec, "file:"), os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			defer r.Close()
			<-done
		}
		t.Fatalf("Open(%s) still blocked after %v", spec, d)
		return nil
	}
}

// TestFileSinkRepairs terminates a file's unterminated last line on Open,
// and the next record, and only that one, says so.
func TestFileSinkRepairs(t *testing.T) {
	fragment := `{"MESSAGE":"signed 15 bytes (sha256 `
	whole := `{"OLD":"1"}` + "\n"
	tests := []struct {
		name, before string
		wantRepair   bool
	}{
		{"fragment", whole + fragment, true},
		{"only a fragment", fragment, true},
		{"NUL bytes", whole + "\x00\x00", true},
		{"whole lines", whole, false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			if err := os.WriteFile(path, []byte(tt.before), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open("file:"+path, true)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			wantOpen := tt.before
			if tt.wantRepair {
				wantOpen += "\n"
			}
			if b, _ := os.ReadFile(path); string(b) != wantOpen {
				t.Fatalf("after Open the file holds %q, want %q", b, wantOpen)
			}
			recs := testRecords(testID)
			for _, r := range recs[:2] {
				if err := s.Write(r); err != nil {
					t.Fatal(err)
				}
			}
			lines := jsonTail(t, path, 2)
			want := recs[0].Warning
			if tt.wantRepair {
				want += "; " + repairWarning
			}
			if got := lines[0]["SIGNSTAR_WARNING"]; got != want {
				t.Errorf("first record's SIGNSTAR_WARNING = %q, want %q", got, want)
			}
			if tt.wantRepair && !strings.HasSuffix(lines[0]["MESSAGE"], repairWarning+"]") {
				t.Errorf("first record's MESSAGE = %q, want the repair warning", lines[0]["MESSAGE"])
			}
			if got, ok := lines[1]["SIGNSTAR_WARNING"]; ok {
				t.Errorf("second record's SIGNSTAR_WARNING = %q, want none", got)
			}
		})
	}
}

// jsonTail reads the file's last n lines as JSON objects; the file must
// end in a newline.
func jsonTail(t *testing.T, path string, n int) []map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(b, []byte("\n")) {
		t.Fatalf("file does not end in a newline: %q", b)
	}
	all := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(all) < n {
		t.Fatalf("%d lines, want at least %d", len(all), n)
	}
	var lines []map[string]string
	for _, l := range all[len(all)-n:] {
		var m map[string]string
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

// TestFileSinkLocks checks that Write appends under the file's flock,
// which a cut-back relies on: while another holds it, Write waits.
func TestFileSinkLocks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	s, err := Open("file:"+path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := unix.Flock(int(other.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Write(testRecords(testID)[0]) }()
	select {
	case err := <-done:
		t.Fatalf("Write returned (%v) while another process held the lock", err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := unix.Flock(int(other.Fd()), unix.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Write still blocked after the lock was released")
	}
	if n := len(readLines(t, path)); n != 1 {
		t.Fatalf("%d lines, want 1", n)
	}
}
