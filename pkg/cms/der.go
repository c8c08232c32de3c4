package cms

import (
	"encoding/asn1"
	"fmt"
)

// tlv encodes one DER value with tag and the concatenated contents. It is
// enough for the few constructed types SignedData needs, whose parts are
// already DER.
func tlv(tag byte, contents ...[]byte) []byte {
	n := 0
	for _, c := range contents {
		n += len(c)
	}
	out := append([]byte{tag}, derLength(n)...)
	for _, c := range contents {
		out = append(out, c...)
	}
	return out
}

// derLength is the X.690 section 8.1.3 definite length in the fewest octets.
func derLength(n int) []byte {
	if n < 0x80 {
		return []byte{byte(n)}
	}
	var b []byte
	for ; n > 0; n >>= 8 {
		b = append([]byte{byte(n)}, b...)
	}
	return append([]byte{0x80 | byte(len(b))}, b...)
}

func seq(parts ...[]byte) []byte { return tlv(0x30, parts...) }

// set encodes a SET OF with one member; sorting is the caller's when there
// are more (see encodeAttributes).
func set(member []byte) []byte { return tlv(0x31, member) }

// explicit is a context-specific [n] EXPLICIT tag around one DER value.
func explicit(n byte, der []byte) []byte { return tlv(0xa0|n, der) }

// mustMarshal encodes the values this package builds itself (object
// identifiers, integers, times), which encoding/asn1 cannot fail on.
func mustMarshal(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("BUG: cms: encode %T: %v", v, err))
	}
	return b
}
