//go:build linux

package input

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// pipe returns both ends of a pipe, closed when the test ends.
func pipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// drip writes one byte every interval, n times, then closes w.
func drip(w *os.File, n int, interval time.Duration) {
	defer w.Close()
	for range n {
		time.Sleep(interval)
		if _, err := w.Write([]byte{'x'}); err != nil {
			return
		}
	}
}

// readAll reads r to its end and says how long that took. It gives up
// after a generous bound, so a reader that ignores its limits fails the
// test instead of hanging it.
func readAll(t *testing.T, r io.Reader) (data []byte, took time.Duration, err error) {
	t.Helper()
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		data, err := io.ReadAll(r)
		done <- result{data, err}
	}()
	select {
	case res := <-done:
		return res.data, time.Since(start), res.err
	case <-time.After(10 * time.Second):
		t.Fatal("read still waiting after 10s")
	}
	return nil, 0, nil
}

// pause writes n bytes one per interval, then holds w open for hold.
func pause(n int, interval, hold time.Duration) func(*os.File) {
	return func(w *os.File) {
		for range n {
			time.Sleep(interval)
			w.Write([]byte{'x'})
		}
		time.Sleep(hold)
		w.Close()
	}
}

func TestReader(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name      string
		limits    Limits
		send      func(w *os.File) // nil: nothing, and w stays open
		wantData  int              // -1: any
		wantErr   string           // "" for a complete read
		wantLimit Limit
		within    [2]time.Duration // how long the read may take
	}{
		{"idle", Limits{Idle: 300 * ms}, nil,
			0, "no input for 300ms: closing", Idle, [2]time.Duration{300 * ms, 2 * time.Second}},
		{"slow but steady", Limits{Idle: 300 * ms}, func(w *os.File) { drip(w, 8, 100*ms) },
			8, "", "", [2]time.Duration{800 * ms, 5 * time.Second}},
		{"steady past max-duration", Limits{Idle: 300 * ms, Total: 500 * ms}, func(w *os.File) { drip(w, 30, 100*ms) },
			-1, "request took longer than 500ms: closing", Total, [2]time.Duration{500 * ms, 2 * time.Second}},
		{"pause after some input", Limits{Idle: 300 * ms}, pause(3, 100*ms, 5*time.Second),
			3, "no input for 300ms: closing", Idle, [2]time.Duration{600 * ms, 2 * time.Second}},
		{"no limits", Limits{}, func(w *os.File) { drip(w, 3, 100*ms) },
			3, "", "", [2]time.Duration{300 * ms, 5 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, w := pipe(t)
			if tt.send != nil {
				go tt.send(w)
			}
			if tt.limits.Total > 0 {
				tt.limits.Start = time.Now()
			}
			data, took, err := readAll(t, NewReader(r, tt.limits))
			if took < tt.within[0] || took > tt.within[1] {
				t.Errorf("read took %v, want %v to %v", took, tt.within[0], tt.within[1])
			}
			if tt.wantData >= 0 && len(data) != tt.wantData {
				t.Errorf("read %d bytes, want %d", len(data), tt.wantData)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				return
			}
			var le *Error
			if !errors.As(err, &le) || !errors.Is(err, ErrLimit) || le.Limit != tt.wantLimit {
				t.Fatalf("read ended with %v, want the %s limit", err, tt.wantLimit)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("error %q, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestReaderStartCounts: time spent before the Reader was made (opening
// the token) counts against the total; a request already past it reads
// nothing, even with input waiting.
func TestReaderStartCounts(t *testing.T) {
	r, w := pipe(t)
	if _, err := w.WriteString("waiting"); err != nil {
		t.Fatal(err)
	}
	l := Limits{Idle: time.Minute, Total: time.Second, Start: time.Now().Add(-2 * time.Second)}
	n, err := NewReader(r, l).Read(make([]byte, 16))
	if n != 0 || !errors.Is(err, ErrLimit) || !strings.HasPrefix(err.Error(), "request took longer than 1s") {
		t.Fatalf("read %d bytes, %v; want nothing and the max-duration error", n, err)
	}
}

// TestReaderFile: a regular file (which epoll refuses) reads to its end.
func TestReaderFile(t *testing.T) {
	path := t.TempDir() + "/in"
	if err := os.WriteFile(path, []byte(strings.Repeat("a", 100000)), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, _, err := readAll(t, NewReader(f, Limits{Idle: time.Second, Total: time.Minute, Start: time.Now()}))
	if err != nil || len(data) != 100000 {
		t.Fatalf("read %d bytes, %v; want 100000", len(data), err)
	}
}
