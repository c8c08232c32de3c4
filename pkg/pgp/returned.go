package pgp

// Signatures that come back from elsewhere (a signing host over ssh, or
// signstar sign in a child process) to a client that holds the input and
// the pinned certificates: each is checked against them before it is
// released, and described for gpg's status lines.

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// VerifyDetached checks that sigs, one or more detached signatures
// (binary packets one after another, or one armor block), are exactly one
// by each of certs, in order, over data, as [Verify] checks one. data is
// read once per signature.
func VerifyDetached(certs []*Certificate, sigs []byte, data io.ReadSeeker) error {
	all, err := readSignatures(bytes.NewReader(sigs))
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if len(all) != len(certs) {
		return fmt.Errorf("verify: %d signatures, want %d", len(all), len(certs))
	}
	for i, s := range all {
		if _, err := data.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("verify: rewind data: %w", err)
		}
		if err := verifyData(certs[i], s, data); err != nil {
			return fmt.Errorf("verify: %w", err)
		}
	}
	return nil
}

// VerifyClear checks that msg is the cleartext signed message
// [Signer.ClearSign] or [ClearSignAll] makes of text: the text shown
// exactly as they show it (so a host cannot show other text under a good
// signature), and one signature by each of certs, in order, over it.
func VerifyClear(certs []*Certificate, msg []byte, text io.Reader) error {
	var shown bytes.Buffer
	if _, err := io.Copy(io.Discard, newTextReader(text, &shown, true)); err != nil {
		return fmt.Errorf("verify: read text: %w", err)
	}
	_, body, ok := bytes.Cut(msg, []byte("\n\n"))
	if !ok || !bytes.HasPrefix(body, shown.Bytes()) {
		return errors.New("verify: the message does not show the text that was sent")
	}
	block := body[shown.Len():]
	if !bytes.HasPrefix(block, []byte("-----BEGIN PGP SIGNATURE-----\n")) {
		return errors.New("verify: the message shows more than the text that was sent")
	}
	sigs, err := readSignatures(bytes.NewReader(block))
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if len(sigs) != len(certs) {
		return fmt.Errorf("verify: %d signatures, want %d", len(sigs), len(certs))
	}
	ss := make([]*Signer, len(certs))
	for i, c := range certs {
		ss[i] = &Signer{cert: c, hash: sigs[i].Hash}
	}
	if err := checkClear(msg, ss); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	return nil
}

// Made describes one signature as gpg's SIG_CREATED status line does
// (GnuPG doc/DETAILS).
type Made struct {
	Class      uint8 // signature type: 0x00 binary, 0x01 text
	PubKeyAlgo uint8 // RFC 4880 section 9.1
	Hash       crypto.Hash
	Created    time.Time
}

// HashID is the hash's RFC 4880 section 9.4 number.
func (m Made) HashID() uint8 {
	switch m.Hash {
	case crypto.SHA256:
		return 8
	case crypto.SHA384:
		return 9
	case crypto.SHA512:
		return 10
	case crypto.SHA224:
		return 11
	}
	return 0
}

// Describe reads the signatures of out: detached ones (binary or armored)
// or a cleartext signed message.
func Describe(out []byte) ([]Made, error) {
	if rest, ok := bytes.CutPrefix(out, []byte("-----BEGIN PGP SIGNED MESSAGE-----\n")); ok {
		i := bytes.Index(rest, []byte("\n-----BEGIN PGP SIGNATURE-----\n"))
		if i < 0 {
			return nil, errors.New("describe signature: message has no signature block")
		}
		out = rest[i+1:]
	}
	sigs, err := readSignatures(bytes.NewReader(out))
	if err != nil {
		return nil, fmt.Errorf("describe signature: %w", err)
	}
	made := make([]Made, len(sigs))
	for i, s := range sigs {
		made[i] = Made{Class: uint8(s.SigType), PubKeyAlgo: uint8(s.PubKeyAlgo), Hash: s.Hash, Created: s.CreationTime}
	}
	return made, nil
}

// Armored is detached binary signatures in one armor block, as gpg -a
// writes them.
func Armored(sigs []byte) ([]byte, error) {
	if _, err := readSignatures(bytes.NewReader(sigs)); err != nil {
		return nil, fmt.Errorf("armor signature: %w", err)
	}
	return armored("PGP SIGNATURE", sigs)
}

// KeyAlgorithm is the certificate key's RFC 4880 section 9.1 number and
// its size in bits, as gpg's key listings show them.
func (c *Certificate) KeyAlgorithm() (id uint8, bits int) {
	k := c.key()
	n, _ := k.BitLength()
	bits = int(n)
	if k.PubKeyAlgo == packet.PubKeyAlgoEdDSA {
		bits = 255 // BitLength counts the encoded point; gpg shows the curve's size
	}
	return uint8(k.PubKeyAlgo), bits
}
