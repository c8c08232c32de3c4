package authenticode

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Insert returns a copy of image with the PKCS#7 SignedData blob added as
// a WIN_CERTIFICATE (revision 0x0200, WIN_CERT_TYPE_PKCS_SIGNED_DATA; its
// dwLength counts the zeros that pad it to 8 bytes, as osslsigncode and
// signtool write it), the certificate table entry pointing at the table
// and the CheckSum recomputed. An unsigned image is first padded with zeros
// to 8 bytes, which its image hash already covers (PE Format, "The
// Attribute Certificate Table").
//
// Insert refuses a blob whose SpcIndirectDataContent holds another image
// hash than this image's. It refuses an already signed image with
// [ErrSigned] unless appendSig is set; then the new WIN_CERTIFICATE goes
// after the existing ones, as sbsign does for a signed image. sbverify
// accepts such an image with the certificate of either signature (tested),
// and EDK2's DxeImageVerificationLib walks every entry (by its source, not
// tested here); osslsigncode 2.9 reads only a table with one entry and
// reports "Corrupted attribute certificate table" for this form, as it does
// for sbsign's (tested).
func Insert(image, blob []byte, appendSig bool) ([]byte, error) {
	im, err := Parse(image)
	if err != nil {
		return nil, err
	}
	return im.insert(blob, appendSig, false)
}

// insert is [Insert]; inPlace lets the signed image use im.data's storage
// when its capacity allows (im.data is then changed), saving a copy of
// the image: see [Options.InPlace].
func (im *Image) insert(blob []byte, appendSig, inPlace bool) ([]byte, error) {
	if im.Signed() && !appendSig {
		return nil, ErrSigned
	}
	if err := im.checkBlob(blob); err != nil {
		return nil, fmt.Errorf("insert signature: %w", err)
	}
	entry := align8(winCertHeader + len(blob))
	table := align8(len(im.data)) - align8(im.dataEnd) // the existing table, padded to 8 bytes
	size := align8(im.dataEnd) + table + entry
	if size > MaxImageSize {
		return nil, errors.New("insert signature: signed image would exceed the size limit")
	}
	var out []byte
	if inPlace && cap(im.data) >= size {
		out = im.data[:size]
		clear(out[len(im.data):]) // the padding; the capacity may hold anything
	} else {
		out = make([]byte, size) // zeroed: the padding
		copy(out, im.data)
	}
	at := size - entry
	binary.LittleEndian.PutUint32(out[at:], uint32(entry))
	binary.LittleEndian.PutUint16(out[at+4:], winCertRevision)
	binary.LittleEndian.PutUint16(out[at+6:], winCertPKCS7)
	copy(out[at+winCertHeader:], blob)
	binary.LittleEndian.PutUint32(out[im.certEntryOff:], uint32(align8(im.dataEnd)))
	binary.LittleEndian.PutUint32(out[im.certEntryOff+4:], uint32(table+entry))
	binary.LittleEndian.PutUint32(out[im.checksumOff:], checksum(out, im.checksumOff))
	return out, nil
}
