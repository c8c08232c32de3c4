package request

// A batch ('sign --batch') carries many requests in one stream and many
// responses back, framed as JSON Lines: one compact JSON text a line, each
// ended by '\n'. A JSON text never needs a raw newline (RFC 8259 section 7:
// control characters in strings are escaped; section 2: whitespace between
// tokens is optional), so compact JSON is one line, and a bad line damages
// only itself: the reader resyncs at the next newline, which a length
// prefix cannot do once a length is wrong. A line is bounded by [MaxSize],
// as a document is; an empty line is a line, and as a request it is
// malformed, not skipped.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

var (
	// ErrLineTooLong: a line of more than [MaxSize] bytes. The reader
	// has skipped it up to and including its newline.
	ErrLineTooLong error = &invalidError{"stream", fmt.Sprintf("line longer than %d bytes", MaxSize)}
	// ErrUnterminated: the stream ended inside a line, which is returned
	// with it; the next read returns io.EOF.
	ErrUnterminated error = &invalidError{"stream", "the last line has no newline"}
)

// LineReader reads a JSON Lines stream one line at a time.
type LineReader struct {
	br  *bufio.Reader
	max int
}

// NewLineReader returns a LineReader of r whose lines are at most
// [MaxSize] bytes, not counting the newline.
func NewLineReader(r io.Reader) *LineReader { return newLineReader(r, MaxSize) }

func newLineReader(r io.Reader, max int) *LineReader {
	return &LineReader{br: bufio.NewReaderSize(r, max+1), max: max}
}

// Next returns the next line without its newline, or io.EOF at the end of
// the stream. A line that is too long is skipped and reported with
// [ErrLineTooLong]; the stream's last line without a newline is returned
// with [ErrUnterminated]. Any other error is r's, returned with what of the
// line was read before it: the caller can tell a stream that stopped
// between lines from one that stopped inside one.
func (l *LineReader) Next() ([]byte, error) {
	line, err := l.br.ReadSlice('\n')
	line, _ = bytes.CutSuffix(line, []byte("\n"))
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return nil, l.skip()
	case err == io.EOF && len(line) == 0:
		return nil, io.EOF
	case (err == nil || err == io.EOF) && len(line) > l.max: // bufio's minimum size is 16
		return nil, ErrLineTooLong
	case err == nil:
		return bytes.Clone(line), nil
	case err == io.EOF:
		return bytes.Clone(line), ErrUnterminated
	}
	return bytes.Clone(line[:min(len(line), l.max)]), err
}

// Buffered reports whether a whole line is already read in, so that Next
// returns it without waiting for r: a batch signs it before it settles
// the requests before it, and never waits for one that is not there.
func (l *LineReader) Buffered() bool {
	b, _ := l.br.Peek(l.br.Buffered()) // no read: only what is there
	return bytes.IndexByte(b, '\n') >= 0
}

// skip reads past the rest of a line that is too long.
func (l *LineReader) skip() error {
	for {
		_, err := l.br.ReadSlice('\n')
		switch {
		case err == nil, err == io.EOF:
			return ErrLineTooLong
		case !errors.Is(err, bufio.ErrBufferFull):
			return err
		}
	}
}

// maxReason bounds the reason in an error response: a refusal is one
// short line.
const maxReason = 1024

// ErrorResponse is the line a batch answers a request with that it did
// not sign: {"version":"1.0.0","error":"reason"}, one compact JSON text
// (no newline), reason cut to 1 KiB.
func ErrorResponse(reason string) []byte {
	if len(reason) > maxReason {
		reason = strings.ToValidUTF8(reason[:maxReason], "") + "..."
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(struct {
		Version string `json:"version"`
		Error   string `json:"error"`
	}{FormatVersion, reason}) // a struct of two strings always encodes
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
