package kmod

import (
	"bytes"
	"testing"
)

// FuzzParse checks the trailer parser on arbitrary bytes: it never panics,
// a signature it finds lies inside the input and frames back to exactly the
// bytes it was read from, and Strip leaves a prefix without the magic string.
func FuzzParse(f *testing.F) {
	body := []byte("\x7fELF\x02\x01\x01 module body")
	f.Add(body)
	f.Add([]byte(Magic))
	f.Add(append(bytes.Clone(body), Block([]byte{0x30, 0x03, 0x02, 0x01, 0x01})...))
	f.Add(append(bytes.Clone(body), trailer(0, 2, 0, 0xffffffff)...))
	f.Add(append(bytes.Clone(body), trailer(0, 2, 0, uint32(len(body)-1))...))
	f.Add(append(append(bytes.Clone(body), Block([]byte{1, 2, 3})...), Block([]byte{4, 5})...))
	f.Fuzz(func(t *testing.T, data []byte) {
		sig, err := Parse(data)
		if err != nil || sig == nil {
			return
		}
		end := sig.Start + len(sig.CMS)
		if sig.Start <= 0 || len(sig.CMS) == 0 || end > len(data) {
			t.Fatalf("signature at %d, %d bytes, outside a %d-byte input", sig.Start, len(sig.CMS), len(data))
		}
		if !bytes.Equal(data[sig.Start:end], sig.CMS) || !bytes.Equal(Block(sig.CMS), data[sig.Start:]) {
			t.Fatal("the signature found does not frame back to the bytes it was read from")
		}
		stripped, err := Strip(data)
		if err == nil && (!bytes.HasPrefix(data, stripped) || bytes.HasSuffix(stripped, []byte(Magic))) {
			t.Fatalf("Strip left %d bytes that are not an unsigned prefix", len(stripped))
		}
	})
}
