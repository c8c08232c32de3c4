package pgp

// A signature's unhashed area (RFC 4880 section 5.2.3) is the one part of
// a packet a signer may change after the token signed: nothing in it is
// covered by the signature. signstar puts the transparency log's index of
// a signature there (log-index@signstar, issue 18), since the log's leaf
// covers the signature bytes and so cannot be inside what they sign.
// Verifiers ignore an unhashed subpacket they do not know unless it is
// critical (section 5.2.3.1), and gpg and sq take what the unhashed area
// says for a hint only, so the notation is written non-critical.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Output is an OpenPGP signature as signstar releases it (binary packets,
// one armor block, or a cleartext signed message) taken apart into its
// signature packets, which may be changed in their unhashed areas and put
// back together in the same form by [Output.Bytes].
type Output struct {
	// Packets are the signature packets, header and body each, in order.
	Packets [][]byte
	text    []byte // a cleartext message up to its signature block
	armor   bool
}

const sigBegin = "-----BEGIN PGP SIGNATURE-----\n"

// SplitOutput takes out apart. A cleartext message's text never holds a
// line starting with "-----" (dash escaping, RFC 4880 section 7.1), so
// its signature block starts at the first such line after the text.
func SplitOutput(out []byte) (*Output, error) {
	o := &Output{}
	if bytes.HasPrefix(out, []byte("-----BEGIN PGP SIGNED MESSAGE-----\n")) {
		i := bytes.Index(out, []byte("\n"+sigBegin))
		if i < 0 {
			return nil, errors.New("split signature: cleartext message without a signature block")
		}
		o.text, out = out[:i+1], out[i+1:]
	}
	if len(out) > 0 && out[0]&0x80 == 0 {
		o.armor = true
		r, err := dearmor(bytes.NewReader(out), openpgp.SignatureType)
		if err != nil {
			return nil, fmt.Errorf("split signature: %w", err)
		}
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(r); err != nil {
			return nil, fmt.Errorf("split signature: %w", err)
		}
		out = buf.Bytes()
	}
	for len(out) > 0 {
		n, err := packetLen(out)
		if err != nil {
			return nil, fmt.Errorf("split signature: %w", err)
		}
		o.Packets, out = append(o.Packets, out[:n]), out[n:]
	}
	if len(o.Packets) == 0 {
		return nil, errors.New("split signature: no packets")
	}
	return o, nil
}

// Bytes puts o back together in the form it came in.
func (o *Output) Bytes() ([]byte, error) {
	bin := bytes.Join(o.Packets, nil)
	if !o.armor {
		return bin, nil
	}
	a, err := armored(openpgp.SignatureType, bin)
	if err != nil {
		return nil, err
	}
	return append(bytes.Clone(o.text), a...), nil
}

// AddUnhashedNotation returns the v4 signature packet sig with notation n
// appended to its unhashed area, non-critical whatever n says; the
// signature itself is unchanged and verifies as before.
func AddUnhashedNotation(sig []byte, n *packet.Notation) ([]byte, error) {
	tag, body, err := packetContent(sig)
	if err != nil {
		return nil, fmt.Errorf("add notation: %w", err)
	}
	if tag != tagSignature || len(body) < 6 || body[0] != 4 {
		return nil, errors.New("add notation: not a v4 signature packet")
	}
	end := 6 + int(binary.BigEndian.Uint16(body[4:6])) // end of the hashed area
	if end+2 > len(body) {
		return nil, errors.New("add notation: truncated signature packet")
	}
	area := int(binary.BigEndian.Uint16(body[end : end+2]))
	if end+2+area > len(body) {
		return nil, errors.New("add notation: truncated signature packet")
	}
	data, err := notationData(n)
	if err != nil {
		return nil, fmt.Errorf("add notation: %w", err)
	}
	unhashed := subpacket(bytes.Clone(body[end+2:end+2+area]), subNotation, false, data)
	if len(unhashed) > 0xffff {
		return nil, errors.New("add notation: unhashed area over 65535 bytes")
	}
	b := append(bytes.Clone(body[:end]), byte(len(unhashed)>>8), byte(len(unhashed)))
	b = append(append(b, unhashed...), body[end+2+area:]...)
	return packetBytes(tagSignature, b), nil
}

// packetLen is the length of the packet at the start of b, header
// included (RFC 4880 section 4.2; no partial lengths: a signature packet
// never has them).
func packetLen(b []byte) (int, error) {
	hdr, n, err := packetHeader(b)
	if err != nil {
		return 0, err
	}
	if hdr+n > len(b) || hdr+n < hdr {
		return 0, errors.New("truncated packet")
	}
	return hdr + n, nil
}

// packetContent is the tag and body of the one packet that is all of b.
func packetContent(b []byte) (byte, []byte, error) {
	hdr, n, err := packetHeader(b)
	if err != nil {
		return 0, nil, err
	}
	if hdr+n != len(b) {
		return 0, nil, errors.New("packet length does not match its bytes")
	}
	tag := b[0] & 0x3f
	if b[0]&0x40 == 0 {
		tag = (b[0] >> 2) & 0x0f
	}
	return tag, b[hdr:], nil
}

// packetHeader reads an old- or new-format packet header: its length and
// the body's.
func packetHeader(b []byte) (hdr, n int, err error) {
	if len(b) < 2 || b[0]&0x80 == 0 {
		return 0, 0, errors.New("not an OpenPGP packet")
	}
	if b[0]&0x40 == 0 { // old format, section 4.2.1
		l := []int{1, 2, 4, 0}[b[0]&3]
		if l == 0 || len(b) < 1+l {
			return 0, 0, errors.New("old-format packet of indeterminate or truncated length")
		}
		for _, c := range b[1 : 1+l] {
			n = n<<8 | int(c)
		}
		return 1 + l, n, nil
	}
	switch c := b[1]; { // new format, section 4.2.2
	case c < 192:
		return 2, int(c), nil
	case c < 224 && len(b) >= 3:
		return 3, (int(c)-192)<<8 + int(b[2]) + 192, nil
	case c == 255 && len(b) >= 6:
		return 6, int(binary.BigEndian.Uint32(b[2:6])), nil
	}
	return 0, 0, errors.New("packet with partial or truncated length")
}
