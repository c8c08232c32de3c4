package request

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// maxDepth bounds nesting inside the fields we skip ("optional", unknown
// fields), so a 64 KiB document of brackets cannot recurse 32768 deep.
const maxDepth = 32

// walker checks a JSON document token by token. encoding/json's Unmarshal
// keeps the last of two equal keys and ignores trailing data; walking the
// tokens refuses both. Syntax errors, duplicate keys, excessive depth and
// trailing data stop the walk at once; a schema fault (unknown field, value
// of the wrong type) is kept in firstErr and the walk goes on, so that an
// unsupported version, wherever it sits, is what gets reported.
type walker struct {
	dec      *json.Decoder
	doc      string
	firstErr error
}

// memberFunc handles the value of one object member; it must consume it.
type memberFunc func(w *walker, key string) error

func newWalker(body []byte, doc string) *walker {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return &walker{dec: dec, doc: doc}
}

// document walks the one top-level object and refuses anything after it.
func (w *walker) document(member memberFunc) error {
	t, err := w.next()
	if err != nil {
		return err
	}
	if t != json.Delim('{') {
		return invalidf(w.doc, "want a json object, got %s", kind(t))
	}
	if err := w.members("", member); err != nil {
		return err
	}
	if _, err := w.dec.Token(); err != io.EOF {
		return invalidf(w.doc, "trailing data after the json object")
	}
	return nil
}

// next returns the next token; any syntax error is a refusal.
func (w *walker) next() (json.Token, error) {
	t, err := w.dec.Token()
	switch {
	case err == nil:
		return t, nil
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return nil, invalidf(w.doc, "not valid json: unexpected end of input")
	}
	return nil, invalidf(w.doc, "not valid json at byte %d: %v", w.dec.InputOffset(), err)
}

// members walks an object whose '{' has been read, refusing a key seen
// twice; loc names the object in messages.
func (w *walker) members(loc string, member memberFunc) error {
	seen := make(map[string]bool)
	for w.dec.More() {
		t, err := w.next()
		if err != nil {
			return err
		}
		key, ok := t.(string)
		if !ok {
			return fmt.Errorf("BUG: json object key is %T", t)
		}
		if seen[key] {
			return invalidf(w.doc, "%sduplicate key %s", prefix(loc), quote(key))
		}
		seen[key] = true
		if err := member(w, key); err != nil {
			return err
		}
	}
	_, err := w.next() // '}' or ']': the decoder checks it matches
	return err
}

// fault records a schema fault, keeping the first.
func (w *walker) fault(format string, v ...any) {
	if w.firstErr == nil {
		w.firstErr = invalidf(w.doc, format, v...)
	}
}

// object walks a value that must be an object.
func (w *walker) object(loc string, member memberFunc) error {
	t, err := w.next()
	if err != nil {
		return err
	}
	if t != json.Delim('{') {
		w.fault("%s: want an object, got %s", loc, kind(t))
		return w.skipRest(loc, t, 0)
	}
	return w.members(loc, member)
}

// str reads a value that must be a string.
func (w *walker) str(loc string, dst **string) error {
	t, err := w.next()
	if err != nil {
		return err
	}
	s, ok := t.(string)
	if !ok {
		w.fault("%s: want a string, got %s", loc, kind(t))
		return w.skipRest(loc, t, 0)
	}
	*dst = &s
	return nil
}

// bytes reads an array of integers 0..255, keeping the first limit of them
// in dst and counting them all in n.
func (w *walker) bytes(loc string, limit int, dst *[]byte, n *int) error {
	t, err := w.next()
	if err != nil {
		return err
	}
	if t != json.Delim('[') {
		w.fault("%s: want an array of integers, got %s", loc, kind(t))
		return w.skipRest(loc, t, 0)
	}
	for w.dec.More() {
		t, err := w.next()
		if err != nil {
			return err
		}
		if c, ok := byteOf(t); !ok {
			if err := w.badByte(loc, t, *n); err != nil {
				return err
			}
		} else if *n < limit {
			*dst = append(*dst, c)
		}
		*n++
	}
	_, err = w.next()
	return err
}

// badByte records that element i, starting with token t, is not an integer
// 0..255, and skips it.
func (w *walker) badByte(loc string, t json.Token, i int) error {
	if n, isNum := t.(json.Number); isNum {
		w.fault("%s[%d]: want an integer 0..255, got %s", loc, i, quote(n.String()))
		return nil
	}
	w.fault("%s[%d]: want an integer 0..255, got %s", loc, i, kind(t))
	return w.skipRest(loc, t, 0)
}

// byteOf accepts only the plain decimal spelling: not 1.0, 1e0 or -0.
func byteOf(t json.Token) (byte, bool) {
	n, ok := t.(json.Number)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(n.String(), 10, 8)
	return byte(v), err == nil
}

// unknown records an unknown field in the object at loc and skips its value.
func (w *walker) unknown(loc, key string) error {
	w.fault("%sunknown field %s", prefix(loc), quote(key))
	return w.skip(loc, 0)
}

// skip consumes one value of any type.
func (w *walker) skip(loc string, depth int) error {
	t, err := w.next()
	if err != nil {
		return err
	}
	return w.skipRest(loc, t, depth)
}

// skipRest consumes the rest of the value that starts with t, still
// refusing duplicate keys inside it.
func (w *walker) skipRest(loc string, t json.Token, depth int) error {
	if t != json.Delim('{') && t != json.Delim('[') {
		return nil
	}
	if depth >= maxDepth {
		return invalidf(w.doc, "%snested deeper than %d levels", prefix(loc), maxDepth)
	}
	if t == json.Delim('{') {
		return w.members(loc, func(w *walker, _ string) error { return w.skip(loc, depth+1) })
	}
	for w.dec.More() {
		if err := w.skip(loc, depth+1); err != nil {
			return err
		}
	}
	_, err := w.next()
	return err
}

// kind names the JSON type a token starts.
func kind(t json.Token) string {
	switch t := t.(type) {
	case json.Delim:
		if t == '{' {
			return "object"
		}
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("BUG: token %T", t)
}

func prefix(loc string) string {
	if loc == "" {
		return ""
	}
	return loc + ": "
}
