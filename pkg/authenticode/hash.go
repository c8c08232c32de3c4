package authenticode

import (
	"crypto"
	"fmt"
)

// hashes are the image hashes offered: SHA-256 is what UEFI firmware and
// shim check in practice; SHA-384 and SHA-512 are Authenticode's too.
var hashes = map[crypto.Hash]bool{crypto.SHA256: true, crypto.SHA384: true, crypto.SHA512: true}

func checkHash(h crypto.Hash) error {
	if !hashes[h] || !h.Available() {
		return fmt.Errorf("image hash %v is not supported (SHA-256, SHA-384 or SHA-512)", h)
	}
	return nil
}

// Hash returns the Authenticode image hash with h (Authenticode PE,
// "Calculating the PE Image Hash"): the headers up to SizeOfHeaders without
// the CheckSum field and the certificate table entry, the sections in the
// order of PointerToRawData, the data after them up to the certificate
// table, and, for an unsigned image, the zeros [Insert] adds to align the
// certificate table on 8 bytes (sbsign and osslsigncode hash those too).
// Because [Parse] refuses gaps between sections, these ranges cover every
// byte of the file outside the certificate table.
func (im *Image) Hash(h crypto.Hash) ([]byte, error) {
	if err := checkHash(h); err != nil {
		return nil, err
	}
	w := h.New()
	for _, s := range im.hashed() {
		w.Write(im.data[s.off:s.end])
	}
	w.Write(make([]byte, im.padding()))
	return w.Sum(nil), nil
}

// hashed returns the ranges of the image the hash covers, in order.
func (im *Image) hashed() []span {
	return []span{
		{0, im.checksumOff},
		{im.checksumOff + 4, im.certEntryOff},
		{im.certEntryOff + 8, im.headersEnd},
		// The sections follow each other from headersEnd (Parse checks it),
		// so in PointerToRawData order they are this one range, and the data
		// after them runs on to the certificate table.
		{im.headersEnd, im.dataEnd},
	}
}

// padding is the number of zeros between the image's data and where its
// certificate table starts once signed.
func (im *Image) padding() int { return align8(im.dataEnd) - im.dataEnd }

// Digest parses image and returns its Authenticode image hash with h: what a
// client sends in a digest-only request.
func Digest(image []byte, h crypto.Hash) ([]byte, error) {
	im, err := Parse(image)
	if err != nil {
		return nil, err
	}
	return im.Hash(h)
}

// checksum returns the PE CheckSum of d, whose CheckSum field is at off:
// the 16-bit one's-complement-style sum of the file's little-endian words,
// the field counted as zero, plus the file's length (the algorithm of
// imagehlp's CheckSumMappedFile, which the PE Format names but does not
// spell out).
func checksum(d []byte, off int) uint32 {
	var sum uint64
	for i := 0; i < len(d); i += 2 {
		sum += uint64(byteAt(d, i, off)) | uint64(byteAt(d, i+1, off))<<8
		sum = (sum & 0xffff) + (sum >> 16)
	}
	sum = (sum & 0xffff) + (sum >> 16)
	return uint32(sum) + uint32(len(d))
}

// byteAt is d[i], or zero past the end or inside the CheckSum field at off
// (which Parse does not require to be even).
func byteAt(d []byte, i, off int) byte {
	if i >= len(d) || (i >= off && i < off+4) {
		return 0
	}
	return d[i]
}
