package audit

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
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
	s.(*jsonSink).now = func() time.Time { return now }
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
	fd := s.(*jsonSink).f.Fd()
	flags, err := fdFlags(fd)
	if err != nil {
		t.Skipf("read fdinfo: %v", err)
	}
	want := syscall.O_APPEND | syscall.O_WRONLY | syscall.O_CLOEXEC
	if flags&want != want {
		t.Fatalf("flags %#o, want %#o set", flags, want)
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
	s := &jsonSink{f: w, file: true, now: time.Now}
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
