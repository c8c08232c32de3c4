package request

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestLineReaderBuffered: Buffered says a whole line is read in only when
// the next Next cannot wait for the reader: a batch must never hold a
// signed request back for one that has not arrived.
func TestLineReaderBuffered(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    io.Reader
		want []bool // Buffered after each Next
	}{
		{"all at once", strings.NewReader("a\nb\nc\n"), []bool{true, true, false}},
		{"last line unterminated", strings.NewReader("a\nb"), []bool{false}},
		{"one byte a read", iotest.OneByteReader(strings.NewReader("a\nb\n")), []bool{false, false}},
		{"one line a read", &lineAtATime{lines: []string{"a\n", "b\n"}}, []bool{false, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLineReader(tc.r)
			for i, want := range tc.want {
				if _, err := l.Next(); err != nil {
					t.Fatalf("line %d: %v", i+1, err)
				}
				if got := l.Buffered(); got != want {
					t.Errorf("after line %d: Buffered() = %v, want %v", i+1, got, want)
				}
			}
		})
	}
}

// lineAtATime returns one line a Read, as a client that waits for each
// answer sends them.
type lineAtATime struct{ lines []string }

func (r *lineAtATime) Read(p []byte) (int, error) {
	if len(r.lines) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.lines[0])
	r.lines = r.lines[1:]
	return n, nil
}
