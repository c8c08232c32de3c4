package request

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// step is one Next: the line and the error it returns.
type step struct {
	line string
	err  error
}

// readAll runs Next until io.EOF or an error that is neither of the
// line errors (at most 1000 times).
func readAll(l *LineReader) []step {
	var got []step
	for range 1000 {
		line, err := l.Next()
		if err == io.EOF {
			return got
		}
		got = append(got, step{string(line), err})
		if err != nil && !errors.Is(err, ErrLineTooLong) && !errors.Is(err, ErrUnterminated) {
			return got
		}
	}
	return got
}

func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", 9)
	tests := []struct {
		name string
		in   string
		want []step
	}{
		{"empty stream", "", nil},
		{"one line", "{}\n", []step{{"{}", nil}}},
		{"two lines", "{\"a\":1}\n{}\n", []step{{`{"a":1}`, nil}, {"{}", nil}}},
		{"empty line is a line", "\n{}\n", []step{{"", nil}, {"{}", nil}}},
		{"carriage return kept", "{}\r\n", []step{{"{}\r", nil}}},
		{"at the bound", "12345678\n", []step{{"12345678", nil}}},
		{"one over", "123456789\n{}\n", []step{{"", ErrLineTooLong}, {"{}", nil}}},
		{"far over, resync", long + long + long + "\n{}\n", []step{{"", ErrLineTooLong}, {"{}", nil}}},
		{"too long at the end", long + long, []step{{"", ErrLineTooLong}}},
		{"too long unterminated, short", long, []step{{"", ErrLineTooLong}}},
		{"unterminated", "{}\n{\"a\"", []step{{"{}", nil}, {`{"a"`, ErrUnterminated}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []io.Reader{strings.NewReader(tt.in), iotest.OneByteReader(strings.NewReader(tt.in))} {
				got := readAll(newLineReader(r, 8))
				if len(got) != len(tt.want) {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
				for i := range got {
					if got[i].line != tt.want[i].line || !errors.Is(got[i].err, tt.want[i].err) || (got[i].err == nil) != (tt.want[i].err == nil) {
						t.Fatalf("line %d: got %q, %v; want %q, %v", i, got[i].line, got[i].err, tt.want[i].line, tt.want[i].err)
					}
				}
			}
		})
	}
}

// TestLineReaderError: a read error inside a line comes with what of the
// line had arrived; between lines, with nothing.
func TestLineReaderError(t *testing.T) {
	boom := errors.New("boom")
	l := newLineReader(io.MultiReader(strings.NewReader("{}\n{\"a"), iotest.ErrReader(boom)), 8)
	if line, err := l.Next(); string(line) != "{}" || err != nil {
		t.Fatalf("Next = %q, %v", line, err)
	}
	if line, err := l.Next(); string(line) != `{"a` || err != boom {
		t.Fatalf("Next = %q, %v; want the partial line and the read error", line, err)
	}
	l = newLineReader(io.MultiReader(strings.NewReader("{}\n"), iotest.ErrReader(boom)), 8)
	l.Next()
	if line, err := l.Next(); len(line) != 0 || err != boom {
		t.Fatalf("Next = %q, %v; want nothing and the read error", line, err)
	}
}

// TestLineReaderMaxSize: a real bound of MaxSize bytes.
func TestLineReaderMaxSize(t *testing.T) {
	at := strings.Repeat("a", MaxSize)
	l := NewLineReader(strings.NewReader(at + "\n" + at + "a\n{}\n"))
	for i, want := range []step{{at, nil}, {"", ErrLineTooLong}, {"{}", nil}} {
		line, err := l.Next()
		if string(line) != want.line || !errors.Is(err, want.err) {
			t.Fatalf("line %d: %d bytes, %v; want %d bytes, %v", i, len(line), err, len(want.line), want.err)
		}
	}
}

func TestErrorResponse(t *testing.T) {
	tests := []struct{ name, reason, want string }{
		{"plain", "refused: no", `{"version":"1.0.0","error":"refused: no"}`},
		{"quotes and html", `key "a" <b> & c`, `{"version":"1.0.0","error":"key \"a\" <b> & c"}`},
		{"newline escaped", "a\nb", `{"version":"1.0.0","error":"a\nb"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(ErrorResponse(tt.reason)); got != tt.want {
				t.Fatalf("ErrorResponse = %s, want %s", got, tt.want)
			}
		})
	}
	got := ErrorResponse(strings.Repeat("é", 2*maxReason))
	var v struct{ Version, Error string }
	if bytes.ContainsAny(got, "\n") || json.Unmarshal(got, &v) != nil || len(v.Error) > maxReason+3 || !strings.HasSuffix(v.Error, "é...") {
		t.Fatalf("long reason: %d bytes, %q...", len(got), got[:40])
	}
}

// FuzzLineReader: whatever the stream, Next returns its newline-separated
// pieces in order, each as it was if it is short enough, as ErrLineTooLong
// if not, the last one without a newline as ErrUnterminated; nothing is
// lost, invented or longer than the bound.
func FuzzLineReader(f *testing.F) {
	for _, s := range []string{"", "\n", "{}\n", "{}", "\n\n\n", "123456789\n{}\n", strings.Repeat("x", 40) + "\nab", "a\r\nb\n"} {
		f.Add([]byte(s), uint8(8))
	}
	f.Fuzz(func(t *testing.T, in []byte, max uint8) {
		pieces := bytes.SplitAfter(in, []byte("\n"))
		if len(pieces[len(pieces)-1]) == 0 {
			pieces = pieces[:len(pieces)-1]
		}
		got := readAll(newLineReader(iotest.HalfReader(bytes.NewReader(in)), int(max)))
		if len(got) != len(pieces) {
			t.Fatalf("%d lines, want %d", len(got), len(pieces))
		}
		for i, p := range pieces {
			line, ended := bytes.CutSuffix(p, []byte("\n"))
			var want error
			switch {
			case len(line) > int(max):
				want = ErrLineTooLong
			case !ended:
				want = ErrUnterminated
			}
			if !errors.Is(got[i].err, want) || (want == nil) != (got[i].err == nil) {
				t.Fatalf("line %d (%q): error %v, want %v", i, line, got[i].err, want)
			}
			if want != ErrLineTooLong && got[i].line != string(line) {
				t.Fatalf("line %d: %q, want %q", i, got[i].line, line)
			}
		}
	})
}
