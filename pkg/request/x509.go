package request

// X.509 digest-only requests: signstar's minor version 1.1 of the format.
// upstream's request.md lets a minor version add input and output types;
// the types below are prefixed "signstar-" so that they can never collide
// with types upstream adds later. An X.509 signature covers a digest the
// client can finish itself (a module's, an image's or a file's SHA-256),
// so the input is that digest, not a hash state:
//
//	{"version":"1.1.0","required":{
//	  "input":{"type":"signstar-digest-sha256","content":[32 integers 0..255]},
//	  "output":{"type":"signstar-kmod"}},
//	 "optional":{"request-time":1728913277}}
//
// The response keeps the envelope and carries the output, base64 (RFC 4648
// section 4, padded, no line breaks), in an object naming its type:
//
//	{"version":"1.1.0","output":{"type":"signstar-kmod","content":"MIIB..."}}
//
// An older server refuses the request: upstream's serde parser with
// "unknown variant `signstar-digest-sha256`", signstar before 1.1 with
// "required.input.type: unknown type".

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

const (
	// X509Version is the format version of X.509 requests and responses:
	// the first minor version that has [InputDigest].
	X509Version = "1.1.0"
	// InputDigest is the input type of an X.509 request: a finished
	// SHA-256 digest, [DigestSize] bytes.
	InputDigest = "signstar-digest-sha256"
	// DigestSize is the length of an [InputDigest] content.
	DigestSize = sha256.Size
)

// x509Outputs are the X.509 output types by format name (the names of
// signstar's "sign --format"), and what each output is:
//
//	signstar-kmod          a Linux kernel module signature block, to append
//	                       to the unsigned module (the CMS SignedData, struct
//	                       module_signature and "~Module signature appended~\n")
//	signstar-authenticode  a PKCS#7 SignedData holding SpcIndirectDataContent,
//	                       to insert into the PE image as a WIN_CERTIFICATE
//	signstar-cms           a detached CMS SignedData (DER) with signed attributes
var x509Outputs = []struct{ format, output string }{
	{"kmod", "signstar-kmod"},
	{"authenticode", "signstar-authenticode"},
	{"cms", "signstar-cms"},
}

// X509Output returns the output type of an X.509 format ("kmod",
// "authenticode", "cms"), and false for any other name.
func X509Output(format string) (string, bool) {
	for _, o := range x509Outputs {
		if o.format == format {
			return o.output, true
		}
	}
	return "", false
}

// formatOf returns the format name of an X.509 output type.
func formatOf(output string) (string, bool) {
	for _, o := range x509Outputs {
		if o.output == output {
			return o.format, true
		}
	}
	return "", false
}

// Format returns the X.509 format r asks for ("kmod", "authenticode",
// "cms"), or "" for an OpenPGP request.
func (r *Request) Format() string {
	f, _ := formatOf(r.Output)
	return f
}

// NewDigestRequest returns the JSON request for an X.509 signature in
// format over digest (see [Request.Digest]), stamped with the current time.
func NewDigestRequest(format string, digest []byte) ([]byte, error) {
	output, ok := X509Output(format)
	if !ok {
		return nil, fmt.Errorf("make signing request: unknown format %q", format)
	}
	r := Request{Version: X509Version, Digest: digest, Output: output, RequestTime: time.Now().Unix()}
	return r.Marshal()
}

// ReadDigest is [Read] for a server asked for format: it refuses, with
// [ErrInvalid], a request for anything else, OpenPGP requests included.
func ReadDigest(r io.Reader, format string) (*Request, error) {
	want, ok := X509Output(format)
	if !ok {
		return nil, fmt.Errorf("BUG: read signing request for unknown format %q", format)
	}
	req, err := Read(r)
	if err != nil {
		return nil, err
	}
	if req.Output != want {
		return nil, invalidf(docRequest, "required.output.type: %s, want %q", quote(req.Output), want)
	}
	return req, nil
}

// checkDigest checks an X.509 request: a digest for an X.509 output.
func (q *rawRequest) checkDigest() (*Request, error) {
	if err := checkDigestRequest(*q.outputType, q.contentLen); err != nil {
		return nil, err
	}
	if !minorAtLeast1(*q.version) {
		return nil, invalidf(docRequest, "version: %s has no input type %q (want 1.1.0 or later)", quote(*q.version), InputDigest)
	}
	return &Request{Version: *q.version, Digest: q.content, Output: *q.outputType, RequestTime: q.requestTime}, nil
}

// checkDigestRequest refuses an output that does not sign a digest and a
// digest of the wrong length.
func checkDigestRequest(output string, n int) error {
	if _, ok := formatOf(output); !ok {
		if output == OutputType {
			return invalidf(docRequest, "required.output.type: %q signs a hash state (input type %q), not a finished digest", OutputType, InputType)
		}
		return invalidf(docRequest, "required.output.type: unknown type %s (want one of %s)", quote(output), outputList())
	}
	if n != DigestSize {
		return invalidf(docRequest, "%s: want %d bytes (a SHA-256 digest), got %d", stateLoc, DigestSize, n)
	}
	return nil
}

func outputList() string {
	var s []string
	for _, o := range x509Outputs {
		s = append(s, o.output)
	}
	return strings.Join(s, ", ")
}

// minorAtLeast1 reports whether v, a valid 1.x.y version, is 1.1.0 or
// later: 1.1.0-rc.1 is not (semver: a pre-release precedes its release).
func minorAtLeast1(v string) bool {
	core, _, _ := strings.Cut(v, "+")
	core, pre, hasPre := strings.Cut(core, "-")
	nums := strings.Split(core, ".")
	if len(nums) != 3 || nums[1] == "0" {
		return false
	}
	return !(hasPre && nums[1] == "1" && nums[2] == "0" && pre != "")
}

// OutputResponse returns the JSON response carrying out, the X.509
// output of format (see [X509Output]), in version [X509Version].
func OutputResponse(format string, out []byte) ([]byte, error) {
	output, ok := X509Output(format)
	if !ok {
		return nil, fmt.Errorf("BUG: response for unknown format %q", format)
	}
	if len(out) == 0 {
		return nil, invalidf(docResponse, "output.content: empty")
	}
	b, err := json.Marshal(struct {
		Version string     `json:"version"`
		Output  jsonOutput `json:"output"`
	}{X509Version, jsonOutput{output, base64.StdEncoding.EncodeToString(out)}})
	if err != nil {
		return nil, err
	}
	if len(b) > MaxSize {
		return nil, invalidf(docResponse, "response: larger than %d bytes", MaxSize)
	}
	return b, nil
}

type jsonOutput struct {
	Type    string `json:"type"`
	Content string `json:"content"`
}

// ReadOutput parses one X.509 response from r, reading at most
// [MaxSize]+1 bytes, and returns its output, which must be of format's
// type. The output is only checked for shape; verifying it is the
// caller's job. Unknown fields are ignored, as [ReadResponse] ignores them;
// duplicate keys, trailing data, a missing version, and base64 other than
// the one padded spelling without line breaks are refused. A response
// carrying an OpenPGP "signature" instead is refused as missing "output".
func ReadOutput(r io.Reader, format string) ([]byte, error) {
	want, ok := X509Output(format)
	if !ok {
		return nil, fmt.Errorf("read signing response: unknown format %q", format)
	}
	body, err := readBounded(r, docResponse, "response")
	if err != nil {
		return nil, err
	}
	var o rawOutput
	w := newWalker(body, docResponse)
	if err := w.document(o.member); err != nil {
		return nil, err
	}
	if o.version != nil {
		if err := checkVersion(docResponse, *o.version); err != nil {
			return nil, err
		}
	}
	if w.firstErr != nil {
		return nil, w.firstErr
	}
	return o.check(want)
}

// rawOutput collects what the walk of a response finds.
type rawOutput struct {
	version, typ, content *string
	output                bool
}

func (o *rawOutput) member(w *walker, key string) error {
	switch key {
	case "version":
		return w.str("version", &o.version)
	case "output":
		o.output = true
		return w.object("output", func(w *walker, key string) error {
			switch key {
			case "type":
				return w.str("output.type", &o.typ)
			case "content":
				return w.str("output.content", &o.content)
			}
			return w.skip("output", 0)
		})
	}
	return w.skip("", 0)
}

func (o *rawOutput) check(want string) ([]byte, error) {
	switch {
	case o.version == nil:
		return nil, invalidf(docResponse, "version: missing")
	case !o.output:
		return nil, invalidf(docResponse, "output: missing")
	case o.typ == nil:
		return nil, invalidf(docResponse, "output.type: missing")
	case o.content == nil:
		return nil, invalidf(docResponse, "output.content: missing")
	case *o.typ != want:
		return nil, invalidf(docResponse, "output.type: %s, want %q", quote(*o.typ), want)
	}
	out, err := base64.StdEncoding.Strict().DecodeString(*o.content)
	// Go's decoder skips CR and LF; re-encoding refuses them, so one
	// output has one spelling.
	if err != nil || base64.StdEncoding.EncodeToString(out) != *o.content {
		return nil, invalidf(docResponse, "output.content: not padded base64 without line breaks")
	}
	if len(out) == 0 {
		return nil, invalidf(docResponse, "output.content: empty")
	}
	return out, nil
}
