package pgp

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// UnhashedNotation returns the value of the notation called name in the
// unhashed area of sig, one v4 signature packet, and whether there is
// one: how a client reads the log-index@signstar notation
// [AddUnhashedNotation] wrote (go-crypto parses no notation outside the
// hashed area). Two notations of that name are an error: the value
// would be ambiguous.
func UnhashedNotation(sig []byte, name string) ([]byte, bool, error) {
	area, err := unhashedArea(sig)
	if err != nil {
		return nil, false, fmt.Errorf("read notation: %w", err)
	}
	var value []byte
	found := false
	for len(area) > 0 {
		l, hdr, err := subpacketLength(area)
		if err != nil {
			return nil, false, fmt.Errorf("read notation: %w", err)
		}
		sp := area[hdr : hdr+l]
		area = area[hdr+l:]
		if sp[0]&^0x80 != subNotation {
			continue
		}
		n, v, err := notationParts(sp[1:])
		if err != nil {
			return nil, false, fmt.Errorf("read notation: %w", err)
		}
		if n != name {
			continue
		}
		if found {
			return nil, false, fmt.Errorf("read notation: two %s notations", name)
		}
		value, found = v, true
	}
	return value, found, nil
}

// unhashedArea is the unhashed subpacket area of a v4 signature packet
// (RFC 4880 section 5.2.3).
func unhashedArea(sig []byte) ([]byte, error) {
	tag, body, err := packetContent(sig)
	if err != nil {
		return nil, err
	}
	if tag != tagSignature || len(body) < 6 || body[0] != 4 {
		return nil, errors.New("not a v4 signature packet")
	}
	end := 6 + int(binary.BigEndian.Uint16(body[4:6]))
	if end+2 > len(body) {
		return nil, errors.New("truncated signature packet")
	}
	n := int(binary.BigEndian.Uint16(body[end : end+2]))
	if end+2+n > len(body) {
		return nil, errors.New("truncated signature packet")
	}
	return body[end+2 : end+2+n], nil
}

// notationParts splits notation data (RFC 4880 section 5.2.3.16: four
// flag octets, name and value lengths, name, value).
func notationParts(d []byte) (string, []byte, error) {
	if len(d) < 8 {
		return "", nil, errors.New("short notation subpacket")
	}
	nl, vl := int(binary.BigEndian.Uint16(d[4:6])), int(binary.BigEndian.Uint16(d[6:8]))
	if len(d) != 8+nl+vl {
		return "", nil, errors.New("notation subpacket length does not match its name and value")
	}
	return string(d[8 : 8+nl]), d[8+nl:], nil
}
