package request

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// sampleSHA256 is sha256("this is sample text"), the digest X.509 tests send.
var sampleSHA256 = sha256.Sum256([]byte("this is sample text"))

func digestDoc(version, inputType string, digest []byte, output string) string {
	return doc{
		version:  `"` + version + `"`,
		required: required(input(`"`+inputType+`"`, content(digest)), `{"type":"`+output+`"}`),
		optional: `{"request-time":1728913277}`,
	}.String()
}

// TestReadDigest: the X.509 requests Read accepts, and the combinations it
// refuses, each named.
func TestReadDigest(t *testing.T) {
	d := sampleSHA256[:]
	state := sampleState(t, nil)
	tests := []struct {
		name, in   string
		wantFormat string
		wantErr    string
	}{
		{"kmod", digestDoc("1.1.0", InputDigest, d, "signstar-kmod"), "kmod", ""},
		{"authenticode", digestDoc("1.1.0", InputDigest, d, "signstar-authenticode"), "authenticode", ""},
		{"cms", digestDoc("1.1.0", InputDigest, d, "signstar-cms"), "cms", ""},
		{"later minor", digestDoc("1.7.2", InputDigest, d, "signstar-cms"), "cms", ""},
		{"build metadata", digestDoc("1.1.0+x", InputDigest, d, "signstar-cms"), "cms", ""},
		{"pre-release of a later minor", digestDoc("1.2.0-rc.1", InputDigest, d, "signstar-cms"), "cms", ""},

		{"version 1.0.0", digestDoc("1.0.0", InputDigest, d, "signstar-kmod"), "",
			`version: "1.0.0" has no input type "signstar-digest-sha256" (want 1.1.0 or later)`},
		{"pre-release of 1.1.0", digestDoc("1.1.0-rc.1", InputDigest, d, "signstar-kmod"), "", "want 1.1.0 or later"},
		{"version 2", digestDoc("2.0.0", InputDigest, d, "signstar-kmod"), "", `version: "2.0.0" is not supported`},
		{"digest for OpenPGPv4", digestDoc("1.1.0", InputDigest, d, "OpenPGPv4"), "",
			`required.output.type: "OpenPGPv4" signs a hash state (input type "sha2-0.11-SHA512-state"), not a finished digest`},
		{"state for kmod", digestDoc("1.1.0", InputType, state, "signstar-kmod"), "",
			`required.output.type: "signstar-kmod" signs a finished digest (input type "signstar-digest-sha256"), not a hash state`},
		{"unknown X.509 output", digestDoc("1.1.0", InputDigest, d, "signstar-jar"), "",
			`required.output.type: unknown type "signstar-jar" (want one of signstar-kmod, signstar-authenticode, signstar-cms)`},
		{"format name as output", digestDoc("1.1.0", InputDigest, d, "kmod"), "", `unknown type "kmod"`},
		{"unknown digest input", digestDoc("1.1.0", "signstar-digest-sha512", d, "signstar-kmod"), "",
			`required.input.type: unknown type "signstar-digest-sha512" (want "sha2-0.11-SHA512-state" or "signstar-digest-sha256")`},
		{"digest 31 bytes", digestDoc("1.1.0", InputDigest, d[:31], "signstar-kmod"), "",
			"required.input.content: want 32 bytes (a SHA-256 digest), got 31"},
		{"digest 33 bytes", digestDoc("1.1.0", InputDigest, append(bytes.Clone(d), 0), "signstar-kmod"), "", "want 32 bytes (a SHA-256 digest), got 33"},
		{"digest as a state", digestDoc("1.1.0", InputDigest, state, "signstar-kmod"), "", "want 32 bytes (a SHA-256 digest), got 208"},
		{"digest empty", digestDoc("1.1.0", InputDigest, nil, "signstar-kmod"), "", "got 0"},
		{"digest byte 256", strings.Replace(digestDoc("1.1.0", InputDigest, d, "signstar-kmod"), content(d), replaceElem(d, 3, "256"), 1), "",
			`required.input.content[3]: want an integer 0..255, got "256"`},
		{"unknown in output", strings.Replace(digestDoc("1.1.0", InputDigest, d, "signstar-kmod"), `"signstar-kmod"}`, `"signstar-kmod","hash":"sha384"}`, 1), "",
			`required.output: unknown field "hash"`},
		{"unknown in input", strings.Replace(digestDoc("1.1.0", InputDigest, d, "signstar-kmod"), `"content"`, `"append":true,"content"`, 1), "",
			`required.input: unknown field "append"`},
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
			if r.Format() != tt.wantFormat || !bytes.Equal(r.Digest, d) || r.State != nil || r.RequestTime != 1728913277 {
				t.Fatalf("Read = format %q, digest %x, state %x, time %d", r.Format(), r.Digest, r.State, r.RequestTime)
			}
			// A digest is not a state: the OpenPGP server path refuses it.
			if _, err := r.Hash(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "not a hash state") {
				t.Fatalf("Hash of an X.509 request = %v, want a refusal", err)
			}
			if _, err := r.Size(); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Size of an X.509 request = %v, want a refusal", err)
			}
		})
	}
}

// TestOpenPGPFormat: an OpenPGP request has no X.509 format.
func TestOpenPGPFormat(t *testing.T) {
	r, err := Read(bytes.NewReader(readVector(t, "sample-request.json")))
	if err != nil {
		t.Fatal(err)
	}
	if r.Format() != "" || r.Output != OutputType || r.Digest != nil {
		t.Fatalf("sample: format %q, output %q, digest %x", r.Format(), r.Output, r.Digest)
	}
}

// TestMarshalDigest checks the exact bytes of an X.509 request.
func TestMarshalDigest(t *testing.T) {
	d := sampleSHA256[:]
	r := Request{Version: "1.4.0", Digest: d, Output: "signstar-authenticode", RequestTime: 1728913277}
	got, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":"1.1.0","required":{"input":{"type":"signstar-digest-sha256","content":` + content(d) +
		`},"output":{"type":"signstar-authenticode"}},"optional":{"request-time":1728913277}}`
	if string(got) != want {
		t.Fatalf("Marshal =\n%s\nwant\n%s", got, want)
	}
	for _, bad := range []struct {
		name    string
		r       Request
		wantErr string
	}{
		{"no output", Request{Digest: d}, "unknown type"},
		{"OpenPGPv4 output", Request{Digest: d, Output: OutputType}, "signs a hash state"},
		{"short digest", Request{Digest: d[:20], Output: "signstar-cms"}, "want 32 bytes"},
		{"state with X.509 output", Request{State: sampleState(t, nil), Output: "signstar-cms"}, "signs a finished digest"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			_, err := bad.r.Marshal()
			checkInvalid(t, err, bad.wantErr)
		})
	}
	if _, err := (&Request{State: sampleState(t, nil), Digest: d, Output: "signstar-cms"}).Marshal(); err == nil || !strings.HasPrefix(err.Error(), "marshal signing request: BUG") {
		t.Fatalf("Marshal of a state and a digest = %v, want a BUG", err)
	}
}

func TestNewDigestRequest(t *testing.T) {
	for _, format := range []string{"kmod", "authenticode", "cms"} {
		t.Run(format, func(t *testing.T) {
			b, err := NewDigestRequest(format, sampleSHA256[:])
			if err != nil {
				t.Fatal(err)
			}
			r, err := ReadDigest(bytes.NewReader(b), format)
			if err != nil {
				t.Fatalf("ReadDigest(NewDigestRequest()): %v", err)
			}
			if r.Format() != format || r.Version != X509Version || r.RequestTime == 0 || !bytes.Equal(r.Digest, sampleSHA256[:]) {
				t.Fatalf("round trip = %+v", r)
			}
		})
	}
	if _, err := NewDigestRequest("openpgp", sampleSHA256[:]); err == nil {
		t.Fatal("NewDigestRequest took an unknown format")
	}
}

// TestReadDigestFormat: a server asked for one format refuses a request
// for another, and an OpenPGP request.
func TestReadDigestFormat(t *testing.T) {
	kmodReq, err := NewDigestRequest("kmod", sampleSHA256[:])
	if err != nil {
		t.Fatal(err)
	}
	_, err = ReadDigest(bytes.NewReader(kmodReq), "cms")
	checkInvalid(t, err, `required.output.type: "signstar-kmod", want "signstar-cms"`)
	_, err = ReadDigest(bytes.NewReader(readVector(t, "sample-request.json")), "kmod")
	checkInvalid(t, err, `required.output.type: "OpenPGPv4", want "signstar-kmod"`)
	_, err = ReadDigest(strings.NewReader(`{}`), "kmod")
	checkInvalid(t, err, "version: missing")
}

func TestOutputResponse(t *testing.T) {
	out := []byte{0x30, 0x82, 0xff, 0xfe, 0x00, '~'}
	got, err := OutputResponse("kmod", out)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"version":"1.1.0","output":{"type":"signstar-kmod","content":"MIL//gB+"}}`; string(got) != want {
		t.Fatalf("OutputResponse =\n%s\nwant\n%s", got, want)
	}
	back, err := ReadOutput(bytes.NewReader(got), "kmod")
	if err != nil || !bytes.Equal(back, out) {
		t.Fatalf("ReadOutput = %x, %v; want %x", back, err, out)
	}
	if _, err := OutputResponse("cms", nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("OutputResponse of nothing = %v", err)
	}
	if _, err := OutputResponse("cms", make([]byte, MaxSize)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("OutputResponse of %d bytes = %v", MaxSize, err)
	}
}

func TestReadOutput(t *testing.T) {
	resp := func(version, typ, content string) string {
		return fmt.Sprintf(`{"version":%q,"output":{"type":%q,"content":%q}}`, version, typ, content)
	}
	b64 := base64.StdEncoding.EncodeToString([]byte("a module signature block."))
	tests := []struct{ name, in, wantErr string }{
		{"valid", resp("1.1.0", "signstar-kmod", b64), ""},
		{"unknown fields ignored", `{"x":[{}],"version":"1.9.0","output":{"n":1,"content":"` + b64 + `","type":"signstar-kmod"}}`, ""},
		{"other type", resp("1.1.0", "signstar-cms", b64), `output.type: "signstar-cms", want "signstar-kmod"`},
		{"OpenPGP response", `{"version":"1.0.0","signature":"-----BEGIN PGP SIGNATURE-----\n-----END PGP SIGNATURE-----"}`, "output: missing"},
		{"missing version", `{"output":{"type":"signstar-kmod","content":"` + b64 + `"}}`, "version: missing"},
		{"version 2", resp("2.0.0", "signstar-kmod", b64), `version: "2.0.0" is not supported`},
		{"missing type", `{"version":"1.1.0","output":{"content":"` + b64 + `"}}`, "output.type: missing"},
		{"missing content", `{"version":"1.1.0","output":{"type":"signstar-kmod"}}`, "output.content: missing"},
		{"output string", `{"version":"1.1.0","output":"` + b64 + `"}`, "output: want an object, got string"},
		{"content array", `{"version":"1.1.0","output":{"type":"signstar-kmod","content":[1]}}`, "output.content: want a string, got array"},
		{"line break", resp("1.1.0", "signstar-kmod", b64[:8]+"\n"+b64[8:]), "output.content: not padded base64"},
		{"unpadded", resp("1.1.0", "signstar-kmod", strings.TrimRight(b64, "=")), "not padded base64"},
		{"url alphabet", resp("1.1.0", "signstar-kmod", "MIL__gB-"), "not padded base64"},
		{"empty", resp("1.1.0", "signstar-kmod", ""), "output.content: empty"},
		{"duplicate output", `{"version":"1.1.0","output":{},"output":{}}`, `duplicate key "output"`},
		{"duplicate content", `{"version":"1.1.0","output":{"content":"","content":""}}`, `output: duplicate key "content"`},
		{"trailing", resp("1.1.0", "signstar-kmod", b64) + "x", "trailing data"},
		{"large", resp("1.1.0", "signstar-kmod", b64) + strings.Repeat(" ", MaxSize), "response: larger than 65536 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := ReadOutput(strings.NewReader(tt.in), "kmod")
			if tt.wantErr != "" {
				checkInvalid(t, err, tt.wantErr)
				if !strings.HasPrefix(err.Error(), "invalid signing response: ") {
					t.Errorf("response error %q does not say it is the response", err)
				}
				return
			}
			if err != nil || string(out) != "a module signature block." {
				t.Fatalf("ReadOutput = %q, %v", out, err)
			}
		})
	}
}
