package request

import (
	"crypto/sha512"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
)

// A request's state is a RustCrypto sha2 0.11 SHA-512 hasher, serialized.
// Two layouts travel under the one type string "sha2-0.11-SHA512-state"
// (testdata/signstar-request-v1/README.md); a server tells them apart by
// length, as nothing else in the request says which one it is.
//
// 208 bytes: digest 0.11.0-rc.1 and later (sha2 0.11.0-rc.2 and later),
// what upstream's client sends since its move to sha2 0.11.0-rc.5
// (February 2026) and what [State] writes:
//
//	0..63    eight chaining words, each little-endian
//	64..79   count of compressed 128-byte blocks, 128-bit little-endian
//	80       pending bytes in the block buffer, 0..127
//	81..207  the buffer: the pending bytes, then zeros
//
// 210 bytes: digest 0.11.0-pre.9 to 0.11.0-rc.0 (sha2 0.11.0-pre.4 to
// 0.11.0-rc.0), what signstar-request-signature 0.1.0 to 0.1.3 send. The
// same first 80 bytes, then the output size that digest's
// CtVariableCoreWrapper (CtOutWrapper in rc.0) appends to the core's state,
// then the block buffer as CoreWrapper (buffer_fixed! in rc.0) wrote it: a
// position byte and the whole 128-byte block, padded with zeros.
//
//	80       output size in bytes: 64 (digest refuses any other on load)
//	81       pending bytes in the block buffer, 0..127
//	82..209  the buffer: the pending bytes, then zeros
//
// Go's crypto/sha512 marshals the same hasher (encoding.BinaryMarshaler) as
// magic "sha\x07", the eight words big-endian, the whole 128-byte buffer and
// the count of bytes absorbed as a big-endian uint64.
const (
	stateSize       = 208
	legacyStateSize = 210
	blockSize       = 128
	offBlocks       = 64
	offPending      = 80
	offOutSize      = 80 // legacy layout only
	legacyPending   = 81 // legacy layout: where the pending count is
	legacyOutSize   = 64
	goMagic         = "sha\x07"
	goStateSize     = len(goMagic) + 8*8 + blockSize + 8
)

const stateLoc = "required.input.content"

// checkStateLen refuses a state that has neither layout's length.
func checkStateLen(n int) error {
	if n != stateSize && n != legacyStateSize {
		return invalidf(docRequest, "%s: want %d or %d bytes, got %d", stateLoc, stateSize, legacyStateSize, n)
	}
	return nil
}

// sha512State is a decoded state.
type sha512State struct {
	h       [8]uint64
	total   uint64 // bytes absorbed: blocks*128 + len(pending)
	pending []byte
}

// parseState decodes either layout. A legacy state whose output-size byte
// is not 64 is refused, as digest's own deserialize refuses it: it is the
// state of another hash (SHA-512/256 writes 32) or of no hasher at all.
func parseState(s []byte) (sha512State, error) {
	if err := checkStateLen(len(s)); err != nil {
		return sha512State{}, err
	}
	if len(s) == stateSize {
		return parseLayout(s, offPending)
	}
	if n := s[offOutSize]; n != legacyOutSize {
		return sha512State{}, invalidf(docRequest, "%s: output size (byte %d of a %d-byte state) is %d, want %d",
			stateLoc, offOutSize, legacyStateSize, n, legacyOutSize)
	}
	return parseLayout(s, legacyPending)
}

// parseLayout decodes the chaining words and block count at the start of s
// and the pending count at offset pend, followed by the buffer to the end
// of s. It refuses what no honest hasher holds: a pending count over 127
// (sha2's eager buffer compresses a full block at once), non-zero bytes
// beyond the pending ones, and more than 2^64-1 bytes absorbed (Go's digest
// counts bytes in a uint64).
//
// The non-zero tail is refused although it cannot change the digest: sha2
// always writes zeros there, and accepting anything would give one state
// 2^(8*127) spellings, all yielding the same signature; refusing it keeps
// the encoding one-to-one ([State] of [Request.Hash] gives back a 208-byte
// state, and a 210-byte one less its output-size and last byte).
func parseLayout(s []byte, pend int) (sha512State, error) {
	var st sha512State
	for i := range st.h {
		st.h[i] = binary.LittleEndian.Uint64(s[8*i:])
	}
	lo, hi := binary.LittleEndian.Uint64(s[offBlocks:]), binary.LittleEndian.Uint64(s[offBlocks+8:])
	if hi != 0 || lo >= 1<<57 {
		return sha512State{}, invalidf(docRequest, "%s: block count over 2^57 (more than 2^64 bytes)", stateLoc)
	}
	n := int(s[pend])
	if n >= blockSize {
		return sha512State{}, invalidf(docRequest, "%s: pending count (byte %d) is %d, over %d", stateLoc, pend, n, blockSize-1)
	}
	buf := pend + 1
	for i := buf + n; i < len(s); i++ {
		if s[i] != 0 {
			return sha512State{}, invalidf(docRequest, "%s: byte %d is past the %d pending bytes but not zero", stateLoc, i, n)
		}
	}
	st.total = lo*blockSize + uint64(n)
	st.pending = s[buf : buf+n]
	return st, nil
}

// marshalGo returns st in crypto/sha512's marshaled form.
func (st sha512State) marshalGo() []byte {
	b := make([]byte, 0, goStateSize)
	b = append(b, goMagic...)
	for _, w := range st.h {
		b = binary.BigEndian.AppendUint64(b, w)
	}
	b = append(b, st.pending...)
	b = append(b, make([]byte, blockSize-len(st.pending))...)
	return binary.BigEndian.AppendUint64(b, st.total)
}

// Hash returns a fresh SHA-512 hash that has absorbed what the client's
// hasher had: writing to it continues the client's data, and its Sum is the
// file's digest. It is what signstar/pkg/pgp's Signer.SignHash signs.
func (r *Request) Hash() (hash.Hash, error) {
	st, err := r.state()
	if err != nil {
		return nil, err
	}
	h := sha512.New()
	u, ok := h.(encoding.BinaryUnmarshaler)
	if !ok {
		return nil, errors.New("BUG: crypto/sha512 hash cannot be restored")
	}
	if err := u.UnmarshalBinary(st.marshalGo()); err != nil {
		return nil, fmt.Errorf("BUG: restore sha-512 state: %w", err)
	}
	return h, nil
}

// FileDigest returns the SHA-512 digest of the client's file: the state,
// finalized. It is the value of the [DigestNotation].
func (r *Request) FileDigest() ([]byte, error) {
	h, err := r.Hash()
	if err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// Size returns how many bytes the client's hasher absorbed.
func (r *Request) Size() (uint64, error) {
	st, err := r.state()
	return st.total, err
}

// state decodes r's hash state; an X.509 request has none to finish.
func (r *Request) state() (sha512State, error) {
	if r.Digest != nil {
		return sha512State{}, invalidf(docRequest, "required.input.type: %q is a finished digest for an X.509 signature, not a hash state", InputDigest)
	}
	return parseState(r.State)
}

// State serializes a crypto/sha512 SHA-512 hash in the 208-byte layout
// current clients send. h is not changed. Any other hash, SHA-384 and SHA-512/256
// included, is refused.
func State(h hash.Hash) ([]byte, error) {
	m, ok := h.(encoding.BinaryMarshaler)
	if !ok {
		return nil, fmt.Errorf("serialize hash state: %T cannot be serialized", h)
	}
	b, err := m.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("serialize hash state: %w", err)
	}
	if len(b) != goStateSize || string(b[:len(goMagic)]) != goMagic {
		return nil, errors.New("serialize hash state: not a crypto/sha512 SHA-512 hash")
	}
	b = b[len(goMagic):]
	s := make([]byte, stateSize)
	for i := 0; i < 8; i++ {
		binary.LittleEndian.PutUint64(s[8*i:], binary.BigEndian.Uint64(b[8*i:]))
	}
	x, total := b[64:64+blockSize], binary.BigEndian.Uint64(b[64+blockSize:])
	n := total % blockSize
	binary.LittleEndian.PutUint64(s[offBlocks:], total/blockSize) // high 64 bits stay 0
	s[offPending] = byte(n)
	copy(s[offPending+1:], x[:n])
	return s, nil
}
