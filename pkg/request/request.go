// Package request speaks version 1 of Arch Linux Signstar's signing-request
// protocol: a client hashes a file with SHA-512, sends the hasher's
// serialized state as a JSON [Request], and gets back a JSON response
// holding an ASCII-armored OpenPGP signature over that state.
//
// It promises that [Read] accepts only a request a version 1.x server must
// accept: every field it does not know outside "optional" is refused, the
// state is a hasher some honest client could hold, in one of the two layouts
// upstream's clients send under the one input type (208 bytes from current
// clients, 210 from signstar-request-signature 0.1.x), no key appears twice
// and nothing follows the object. Every refusal wraps
// [ErrInvalid] and names the field at fault in one lower-case line. Input is
// never buffered beyond [MaxSize] bytes.
//
// Minor version 1.1 is signstar's extension for X.509 signatures (x509.go):
// the input is a finished SHA-256 digest ([InputDigest]) and the output a
// kernel module signature block, an Authenticode PKCS#7 blob or a detached
// CMS signature, returned base64 in the response's "output" object. [Read]
// refuses the combinations that make no sense: a digest for an OpenPGPv4
// signature (upstream's server finishes the hash itself, over the OpenPGP
// trailer) and a hash state for an X.509 one.
//
// The format is upstream's signstar-request-signature
// resources/docs/request.md and response.md; the state layout is documented
// in testdata/signstar-request-v1/README.md at the top of this repository.
package request

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"
)

const (
	// FormatVersion is the version of the request and response formats this
	// package writes.
	FormatVersion = "1.0.0"
	// InputType is the only input type of format 1.0.0: the state of a
	// RustCrypto sha2 0.11 SHA-512 hasher.
	InputType = "sha2-0.11-SHA512-state"
	// OutputType is the only output type of format 1.0.0: an OpenPGP v4
	// signature.
	OutputType = "OpenPGPv4"
	// MaxSize bounds a request or response document. A real request is
	// under 1 KiB compact and about 2.5 KiB pretty-printed.
	MaxSize = 64 << 10
)

// ErrInvalid marks every refusal of a request or response document: it is
// not one this package may act on.
var ErrInvalid = errors.New("invalid")

// invalidError is a refusal: doc says which document ("signing request" or
// "signing response"), reason which field and why.
type invalidError struct{ doc, reason string }

func (e *invalidError) Error() string { return e.doc + ": " + e.reason }
func (e *invalidError) Unwrap() error { return ErrInvalid }

const (
	docRequest  = "invalid signing request"
	docResponse = "invalid signing response"
)

func invalidf(doc, format string, v ...any) error {
	return &invalidError{doc, fmt.Sprintf(format, v...)}
}

// Request is a parsed signing request.
type Request struct {
	// Version is the client's format version, "1.x.y".
	Version string
	// State is the serialized SHA-512 hasher state as the client sent it:
	// 208 bytes, or 210 in the layout of signstar-request-signature 0.1.x
	// (state.go); nil in an X.509 request.
	State []byte
	// Digest is the finished SHA-256 digest of an X.509 request (input type
	// [InputDigest], [DigestSize] bytes); nil in an OpenPGP request.
	Digest []byte
	// Output is required.output.type: [OutputType] or one of the X.509
	// outputs ([Request.Format] names its format). Marshal takes empty for
	// [OutputType].
	Output string
	// RequestTime is the client's optional request-time in Unix seconds, or
	// 0 when absent or not a non-negative integer.
	RequestTime int64
}

// Read parses one signing request from r, reading at most [MaxSize]+1
// bytes, and refuses (with [ErrInvalid]) anything a 1.x server must not
// act on.
func Read(r io.Reader) (*Request, error) {
	body, err := readBounded(r, docRequest, "request")
	if err != nil {
		return nil, err
	}
	var raw rawRequest
	w := newWalker(body, docRequest)
	if err := w.document(raw.member); err != nil {
		return nil, err
	}
	return raw.check(w.firstErr)
}

// NewRequest returns the JSON request for a SHA-512 state (see [State]),
// stamped with the current time.
func NewRequest(state []byte) ([]byte, error) {
	r := Request{Version: FormatVersion, State: state, RequestTime: time.Now().Unix()}
	return r.Marshal()
}

// Marshal returns r as compact JSON, field for field as upstream's
// serde_json writes it: in format [FormatVersion] for a hash state, in
// [X509Version] for a digest. The optional object holds request-time when it
// is positive. r.Version is not copied: what is written is always a 1.0.0
// or a 1.1.0 document.
func (r *Request) Marshal() ([]byte, error) {
	version, input, content, output, err := r.parts()
	if err != nil {
		return nil, fmt.Errorf("marshal signing request: %w", err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"version":%q,"required":{"input":{"type":%q,"content":[`, version, input)
	for i, c := range content {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(c)))
	}
	fmt.Fprintf(&b, `]},"output":{"type":%q}},"optional":{`, output)
	if r.RequestTime > 0 {
		fmt.Fprintf(&b, `"request-time":%d`, r.RequestTime)
	}
	b.WriteString("}}")
	return b.Bytes(), nil
}

// parts checks r as Read would and returns what Marshal writes.
func (r *Request) parts() (version, input string, content []byte, output string, err error) {
	if r.Digest == nil {
		if r.Output != "" && r.Output != OutputType {
			return "", "", nil, "", stateOutputError(r.Output)
		}
		_, err := parseState(r.State)
		return FormatVersion, InputType, r.State, OutputType, err
	}
	if err := checkDigestRequest(r.Output, len(r.Digest)); err != nil {
		return "", "", nil, "", err
	}
	if r.State != nil {
		return "", "", nil, "", errors.New("BUG: request with both a hash state and a digest")
	}
	return X509Version, InputDigest, r.Digest, r.Output, nil
}

// readBounded reads all of r but never more than MaxSize+1 bytes, into one
// fixed buffer, and refuses a document that is larger or not UTF-8 (RFC 8259
// section 8.1).
func readBounded(r io.Reader, doc, what string) ([]byte, error) {
	buf := make([]byte, MaxSize+1)
	n, err := io.ReadFull(r, buf)
	switch {
	case err == nil:
		return nil, invalidf(doc, "%s: larger than %d bytes", what, MaxSize)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
	default:
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if !utf8.Valid(buf[:n]) {
		return nil, invalidf(doc, "%s: not valid utf-8", what)
	}
	return buf[:n], nil
}

// rawRequest collects what the walk finds, so presence and values are
// checked after the whole document is known to be well-formed.
type rawRequest struct {
	version, inputType, outputType    *string
	required, input, output, optional bool
	content                           []byte
	contentLen                        int
	contentSeen                       bool
	requestTime                       int64
}

func (q *rawRequest) member(w *walker, key string) error {
	switch key {
	case "version":
		return w.str("version", &q.version)
	case "required":
		q.required = true
		return w.object("required", q.requiredMember)
	case "optional":
		q.optional = true
		return w.object("optional", q.optionalMember)
	}
	return w.unknown("", key)
}

func (q *rawRequest) requiredMember(w *walker, key string) error {
	switch key {
	case "input":
		q.input = true
		return w.object("required.input", q.inputMember)
	case "output":
		q.output = true
		return w.object("required.output", q.outputMember)
	}
	return w.unknown("required", key)
}

// inputMember and outputMember refuse unknown keys too: everything under
// "required" is critical by definition (request.md, "Required category").
func (q *rawRequest) inputMember(w *walker, key string) error {
	switch key {
	case "type":
		return w.str("required.input.type", &q.inputType)
	case "content":
		q.contentSeen = true
		return w.bytes(stateLoc, legacyStateSize, &q.content, &q.contentLen)
	}
	return w.unknown("required.input", key)
}

func (q *rawRequest) outputMember(w *walker, key string) error {
	if key == "type" {
		return w.str("required.output.type", &q.outputType)
	}
	return w.unknown("required.output", key)
}

// optionalMember ignores what it does not understand, as request.md
// requires, and keeps request-time only when it is a non-negative integer:
// a client whose request-time we cannot read has sent a field we do not
// understand.
func (q *rawRequest) optionalMember(w *walker, key string) error {
	if key != "request-time" {
		return w.skip("optional", 0)
	}
	t, err := w.next()
	if err != nil {
		return err
	}
	if n, ok := t.(json.Number); ok {
		if v, err := strconv.ParseInt(n.String(), 10, 64); err == nil && v >= 0 {
			q.requestTime = v
		}
	}
	return w.skipRest("optional", t, 0)
}

// check validates in the order that gives the most useful message: an
// unsupported major version first (a 2.x document is a different format),
// then the first structural fault, then missing fields, then values.
func (q *rawRequest) check(structural error) (*Request, error) {
	if q.version != nil {
		if err := checkVersion(docRequest, *q.version); err != nil {
			return nil, err
		}
	}
	if structural != nil {
		return nil, structural
	}
	if err := q.checkPresent(); err != nil {
		return nil, err
	}
	switch *q.inputType {
	case InputType:
		return q.checkState()
	case InputDigest:
		return q.checkDigest()
	}
	return nil, invalidf(docRequest, "required.input.type: unknown type %s (want %q or %q)", quote(*q.inputType), InputType, InputDigest)
}

// checkState checks an OpenPGP request: a hash state for an OpenPGPv4
// signature.
func (q *rawRequest) checkState() (*Request, error) {
	if *q.outputType != OutputType {
		return nil, stateOutputError(*q.outputType)
	}
	if err := checkStateLen(q.contentLen); err != nil {
		return nil, err
	}
	if _, err := parseState(q.content); err != nil {
		return nil, err
	}
	return &Request{Version: *q.version, State: q.content, Output: OutputType, RequestTime: q.requestTime}, nil
}

// stateOutputError refuses an output other than OpenPGPv4 for a hash state.
func stateOutputError(output string) error {
	if _, ok := formatOf(output); ok {
		return invalidf(docRequest, "required.output.type: %s signs a finished digest (input type %q), not a hash state", quote(output), InputDigest)
	}
	return invalidf(docRequest, "required.output.type: unknown type %s (want %q)", quote(output), OutputType)
}

func (q *rawRequest) checkPresent() error {
	for _, f := range []struct {
		ok   bool
		name string
	}{
		{q.version != nil, "version"},
		{q.required, "required"},
		{q.input, "required.input"},
		{q.inputType != nil, "required.input.type"},
		{q.contentSeen, "required.input.content"},
		{q.output, "required.output"},
		{q.outputType != nil, "required.output.type"},
		// upstream's serde struct has no default for it, so its own
		// server refuses a request without "optional" too
		{q.optional, "optional"},
	} {
		if !f.ok {
			return invalidf(docRequest, "%s: missing", f.name)
		}
	}
	return nil
}

// quote echoes client text back in a refusal: short, one line, ASCII.
func quote(s string) string {
	const max = 32
	if len(s) > max {
		return strconv.QuoteToASCII(s[:max]) + "..."
	}
	return strconv.QuoteToASCII(s)
}
