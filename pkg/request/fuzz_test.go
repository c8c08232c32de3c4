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

// FuzzRead: an accepted request is valid JSON, its state's arithmetic holds
// (blocks*128 + pending = Size), it survives Marshal and Read unchanged, and
// its hash serializes back to the same state (in the 208-byte layout).
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
		checkArithmetic(t, r)
		out, err := r.Marshal()
		if err != nil {
			t.Fatalf("Marshal of an accepted request: %v", err)
		}
		again, err := Read(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("Read(Marshal()): %v", err)
		}
		if !bytes.Equal(again.State, r.State) || again.RequestTime != r.RequestTime {
			t.Fatalf("round trip changed the request: %+v -> %+v", r, again)
		}
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
