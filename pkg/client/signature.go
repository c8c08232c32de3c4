package client

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"signstar/pkg/request"
)

// checkSignature decodes the armored signature of a response into its one
// binary signature packet and checks, before the file is read again, that
// it carries the data-digest@archlinux.org notation (request.md) with the
// file's SHA-512 digest: a server that signed some other request is caught
// here without a second pass over a large file. The signature itself is
// checked by [verifyHash].
func checkSignature(armored, sum []byte) ([]byte, error) {
	bin, sig, err := readSignature(armored)
	if err != nil {
		return nil, fmt.Errorf("bad signature in response: %v", err)
	}
	var found []*packet.Notation
	for _, n := range sig.Notations { // hashed ones only: go-crypto drops the rest
		if n.Name == request.DigestNotationName {
			found = append(found, n)
		}
	}
	switch {
	case len(found) != 1:
		return nil, fmt.Errorf("signature has %d %s notations, want 1", len(found), request.DigestNotationName)
	case !bytes.Equal(found[0].Value, sum):
		return nil, fmt.Errorf("signature is over other data: its %s is %.16x..., the file's is %.16x...",
			request.DigestNotationName, found[0].Value, sum)
	}
	return bin, nil
}

// readSignature returns the binary packet inside armored, and the packet
// parsed, refusing anything but exactly one signature packet.
func readSignature(armored []byte) ([]byte, *packet.Signature, error) {
	block, err := armor.Decode(bytes.NewReader(armored))
	if err != nil {
		return nil, nil, fmt.Errorf("decode armor: %v", err)
	}
	if block.Type != openpgp.SignatureType {
		return nil, nil, fmt.Errorf("armor block is %q, want %q", block.Type, openpgp.SignatureType)
	}
	bin, err := io.ReadAll(block.Body) // bounded: the response is at most request.MaxSize
	if err != nil {
		return nil, nil, fmt.Errorf("decode armor: %v", err)
	}
	r := bytes.NewReader(bin)
	p, err := packet.Read(r)
	if err != nil {
		return nil, nil, err
	}
	sig, ok := p.(*packet.Signature)
	if !ok {
		return nil, nil, fmt.Errorf("got %T, want a signature packet", p)
	}
	if r.Len() != 0 {
		return nil, nil, errors.New("more than one packet, or trailing data")
	}
	return bin, sig, nil
}

// armorSignature re-armors the verified packet rather than passing the
// server's text through, so no header lines a server chose reach the file.
// The CRC-24 line is kept and a final newline added, as signstar's own
// signatures have them (see signstar/pkg/pgp).
func armorSignature(bin []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.SignatureType, nil)
	if err == nil {
		_, err = w.Write(bin)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("BUG: armor signature: %v", err)
	}
	return append(buf.Bytes(), '\n'), nil
}
