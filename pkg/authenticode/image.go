// Package authenticode signs PE/COFF images (UEFI applications and
// drivers, Linux kernels with the EFI stub) for UEFI Secure Boot, as
// Microsoft's "Windows Authenticode Portable Executable Signature Format"
// describes and as sbsign, sbverify and osslsigncode read it.
//
// It promises:
//   - [Parse] reads an untrusted image with every offset checked against
//     the file: it never reads outside the image, and it refuses images it
//     could not hash the way every verifier does (see [Parse] for the list).
//   - [Image.Hash] is the Authenticode image hash of the image as it will be
//     once signed: every byte of the file except the CheckSum field, the
//     certificate table's data directory entry and the certificate table
//     itself, and the zeros that pad an unsigned image to the 8-byte boundary
//     where the certificate table will start.
//   - [IndirectData] is the DER of SpcIndirectDataContent as sbsign 0.9.4
//     writes it, byte for byte.
//   - [Insert] writes a PKCS#7 SignedData as a WIN_CERTIFICATE and updates
//     the certificate table entry and the CheckSum; it refuses a blob whose
//     image hash is not the image's, and an already signed image unless
//     appending is asked.
//   - [Sign] and the digest-only split ([Digest], [SignDigest], [Insert])
//     produce the same image for the same key, time and options.
//
// What verifies what (tested): sbverify 0.9.4 takes SHA-256 image hashes
// only; osslsigncode 2.9 takes SHA-256, SHA-384 and SHA-512, RSA and ECDSA
// P-256/P-384. Secure Boot in practice (shim, firmware db keys) means RSA
// 2048 with SHA-256, which every verifier takes. Ed25519 keys are refused.
// [Insert] checks the blob's structure and image hash, not its signature:
// a client verifies the signed image (sbverify --cert) before it trusts it.
//
// The parser is its own, on encoding/binary, rather than debug/pe: debug/pe
// gives neither the file offsets of the CheckSum field and of the
// certificate table entry that the hash skips, nor a bound on what it reads
// (it loads the COFF symbol and string tables an attacker sizes).
package authenticode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// MaxImageSize bounds the images [Parse] accepts: 256 MiB holds the largest
// EFI binaries signed in practice (unified kernel images with an initrd,
// tens of MiB) while keeping an image and its signed copy in memory
// affordable for a signing host.
const MaxImageSize = 256 << 20

// ErrSigned is returned by [Insert] and [Sign] for an image that already
// carries a signature when appending was not asked.
var ErrSigned = errors.New("image is already signed")

// PE/COFF offsets (Microsoft PE Format: "MS-DOS Stub", "COFF File Header",
// "Optional Header").
const (
	dosLfanewOff     = 0x3c
	coffHeaderSize   = 20
	sectionEntrySize = 40
	magicPE32        = 0x10b
	magicPE32Plus    = 0x20b
	checksumOptOff   = 64 // CheckSum, in PE32 and PE32+ alike
	headersOptOff    = 60 // SizeOfHeaders
	certTableIndex   = 4  // the Certificate Table is data directory 4
	winCertHeader    = 8  // WIN_CERTIFICATE: dwLength, wRevision, wCertificateType
	winCertRevision  = 0x0200
	winCertPKCS7     = 0x0002
)

// span is a byte range [off, end) of the image.
type span struct{ off, end int }

// Image is a parsed PE/COFF image: the offsets the image hash and the
// signature need. It keeps the bytes it was parsed from; do not change them.
type Image struct {
	data         []byte
	pe32Plus     bool
	checksumOff  int // the optional header's CheckSum field
	certEntryOff int // the Certificate Table data directory entry
	headersEnd   int // SizeOfHeaders
	sectionsEnd  int // end of the last section's raw data (headersEnd if none)
	dataEnd      int // start of the certificate table, or the file's end
	certs        []span
}

// Parse reads the headers of a PE/COFF image. It refuses an image larger
// than [MaxImageSize], truncated headers, a section table outside
// SizeOfHeaders, sections outside the file, sections that overlap or leave
// a gap between them or after the headers (tools hash the bytes in such
// gaps differently, or not at all), and a certificate table that is not
// the last thing in the file, overlaps the sections, or holds a malformed
// WIN_CERTIFICATE.
func Parse(data []byte) (*Image, error) {
	if len(data) > MaxImageSize {
		return nil, fmt.Errorf("parse PE image: %d bytes, more than the %d allowed", len(data), MaxImageSize)
	}
	im := &Image{data: data}
	if err := im.parseHeaders(); err != nil {
		return nil, fmt.Errorf("parse PE image: %w", err)
	}
	return im, nil
}

// parseHeaders reads the DOS, COFF and optional headers.
func (im *Image) parseHeaders() error {
	d := im.data
	if len(d) < dosLfanewOff+4 || d[0] != 'M' || d[1] != 'Z' {
		return errors.New("no MS-DOS header (MZ)")
	}
	pe := int(binary.LittleEndian.Uint32(d[dosLfanewOff:]))
	if pe > len(d) || len(d)-pe < 4+coffHeaderSize {
		return errors.New("truncated COFF header")
	}
	if string(d[pe:pe+4]) != "PE\x00\x00" {
		return errors.New("no PE signature")
	}
	coff := pe + 4
	nsec := int(binary.LittleEndian.Uint16(d[coff+2:]))
	optSize := int(binary.LittleEndian.Uint16(d[coff+16:]))
	opt := coff + coffHeaderSize
	if len(d)-opt < optSize {
		return errors.New("truncated optional header")
	}
	if err := im.parseOptional(d[opt:opt+optSize], opt); err != nil {
		return err
	}
	if err := im.parseSections(opt+optSize, nsec); err != nil {
		return err
	}
	return im.parseCertTable()
}

// parseOptional finds the CheckSum field, SizeOfHeaders and the
// certificate table entry in the optional header opt, at offset base.
func (im *Image) parseOptional(opt []byte, base int) error {
	if len(opt) < 2 {
		return errors.New("truncated optional header")
	}
	var countOff, dirOff int // NumberOfRvaAndSizes, the data directories
	switch binary.LittleEndian.Uint16(opt) {
	case magicPE32:
		countOff, dirOff = 92, 96
	case magicPE32Plus:
		im.pe32Plus = true
		countOff, dirOff = 108, 112
	default:
		return fmt.Errorf("optional header magic %#x is neither PE32 nor PE32+", binary.LittleEndian.Uint16(opt))
	}
	entry := dirOff + 8*certTableIndex
	if len(opt) < entry+8 {
		return errors.New("optional header too short for a certificate table entry")
	}
	if binary.LittleEndian.Uint32(opt[countOff:]) <= certTableIndex {
		return errors.New("optional header has no certificate table entry (NumberOfRvaAndSizes < 5)")
	}
	im.checksumOff = base + checksumOptOff
	im.certEntryOff = base + entry
	headers := binary.LittleEndian.Uint32(opt[headersOptOff:])
	if uint64(headers) > uint64(len(im.data)) {
		return fmt.Errorf("SizeOfHeaders %d is beyond the end of the file (%d bytes)", headers, len(im.data))
	}
	im.headersEnd = int(headers)
	return nil
}

// parseSections reads the section table at off and checks that the
// sections' raw data follow the headers and each other without gaps or
// overlaps, inside the file.
func (im *Image) parseSections(off, nsec int) error {
	if off+nsec*sectionEntrySize > im.headersEnd {
		return fmt.Errorf("section table (%d sections at %d) goes past SizeOfHeaders %d", nsec, off, im.headersEnd)
	}
	var secs []span
	for i := range nsec {
		e := im.data[off+i*sectionEntrySize:]
		size := uint64(binary.LittleEndian.Uint32(e[16:]))
		ptr := uint64(binary.LittleEndian.Uint32(e[20:]))
		if size == 0 {
			continue // no raw data: nothing in the file to hash
		}
		if ptr+size > uint64(len(im.data)) {
			return fmt.Errorf("section %d (%d bytes at %d) goes past the end of the file (%d bytes)", i, size, ptr, len(im.data))
		}
		secs = append(secs, span{int(ptr), int(ptr + size)})
	}
	// The PE spec hashes sections in the order of PointerToRawData.
	slices.SortFunc(secs, func(a, b span) int { return a.off - b.off })
	end := im.headersEnd
	for _, s := range secs {
		if s.off != end {
			return fmt.Errorf("section at %d does not follow the data before it, which ends at %d (gap or overlap)", s.off, end)
		}
		end = s.end
	}
	im.sectionsEnd = end
	return nil
}

// parseCertTable reads the certificate table entry and, if the image is
// signed, the WIN_CERTIFICATE structures in the table.
func (im *Image) parseCertTable() error {
	e := im.data[im.certEntryOff:]
	addr, size := binary.LittleEndian.Uint32(e), binary.LittleEndian.Uint32(e[4:])
	if addr == 0 && size == 0 {
		im.dataEnd = len(im.data)
		return nil
	}
	// The certificate table's "RVA" is a file offset (PE Format, "The
	// Attribute Certificate Table"); it must be 8-byte aligned and, for the
	// image hash to leave nothing out, the last thing in the file.
	if addr%8 != 0 || uint64(addr) < uint64(im.sectionsEnd) || uint64(addr)+uint64(size) != uint64(len(im.data)) {
		return fmt.Errorf("certificate table (%d bytes at %d) is not aligned at the end of the file after the sections (which end at %d, file %d bytes)",
			size, addr, im.sectionsEnd, len(im.data))
	}
	im.dataEnd = int(addr)
	return im.parseCerts()
}

// parseCerts splits the certificate table into WIN_CERTIFICATE entries,
// each starting on an 8-byte boundary.
func (im *Image) parseCerts() error {
	off, end := im.dataEnd, len(im.data)
	for off < end {
		if end-off < winCertHeader {
			return fmt.Errorf("truncated WIN_CERTIFICATE at %d", off)
		}
		n := int(binary.LittleEndian.Uint32(im.data[off:]))
		if n < winCertHeader || n > end-off {
			return fmt.Errorf("WIN_CERTIFICATE at %d has length %d, outside the certificate table", off, n)
		}
		im.certs = append(im.certs, span{off, off + n})
		off = min(align8(off+n), end)
	}
	return nil
}

// Signed reports whether the image carries a certificate table.
func (im *Image) Signed() bool { return im.dataEnd < len(im.data) }

// PE32Plus reports whether the optional header is PE32+ (64-bit images).
func (im *Image) PE32Plus() bool { return im.pe32Plus }

// Signatures returns the PKCS#7 SignedData blobs of the image's
// WIN_CERTIFICATE entries of type WIN_CERT_TYPE_PKCS_SIGNED_DATA, in file
// order, trailing zero padding included where the writer counted it in
// dwLength. They alias the image.
func (im *Image) Signatures() [][]byte {
	var out [][]byte
	for _, c := range im.certs {
		h := im.data[c.off:]
		if binary.LittleEndian.Uint16(h[4:]) == winCertRevision && binary.LittleEndian.Uint16(h[6:]) == winCertPKCS7 {
			out = append(out, im.data[c.off+winCertHeader:c.end])
		}
	}
	return out
}

func align8(n int) int { return (n + 7) &^ 7 }
