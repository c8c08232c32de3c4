package request

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// vectors is upstream's test suite, shared at the top of the repository.
const vectors = "../../testdata/signstar-request-v1"

// sampleDigest is sha512("this is sample text").
const sampleDigest = "14fd4585924c0b04bf0d96c409611523ba5ffe3b943c589b7fcb97d80b10e4497117736ec62a6d5c1721464788db49ee870ddf75d745f3217d6d5f79d52cd4a6"

func readVector(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectors, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSampleRequest(t *testing.T) {
	r, err := Read(bytes.NewReader(readVector(t, "sample-request.json")))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if r.Version != "1.0.0" || r.RequestTime != 1728913277 || len(r.State) != stateSize {
		t.Fatalf("Read = version %q, request-time %d, %d state bytes", r.Version, r.RequestTime, len(r.State))
	}
	d, err := r.FileDigest()
	if err != nil || hex.EncodeToString(d) != sampleDigest {
		t.Fatalf("FileDigest = %x, %v; want %s", d, err, sampleDigest)
	}
	if n, err := r.Size(); n != 19 || err != nil {
		t.Fatalf("Size = %d, %v; want 19", n, err)
	}
	// The hash goes on from where the client stopped.
	h, err := r.Hash()
	if err != nil {
		t.Fatal(err)
	}
	h.Write([]byte(" and more"))
	if got, want := h.Sum(nil), sum512("this is sample text and more"); !bytes.Equal(got, want) {
		t.Fatalf("continued hash = %x, want %x", got, want)
	}
}

// TestBadVectors names what each of upstream's bad requests is refused for.
func TestBadVectors(t *testing.T) {
	want := map[string]string{
		"bad-no-req-input.json":                 "required.input: missing",
		"bad-no-req-output.json":                "required.output: missing",
		"bad-no-required-dict.json":             "version: missing",
		"bad-not-json.json":                     "not valid json: unexpected end of input",
		"bad-req-input-content-wrong-type.json": "required.input.content: want an array of integers, got string",
		"bad-unknown-type.json":                 `required.input.type: unknown type "sha2-0.12-SHA512-state"`,
	}
	files, err := filepath.Glob(filepath.Join(vectors, "bad-*.json"))
	if err != nil || len(files) != len(want) {
		t.Fatalf("found %d bad vectors (%v), want %d", len(files), err, len(want))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(readVector(t, name)))
			checkInvalid(t, err, want[name])
		})
	}
}

func checkInvalid(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		t.Fatal("no expected error")
	}
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %v, want ErrInvalid containing %q", err, want)
	}
	if msg := err.Error(); strings.ContainsAny(msg, "\n\r") || msg != strings.ToLower(msg[:1])+msg[1:] {
		t.Fatalf("error %q is not one lower-case line", msg)
	}
}

// doc builds a request from parts; a part set to omit is left out.
type doc struct {
	version, required, optional, extra string
}

const omit = "\x00omit"

func (d doc) String() string {
	var parts []string
	add := func(k, v string) {
		if v != omit {
			parts = append(parts, fmt.Sprintf("%q:%s", k, v))
		}
	}
	add("version", d.version)
	add("required", d.required)
	add("optional", d.optional)
	s := "{" + strings.Join(parts, ",")
	if d.extra != "" {
		s += "," + d.extra
	}
	return s + "}"
}

// content is the JSON array for state.
func content(state []byte) string {
	b, _ := json.Marshal(bytesAsInts(state))
	return string(b)
}

func bytesAsInts(b []byte) []int {
	out := make([]int, len(b))
	for i, c := range b {
		out[i] = int(c)
	}
	return out
}

func required(input, output string) string {
	return fmt.Sprintf(`{"input":%s,"output":%s}`, input, output)
}

func input(typ, content string) string { return fmt.Sprintf(`{"type":%s,"content":%s}`, typ, content) }

func validDoc(state []byte) doc {
	return doc{
		version:  `"1.0.0"`,
		required: required(input(`"sha2-0.11-SHA512-state"`, content(state)), `{"type":"OpenPGPv4"}`),
		optional: `{"request-time":1728913277}`,
	}
}

// sampleState is the sample's state with its fields changed by edit.
func sampleState(t testing.TB, edit func(s []byte)) []byte {
	t.Helper()
	r, err := Read(bytes.NewReader(readVector(t, "sample-request.json")))
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(r.State)
	}
	return r.State
}

func TestRead(t *testing.T) {
	good := sampleState(t, nil)
	valid := validDoc(good)
	with := func(f func(d *doc)) string {
		d := valid
		f(&d)
		return d.String()
	}
	inp := func(typ, c string) string {
		return required(input(typ, c), `{"type":"OpenPGPv4"}`)
	}
	goodType := `"sha2-0.11-SHA512-state"`
	tests := []struct {
		name     string
		in       string
		wantErr  string
		wantTime int64
	}{
		{"valid", valid.String(), "", 1728913277},
		{"whitespace around", " \n\t" + valid.String() + "\r\n ", "", 1728913277},
		{"no request-time", with(func(d *doc) { d.optional = `{}` }), "", 0},
		{"request-time string ignored", with(func(d *doc) { d.optional = `{"request-time":"now"}` }), "", 0},
		{"request-time negative ignored", with(func(d *doc) { d.optional = `{"request-time":-5}` }), "", 0},
		{"request-time float ignored", with(func(d *doc) { d.optional = `{"request-time":1.5}` }), "", 0},
		{"unknown optional ignored", with(func(d *doc) {
			d.optional = `{"XHy1dHj":"https://x","file-name":null,"n":{"a":[1,{"b":true}]}}`
		}), "", 0},
		{"version 1.2.3", with(func(d *doc) { d.version = `"1.2.3"` }), "", 1728913277},
		{"version pre-release", with(func(d *doc) { d.version = `"1.0.0-rc.1+build.5"` }), "", 1728913277},

		// top level
		{"not an object", `[1,2]`, "want a json object, got array", 0},
		{"empty", ``, "unexpected end of input", 0},
		{"null", `null`, "want a json object, got null", 0},
		{"unknown top-level", with(func(d *doc) { d.extra = `"signature":"x"` }), `unknown field "signature"`, 0},
		{"duplicate top-level", with(func(d *doc) { d.extra = `"version":"1.0.0"` }), `duplicate key "version"`, 0},
		{"trailing object", valid.String() + `{}`, "trailing data after the json object", 0},
		{"trailing garbage", valid.String() + `x`, "trailing data after the json object", 0},
		{"trailing comma", valid.String() + `,`, "trailing data after the json object", 0},
		{"missing required", with(func(d *doc) { d.required = omit }), "required: missing", 0},
		{"missing optional", with(func(d *doc) { d.optional = omit }), "optional: missing", 0},
		{"optional array", with(func(d *doc) { d.optional = `[]` }), "optional: want an object, got array", 0},
		{"optional null", with(func(d *doc) { d.optional = `null` }), "optional: want an object, got null", 0},
		{"duplicate in optional", with(func(d *doc) { d.optional = `{"a":1,"a":2}` }), `optional: duplicate key "a"`, 0},
		{"duplicate deep in optional", with(func(d *doc) { d.optional = `{"a":[{"b":1,"b":1}]}` }), `optional: duplicate key "b"`, 0},
		{"optional too deep", with(func(d *doc) { d.optional = `{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}` }),
			"optional: nested deeper than 32 levels", 0},
		{"syntax error", `{"version" "1.0.0"}`, "not valid json at byte", 0},
		{"single quotes", `{'version':'1.0.0'}`, "not valid json at byte", 0},

		// version
		{"missing version", with(func(d *doc) { d.version = omit }), "version: missing", 0},
		{"version 2", with(func(d *doc) { d.version = `"2.0.0"` }), `version: "2.0.0" is not supported (want 1.x.y)`, 0},
		{"version 0", with(func(d *doc) { d.version = `"0.9.0"` }), "is not supported", 0},
		{"version 2 beats unknown field", with(func(d *doc) { d.version = `"2.0.0"`; d.extra = `"new":1` }), "is not supported", 0},
		{"version short", with(func(d *doc) { d.version = `"1.0"` }), `version: "1.0" is not a semantic version`, 0},
		{"version v-prefix", with(func(d *doc) { d.version = `"v1.0.0"` }), "is not a semantic version", 0},
		{"version leading zero", with(func(d *doc) { d.version = `"1.01.0"` }), "is not a semantic version", 0},
		{"version empty pre-release", with(func(d *doc) { d.version = `"1.0.0-"` }), "is not a semantic version", 0},
		{"version pre-release leading zero", with(func(d *doc) { d.version = `"1.0.0-01"` }), "is not a semantic version", 0},
		{"version number", with(func(d *doc) { d.version = `1` }), "version: want a string, got number", 0},
		{"version null", with(func(d *doc) { d.version = `null` }), "version: want a string, got null", 0},

		// required
		{"required array", with(func(d *doc) { d.required = `[]` }), "required: want an object, got array", 0},
		{"unknown in required", with(func(d *doc) {
			d.required = `{"input":` + input(goodType, content(good)) + `,"output":{"type":"OpenPGPv4"},"hash":"x"}`
		}), `required: unknown field "hash"`, 0},
		{"duplicate in required", with(func(d *doc) {
			d.required = `{"input":` + input(goodType, content(good)) + `,"output":{"type":"OpenPGPv4"},"output":{"type":"OpenPGPv4"}}`
		}), `required: duplicate key "output"`, 0},
		{"unknown in input", with(func(d *doc) {
			d.required = required(`{"type":`+goodType+`,"content":`+content(good)+`,"encoding":"x"}`, `{"type":"OpenPGPv4"}`)
		}), `required.input: unknown field "encoding"`, 0},
		{"unknown in output", with(func(d *doc) {
			d.required = required(input(goodType, content(good)), `{"type":"OpenPGPv4","armor":false}`)
		}), `required.output: unknown field "armor"`, 0},
		{"missing input type", with(func(d *doc) { d.required = required(`{"content":`+content(good)+`}`, `{"type":"OpenPGPv4"}`) }),
			"required.input.type: missing", 0},
		{"missing content", with(func(d *doc) { d.required = required(`{"type":`+goodType+`}`, `{"type":"OpenPGPv4"}`) }),
			"required.input.content: missing", 0},
		{"missing output type", with(func(d *doc) { d.required = required(input(goodType, content(good)), `{}`) }),
			"required.output.type: missing", 0},
		{"unknown input type", with(func(d *doc) { d.required = inp(`"sha2-0.11-SHA256-state"`, content(good)) }),
			`required.input.type: unknown type "sha2-0.11-SHA256-state"`, 0},
		{"input type case", with(func(d *doc) { d.required = inp(`"SHA2-0.11-SHA512-STATE"`, content(good)) }),
			"required.input.type: unknown type", 0},
		{"input type number", with(func(d *doc) { d.required = inp(`5`, content(good)) }),
			"required.input.type: want a string, got number", 0},
		{"unknown output type", with(func(d *doc) {
			d.required = required(input(goodType, content(good)), `{"type":"OpenPGPv6"}`)
		}), `required.output.type: unknown type "OpenPGPv6"`, 0},
		{"long type echoed short", with(func(d *doc) { d.required = inp(`"`+strings.Repeat("a", 100)+`\n"`, content(good)) }),
			`unknown type "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"...`, 0},

		// content
		{"content string", with(func(d *doc) { d.required = inp(goodType, `"CMm88w=="`) }),
			"required.input.content: want an array of integers, got string", 0},
		{"content object", with(func(d *doc) { d.required = inp(goodType, `{"0":8}`) }),
			"required.input.content: want an array of integers, got object", 0},
		{"content null", with(func(d *doc) { d.required = inp(goodType, `null`) }),
			"required.input.content: want an array of integers, got null", 0},
		{"content short", with(func(d *doc) { d.required = inp(goodType, `[1,2,3]`) }),
			"required.input.content: want 208 or 210 bytes, got 3", 0},
		{"content empty", with(func(d *doc) { d.required = inp(goodType, `[]`) }),
			"required.input.content: want 208 or 210 bytes, got 0", 0},
		{"content 209", with(func(d *doc) { d.required = inp(goodType, content(append(bytes.Clone(good), 0))) }),
			"required.input.content: want 208 or 210 bytes, got 209", 0},
		{"content 211", with(func(d *doc) { d.required = inp(goodType, content(append(bytes.Clone(good), 0, 0, 0))) }),
			"required.input.content: want 208 or 210 bytes, got 211", 0},
		{"content 208 padded to 210", with(func(d *doc) { d.required = inp(goodType, content(append(bytes.Clone(good), 0, 0))) }),
			"required.input.content: output size (byte 80 of a 210-byte state) is 19, want 64", 0},
		{"content 256", with(func(d *doc) { d.required = inp(goodType, replaceElem(good, 5, "256")) }),
			`required.input.content[5]: want an integer 0..255, got "256"`, 0},
		{"content negative", with(func(d *doc) { d.required = inp(goodType, replaceElem(good, 0, "-1")) }),
			`required.input.content[0]: want an integer 0..255, got "-1"`, 0},
		{"content float", with(func(d *doc) { d.required = inp(goodType, replaceElem(good, 7, "8.0")) }),
			`required.input.content[7]: want an integer 0..255, got "8.0"`, 0},
		{"content exponent", with(func(d *doc) { d.required = inp(goodType, replaceElem(good, 7, "8e0")) }),
			`required.input.content[7]: want an integer 0..255, got "8e0"`, 0},
		{"content string element", with(func(d *doc) { d.required = inp(goodType, replaceElem(good, 9, `"9"`)) }),
			"required.input.content[9]: want an integer 0..255, got string", 0},
		{"content nested array", with(func(d *doc) { d.required = inp(goodType, replaceElem(good, 9, `[9]`)) }),
			"required.input.content[9]: want an integer 0..255, got array", 0},
		{"content bool", with(func(d *doc) { d.required = inp(goodType, replaceElem(good, 9, `true`)) }),
			"required.input.content[9]: want an integer 0..255, got boolean", 0},

		// state semantics
		{"pending 128", with(func(d *doc) { d.required = inp(goodType, content(sampleState(t, func(s []byte) { s[80] = 128 }))) }),
			"required.input.content: pending count (byte 80) is 128, over 127", 0},
		{"pending 255", with(func(d *doc) { d.required = inp(goodType, content(sampleState(t, func(s []byte) { s[80] = 255 }))) }),
			"pending count (byte 80) is 255", 0},
		{"non-zero past pending", with(func(d *doc) {
			d.required = inp(goodType, content(sampleState(t, func(s []byte) { s[81+19] = 1 })))
		}), "required.input.content: byte 100 is past the 19 pending bytes but not zero", 0},
		{"non-zero last byte", with(func(d *doc) {
			d.required = inp(goodType, content(sampleState(t, func(s []byte) { s[207] = 0xff })))
		}), "byte 207 is past the 19 pending bytes", 0},
		{"block count high word", with(func(d *doc) {
			d.required = inp(goodType, content(sampleState(t, func(s []byte) { s[72] = 1 })))
		}), "required.input.content: block count over 2^57", 0},
		{"block count 2^57", with(func(d *doc) {
			d.required = inp(goodType, content(sampleState(t, func(s []byte) { s[71] = 2 })))
		}), "block count over 2^57", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Read(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if r != nil {
					t.Errorf("Read returned a request with an error")
				}
				checkInvalid(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if r.RequestTime != tt.wantTime || !bytes.Equal(r.State, good) {
				t.Fatalf("Read = request-time %d, state %x; want %d, %x", r.RequestTime, r.State, tt.wantTime, good)
			}
		})
	}
}

// replaceElem is state's content array with element i spelled as v.
func replaceElem(state []byte, i int, v string) string {
	elems := make([]string, len(state))
	for j, c := range state {
		elems[j] = fmt.Sprint(c)
	}
	elems[i] = v
	return "[" + strings.Join(elems, ",") + "]"
}

func TestReadInvalidUTF8(t *testing.T) {
	d := validDoc(sampleState(t, nil))
	d.optional = "{\"x\":\"\xff\"}"
	_, err := Read(strings.NewReader(d.String()))
	checkInvalid(t, err, "request: not valid utf-8")
}

// countingReader yields endless spaces and counts what was read.
type countingReader struct{ n int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	c.n += int64(len(p))
	return len(p), nil
}

func TestReadBounded(t *testing.T) {
	// A request padded with whitespace to exactly MaxSize is accepted.
	valid := validDoc(sampleState(t, nil)).String()
	padded := valid + strings.Repeat(" ", MaxSize-len(valid))
	if _, err := Read(strings.NewReader(padded)); err != nil {
		t.Fatalf("Read of a %d-byte request: %v", len(padded), err)
	}
	_, err := Read(strings.NewReader(padded + " "))
	checkInvalid(t, err, "request: larger than 65536 bytes")

	// An endless stream is read only to MaxSize+1 bytes.
	var c countingReader
	_, err = Read(io.LimitReader(&c, 1<<30))
	checkInvalid(t, err, "larger than 65536 bytes")
	if c.n > MaxSize+1 {
		t.Fatalf("read %d bytes of an endless stream, want at most %d", c.n, MaxSize+1)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestReadError(t *testing.T) {
	_, err := Read(failingReader{})
	if err == nil || errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "read request: connection reset") {
		t.Fatalf("Read error = %v, want a read error that is not ErrInvalid", err)
	}
}

// TestMarshal checks the exact bytes: upstream's serde_json compact form.
func TestMarshal(t *testing.T) {
	state := sampleState(t, nil)
	r := Request{Version: "1.4.0", State: state, RequestTime: 1728913277}
	got, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":"1.0.0","required":{"input":{"type":"sha2-0.11-SHA512-state","content":` +
		replaceElem(state, 0, "8") + `},"output":{"type":"OpenPGPv4"}},"optional":{"request-time":1728913277}}`
	if string(got) != want {
		t.Fatalf("Marshal =\n%s\nwant\n%s", got, want)
	}
	// Same document as upstream's sample, up to whitespace and its grease.
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(readVector(t, "sample-request.json"), &b); err != nil {
		t.Fatal(err)
	}
	delete(b.(map[string]any)["optional"].(map[string]any), "XHy1dHj")
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("Marshal differs from the sample:\n%v\n%v", a, b)
	}

	r.RequestTime = 0
	if got, _ := r.Marshal(); !strings.HasSuffix(string(got), `"optional":{}}`) {
		t.Fatalf("Marshal without request-time = %s", got)
	}
	r.State = state[:10]
	if _, err := r.Marshal(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Marshal of a 10-byte state: %v, want ErrInvalid", err)
	}
}

func TestNewRequest(t *testing.T) {
	state := sampleState(t, nil)
	b, err := NewRequest(state)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Read(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("Read(NewRequest()): %v", err)
	}
	if !bytes.Equal(r.State, state) || r.RequestTime == 0 || r.Version != FormatVersion {
		t.Fatalf("round trip = %+v", r)
	}
}
