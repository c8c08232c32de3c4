package request

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// addVectors seeds f with upstream's vectors (the 210-byte legacy sample
// among them) and a compact sample.
func addVectors(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(vectors, "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no vectors: %v", err)
	}
	for _, file := range files {
		f.Add(readVector(f, filepath.Base(file)))
	}
	r, err := Read(bytes.NewReader(readVector(f, "sample-request.json")))
	if err != nil {
		f.Fatal(err)
	}
	compact, err := r.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(compact)
	for _, format := range []string{"kmod", "authenticode", "cms"} {
		b, err := NewDigestRequest(format, sampleSHA256[:])
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(digestDoc("1.0.0", InputDigest, sampleSHA256[:], "signstar-kmod")))
	f.Add([]byte(digestDoc("1.1.0", InputDigest, sampleSHA256[:], OutputType)))
}

// checkRefusal: every refusal is ErrInvalid, one short line.
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("refusal is not ErrInvalid: %v", err)
	}
	if msg := err.Error(); len(msg) > 200 || strings.ContainsAny(msg, "\r\n") {
		t.Fatalf("refusal is not one short line: %q", msg)
	}
}

// FuzzRead: an accepted request is valid JSON and survives Marshal and Read
// unchanged. An OpenPGP one has a state whose arithmetic holds (blocks*128
// + pending = Size) and whose hash serializes back to it (in the 208-byte
// layout); an X.509 one has a 32-byte digest, a known format and a version
// of 1.1 or later, and no state.
func FuzzRead(f *testing.F) {
	addVectors(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := Read(bytes.NewReader(in))
		if err != nil {
			if r != nil {
				t.Fatal("Read returned a request with an error")
			}
			checkRefusal(t, err)
			return
		}
		if len(in) > MaxSize || !json.Valid(in) {
			t.Fatalf("accepted %d bytes that encoding/json calls invalid", len(in))
		}
		out, err := r.Marshal()
		if err != nil {
			t.Fatalf("Marshal of an accepted request: %v", err)
		}
		again, err := Read(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("Read(Marshal()): %v", err)
		}
		if !bytes.Equal(again.State, r.State) || !bytes.Equal(again.Digest, r.Digest) ||
			again.Output != r.Output || again.RequestTime != r.RequestTime {
			t.Fatalf("round trip changed the request: %+v -> %+v", r, again)
		}
		if r.Digest != nil {
			checkDigestRequestShape(t, r)
			return
		}
		checkArithmetic(t, r)
		h, err := r.Hash()
		if err != nil {
			t.Fatalf("Hash of an accepted request: %v", err)
		}
		if s, err := State(h); err != nil || !bytes.Equal(s, asCurrent(r.State)) {
			t.Fatalf("State(Hash()) = %x, %v; want %x", s, err, asCurrent(r.State))
		}
		if d, err := r.FileDigest(); err != nil || !bytes.Equal(d, h.Sum(nil)) {
			t.Fatalf("FileDigest = %x, %v; want %x", d, err, h.Sum(nil))
		}
	})
}

// checkDigestRequestShape: an accepted X.509 request.
func checkDigestRequestShape(t *testing.T, r *Request) {
	t.Helper()
	if len(r.Digest) != 32 || r.State != nil || r.Format() == "" || r.Output == OutputType {
		t.Fatalf("accepted an X.509 request of %d digest bytes, %d state bytes, output %q", len(r.Digest), len(r.State), r.Output)
	}
	if strings.HasPrefix(r.Version, "1.0.") {
		t.Fatalf("accepted an X.509 request in version %q", r.Version)
	}
	if _, err := r.Hash(); err == nil {
		t.Fatal("Hash of an X.509 request succeeded")
	}
}

// checkArithmetic recomputes the byte count from the raw layout: the
// pending count is byte 80 of a 208-byte state, byte 81 of a 210-byte one,
// whose byte 80 is 64.
func checkArithmetic(t *testing.T, r *Request) {
	t.Helper()
	s, pend := r.State, 80
	if len(s) == 210 {
		pend = 81
		if s[80] != 64 {
			t.Fatalf("accepted a 210-byte state with output size %d: %x", s[80], s)
		}
	}
	if (len(s) != 208 && len(s) != 210) || s[pend] > 127 || binary.LittleEndian.Uint64(s[72:]) != 0 {
		t.Fatalf("accepted a state outside the layout: %x", s)
	}
	blocks, pending := binary.LittleEndian.Uint64(s[64:]), uint64(s[pend])
	if blocks > (1<<64-1-pending)/128 {
		t.Fatalf("accepted %d blocks + %d bytes, over 2^64-1", blocks, pending)
	}
	if n, err := r.Size(); err != nil || n != blocks*128+pending {
		t.Fatalf("Size = %d, %v; want %d*128+%d", n, err, blocks, pending)
	}
	if strings.Trim(string(s[uint64(pend)+1+pending:]), "\x00") != "" {
		t.Fatalf("accepted non-zero bytes past pending: %x", s[pend+1:])
	}
}

// FuzzState: any state Hash accepts serializes back unchanged, a 210-byte
// one in the 208-byte layout.
func FuzzState(f *testing.F) {
	f.Add(sampleState(f, nil))
	f.Add(make([]byte, stateSize))
	legacy, err := Read(bytes.NewReader(readVector(f, "sample-request-legacy-210.json")))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(legacy.State)
	f.Add(asLegacy(make([]byte, stateSize)))
	f.Fuzz(func(t *testing.T, s []byte) {
		r := &Request{State: s}
		h, err := r.Hash()
		if err != nil {
			checkRefusal(t, err)
			return
		}
		checkArithmetic(t, r)
		if back, err := State(h); err != nil || !bytes.Equal(back, asCurrent(s)) {
			t.Fatalf("State(Hash()) = %x, %v; want %x", back, err, asCurrent(s))
		}
	})
}

// FuzzReadResponse: an accepted response is valid JSON with armor-shaped
// text, and Response of that text reads back the same.
func FuzzReadResponse(f *testing.F) {
	resp, err := Response([]byte(upstreamSig))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(resp)
	f.Add([]byte(`{"signature":"-----BEGIN PGP SIGNATURE-----\n-----END PGP SIGNATURE-----","version":"1.2.0","x":[{}]}`))
	f.Add([]byte(`{"version":"2.0.0","signature":""}`))
	f.Add(readVector(f, "sample-request.json"))
	out, err := OutputResponse("kmod", []byte("block"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(out)
	f.Fuzz(func(t *testing.T, in []byte) {
		sig, err := ReadResponse(bytes.NewReader(in))
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if len(in) > MaxSize || !json.Valid(in) {
			t.Fatalf("accepted %d bytes that encoding/json calls invalid", len(in))
		}
		if err := checkArmor(string(sig)); err != nil {
			t.Fatalf("accepted signature that is not armor-shaped: %v", err)
		}
		out, err := Response(sig)
		if err != nil {
			// A signature near MaxSize may not fit once escaped.
			if errors.Is(err, ErrInvalid) && strings.Contains(err.Error(), "larger than") {
				return
			}
			t.Fatalf("Response of an accepted signature: %v", err)
		}
		again, err := ReadResponse(bytes.NewReader(out))
		if err != nil || !bytes.Equal(again, sig) {
			t.Fatalf("ReadResponse(Response()) = %q, %v; want %q", again, err, sig)
		}
	})
}

// FuzzReadOutput: an accepted X.509 response is valid JSON with a
// non-empty output of the asked type, and OutputResponse of that output
// reads back the same.
func FuzzReadOutput(f *testing.F) {
	for _, format := range []string{"kmod", "authenticode", "cms"} {
		out, err := OutputResponse(format, []byte("\x30\x82 a signature "+format))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(out)
	}
	f.Add([]byte(`{"version":"1.1.0","output":{"type":"signstar-kmod","content":"MIL//gB+","x":{}},"y":[1]}`))
	f.Add([]byte(`{"version":"1.1.0","output":{"type":"signstar-kmod","content":"MIL/\n/gB+"}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := ReadOutput(bytes.NewReader(in), "kmod")
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if len(in) > MaxSize || !json.Valid(in) || len(out) == 0 {
			t.Fatalf("accepted %d bytes (valid json: %v) with %d bytes of output", len(in), json.Valid(in), len(out))
		}
		resp, err := OutputResponse("kmod", out)
		if err != nil {
			if errors.Is(err, ErrInvalid) && strings.Contains(err.Error(), "larger than") {
				return
			}
			t.Fatalf("OutputResponse of an accepted output: %v", err)
		}
		again, err := ReadOutput(bytes.NewReader(resp), "kmod")
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("ReadOutput(OutputResponse()) = %x, %v; want %x", again, err, out)
		}
	})
}
