package request

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// LogIndexField is the member signstar adds to a response (OpenPGP, and
// X.509 version 1.1) when its host keeps a transparency log (issue 18):
// the leaf of the signature in that log, a JSON number from 0. It is a
// signstar extension, not part of upstream's response.md; it is safe to
// send to upstream's clients, since response.md allows new fields in a
// minor version and marks none critical, so a reader ignores what it
// does not know (as [ReadResponse] and [ReadOutput] do). An OpenPGP
// signature carries the same index in its log-index@signstar notation.
const LogIndexField = "log-index"

// WithLogIndex returns resp, a response object as [Response] or
// [OutputResponse] writes it, with the log-index member added last:
// {"version":"1.0.0","signature":"...","log-index":41}.
func WithLogIndex(resp []byte, index int64) ([]byte, error) {
	if index < 0 || len(resp) < 2 || resp[0] != '{' || resp[len(resp)-1] != '}' || !json.Valid(resp) {
		return nil, fmt.Errorf("BUG: log index %d for a response that is not one json object", index)
	}
	out := append(bytes.Clone(resp[:len(resp)-1]), `,"`+LogIndexField+`":`...)
	out = append(strconv.AppendInt(out, index, 10), '}')
	if len(out) > MaxSize {
		return nil, invalidf(docResponse, "response: larger than %d bytes", MaxSize)
	}
	return out, nil
}

// ReadLogIndex returns the log-index member of body, a response document
// (read with [ReadResponse] or [ReadOutput] too), and whether it has one.
func ReadLogIndex(body []byte) (int64, bool, error) {
	var num *json.Number
	w := newWalker(body, docResponse)
	err := w.document(func(w *walker, key string) error {
		if key != LogIndexField {
			return w.skip("", 0)
		}
		t, err := w.next()
		if err != nil {
			return err
		}
		n, ok := t.(json.Number)
		if !ok {
			w.fault("%s: want a number, got %s", LogIndexField, kind(t))
			return w.skipRest(LogIndexField, t, 0)
		}
		num = &n
		return nil
	})
	switch {
	case err != nil:
		return 0, false, err
	case w.firstErr != nil:
		return 0, false, w.firstErr
	case num == nil:
		return 0, false, nil
	}
	i, err := strconv.ParseInt(num.String(), 10, 64)
	if err != nil || i < 0 {
		return 0, false, invalidf(docResponse, "%s: %s is not an index", LogIndexField, quote(num.String()))
	}
	return i, true, nil
}
