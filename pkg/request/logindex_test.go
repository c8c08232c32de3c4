package request

import (
	"bytes"
	"strings"
	"testing"
)

// TestWithLogIndex: the field is added last, and a reader that does not
// know it (ours, as upstream's) still reads the signature or output.
func TestWithLogIndex(t *testing.T) {
	resp, err := Response([]byte(upstreamSig))
	if err != nil {
		t.Fatal(err)
	}
	got, err := WithLogIndex(resp, 41)
	if err != nil {
		t.Fatal(err)
	}
	if want := string(resp[:len(resp)-1]) + `,"log-index":41}`; string(got) != want {
		t.Fatalf("WithLogIndex = %s, want %s", got, want)
	}
	if sig, err := ReadResponse(bytes.NewReader(got)); err != nil || string(sig) != upstreamSig {
		t.Fatalf("ReadResponse of a logged response: %v", err)
	}
	if i, ok, err := ReadLogIndex(got); err != nil || !ok || i != 41 {
		t.Fatalf("ReadLogIndex = %d, %v, %v; want 41", i, ok, err)
	}
	if _, ok, err := ReadLogIndex(resp); err != nil || ok {
		t.Fatalf("ReadLogIndex of a response without it: %v, %v", ok, err)
	}
	out, err := OutputResponse("kmod", []byte("block"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err = WithLogIndex(out, 0); err != nil {
		t.Fatal(err)
	}
	if o, err := ReadOutput(bytes.NewReader(got), "kmod"); err != nil || string(o) != "block" {
		t.Fatalf("ReadOutput of a logged response = %q, %v", o, err)
	}
	for _, bad := range []string{"", "[]", `{"a":1`, `{"a":1}x`} {
		if _, err := WithLogIndex([]byte(bad), 1); err == nil {
			t.Errorf("WithLogIndex(%q) succeeded", bad)
		}
	}
	if _, err := WithLogIndex(resp, -1); err == nil {
		t.Error("WithLogIndex took a negative index")
	}
}

func TestReadLogIndex(t *testing.T) {
	tests := []struct{ doc, wantErr string }{
		{`{"log-index":"41"}`, "want a number"},
		{`{"log-index":-1}`, "is not an index"},
		{`{"log-index":1.5}`, "is not an index"},
		{`{"log-index":1e3}`, "is not an index"},
		{`{"log-index":99999999999999999999}`, "is not an index"},
		{`{"log-index":1,"log-index":2}`, "duplicate key"},
		{`{"log-index":1} {}`, "trailing data"},
	}
	for _, tt := range tests {
		if _, _, err := ReadLogIndex([]byte(tt.doc)); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ReadLogIndex(%s) = %v, want an error containing %q", tt.doc, err, tt.wantErr)
		}
	}
}

func FuzzReadLogIndex(f *testing.F) {
	for _, s := range []string{`{"version":"1.0.0","signature":"x","log-index":41}`, `{"log-index":0}`, `{"log-index":-1}`,
		`{"log-index":"1"}`, `{"log-index":1e3}`, `{}`, `{"a":[[[[{"log-index":2}]]]]}`, `[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		i, ok, err := ReadLogIndex(doc)
		if err != nil && (ok || i != 0) {
			t.Fatalf("an error with an index: %d %v %v", i, ok, err)
		}
		if ok && i < 0 {
			t.Fatalf("negative index %d", i)
		}
	})
}
