package authenticode

import (
	"bytes"
	"crypto"
	"encoding/asn1"
	"encoding/binary"
	"strings"
	"testing"
)

// Offsets in tinyPE's PE32+ image.
const (
	tinyOpt      = 0x58
	tinySections = tinyOpt + 240
	tinyCertDir  = tinyOpt + 112 + 8*certTableIndex
)

// TestParseRefuses changes one thing in a tiny PE32+ image and checks that
// Parse refuses it, naming the problem.
func TestParseRefuses(t *testing.T) {
	le := binary.LittleEndian
	tests := []struct {
		name    string
		change  func(d []byte) []byte
		wantErr string
	}{
		{"empty", func(d []byte) []byte { return nil }, "no MS-DOS header"},
		{"no MZ", func(d []byte) []byte { d[0] = 'X'; return d }, "no MS-DOS header"},
		{"e_lfanew past the end", func(d []byte) []byte { le.PutUint32(d[0x3c:], 0xfffffff0); return d }, "truncated COFF header"},
		{"truncated COFF header", func(d []byte) []byte { return d[:0x50] }, "truncated COFF header"},
		{"no PE signature", func(d []byte) []byte { d[0x41] = 'X'; return d }, "no PE signature"},
		{"optional header past the end", func(d []byte) []byte { return d[:tinyOpt+100] }, "truncated optional header"},
		{"ROM magic", func(d []byte) []byte { le.PutUint16(d[tinyOpt:], 0x107); return d }, "neither PE32 nor PE32+"},
		{"optional header too short", func(d []byte) []byte { le.PutUint16(d[0x44+16:], 150); return d }, "too short for a certificate table entry"},
		{"four data directories", func(d []byte) []byte { le.PutUint32(d[tinyOpt+108:], 4); return d }, "no certificate table entry"},
		{"SizeOfHeaders past the end", func(d []byte) []byte { le.PutUint32(d[tinyOpt+60:], 0x10000); return d }, "beyond the end of the file"},
		{"section table past SizeOfHeaders", func(d []byte) []byte { le.PutUint16(d[0x46:], 6); return d }, "goes past SizeOfHeaders"},
		{"section past the end", func(d []byte) []byte { le.PutUint32(d[tinySections+16:], 0x10000); return d }, "goes past the end of the file"},
		{"section offset wraps", func(d []byte) []byte { le.PutUint32(d[tinySections+20:], 0xffffffff); return d }, "goes past the end of the file"},
		{"gap after the headers", func(d []byte) []byte {
			le.PutUint32(d[tinySections+16:], 0x1e0)
			le.PutUint32(d[tinySections+20:], 0x220)
			return d
		}, "gap or overlap"},
		{"section overlaps the headers", func(d []byte) []byte { le.PutUint32(d[tinySections+20:], 0x100); return d }, "gap or overlap"},
		{"overlapping sections", func(d []byte) []byte {
			copy(d[tinySections+40:], d[tinySections:tinySections+40])
			le.PutUint16(d[0x46:], 2)
			return d
		}, "gap or overlap"},
		{"certificate table overlaps a section", func(d []byte) []byte { return withCertDir(d, 0x200, uint32(len(d)-0x200)) }, "not aligned at the end of the file"},
		{"certificate table not at the end", func(d []byte) []byte { return withCertDir(d, 0x400, 0) }, "not aligned at the end of the file"},
		{"certificate table past the end", func(d []byte) []byte { return withCertDir(append(d[:0x400], make([]byte, 8)...), 0x400, 0x10) }, "not aligned at the end of the file"},
		{"certificate table unaligned", func(d []byte) []byte { return withCertDir(d[:0x403], 0x401, 2) }, "not aligned at the end of the file"},
		{"WIN_CERTIFICATE longer than the table", func(d []byte) []byte {
			d = withCertDir(append(d[:0x400], make([]byte, 16)...), 0x400, 16)
			le.PutUint32(d[0x400:], 17)
			return d
		}, "outside the certificate table"},
		{"WIN_CERTIFICATE shorter than its header", func(d []byte) []byte {
			d = withCertDir(append(d[:0x400], make([]byte, 16)...), 0x400, 16)
			le.PutUint32(d[0x400:], 4)
			return d
		}, "outside the certificate table"},
		{"truncated WIN_CERTIFICATE", func(d []byte) []byte {
			d = withCertDir(append(d[:0x400], make([]byte, 12)...), 0x400, 12)
			le.PutUint32(d[0x400:], 8)
			return d
		}, "truncated WIN_CERTIFICATE"},
		{"larger than MaxImageSize", func(d []byte) []byte {
			big := make([]byte, MaxImageSize+1) // untouched pages stay unallocated
			copy(big, d)
			return big
		}, "more than the"},
	}
	if _, err := Parse(tinyPE(true)); err != nil {
		t.Fatalf("the unchanged image: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.change(tinyPE(true)))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse: %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

// withCertDir sets d's certificate table entry.
func withCertDir(d []byte, addr, size uint32) []byte {
	binary.LittleEndian.PutUint32(d[tinyCertDir:], addr)
	binary.LittleEndian.PutUint32(d[tinyCertDir+4:], size)
	return d
}

// fakeBlob is a PKCS#7 SignedData shell around the SpcIndirectDataContent
// of image's hash, without a signer: enough for Insert's check, so the
// fuzz target can insert without a key.
func fakeBlob(t testing.TB, image []byte) []byte {
	t.Helper()
	digest, err := Digest(image, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	idc, err := IndirectData(crypto.SHA256, digest)
	if err != nil {
		t.Fatal(err)
	}
	tagged := func(tag int, der []byte) asn1.RawValue {
		return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tag, IsCompound: true, Bytes: der}
	}
	sd := mustMarshal(struct {
		Version    int
		Algorithms asn1.RawValue
		Content    struct {
			Type    asn1.ObjectIdentifier
			Content asn1.RawValue
		}
		SignerInfos asn1.RawValue
	}{1, asn1.RawValue{FullBytes: []byte{0x31, 0}}, struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue
	}{oidSpcIndirectData, tagged(0, idc)}, asn1.RawValue{FullBytes: []byte{0x31, 0}}})
	return mustMarshal(struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue
	}{oidSignedData, tagged(0, sd)})
}

// FuzzParse checks that Parse never panics nor reads outside the image: the
// ranges the hash covers lie inside the file, in order, and with the
// certificate table cover every byte but the 12 of the CheckSum field and
// the certificate table entry. An image Parse accepts takes a signature
// from Insert, and the result parses again with the same image hash and one
// more signature.
func FuzzParse(f *testing.F) {
	f.Add(tinyPE(false))
	f.Add(tinyPE(true))
	signed, err := Insert(tinyPE(true), fakeBlob(f, tinyPE(true)), false)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signed)
	f.Add([]byte("MZ"))
	f.Fuzz(func(t *testing.T, data []byte) {
		im, err := Parse(data)
		if err != nil {
			return
		}
		covered, at := 0, 0
		for _, s := range im.hashed() {
			if s.off < at || s.end < s.off || s.end > len(data) {
				t.Fatalf("hashed range %v out of order or outside the %d-byte file", s, len(data))
			}
			covered += s.end - s.off
			at = s.end
		}
		if covered+12 != im.dataEnd || im.dataEnd > len(data) {
			t.Fatalf("hash covers %d bytes, data ends at %d of %d", covered, im.dataEnd, len(data))
		}
		before, err := im.Hash(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		out, err := im.insert(fakeBlob(t, data), true, false)
		if err != nil {
			if strings.Contains(err.Error(), "size limit") {
				return
			}
			t.Fatalf("insert into an image Parse accepts: %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("parse the signed image: %v", err)
		}
		after, _ := again.Hash(crypto.SHA256)
		if !bytes.Equal(before, after) || len(again.Signatures()) != len(im.Signatures())+1 {
			t.Fatalf("signed image: hash %x (was %x), %d signatures (were %d)", after, before, len(again.Signatures()), len(im.Signatures()))
		}
	})
}

// FuzzInsert checks Insert with an arbitrary blob, as a client gets one
// from a signing host: it never panics, and a blob it takes names the
// image's hash, sits in the signed image as sent, and leaves the image
// hash as it was.
func FuzzInsert(f *testing.F) {
	image := tinyPE(true)
	good := fakeBlob(f, image)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{0x30, 0x00})
	f.Add(append(bytes.Clone(good), 0))
	want, _ := Digest(image, crypto.SHA256)
	f.Fuzz(func(t *testing.T, blob []byte) {
		out, err := Insert(image, blob, false)
		if err != nil {
			return
		}
		if _, got, err := signedImageHash(blob); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("Insert took a blob for image hash %x (%v)", got, err)
		}
		sigs := signaturesOf(t, out)
		if len(sigs) != 1 || !bytes.HasPrefix(sigs[0], blob) || len(bytes.TrimLeft(sigs[0][len(blob):], "\x00")) != 0 {
			t.Fatal("the signed image does not hold the blob as sent")
		}
		if after, _ := Digest(out, crypto.SHA256); !bytes.Equal(after, want) {
			t.Fatalf("image hash %x after Insert, was %x", after, want)
		}
	})
}

func signaturesOf(t *testing.T, image []byte) [][]byte {
	t.Helper()
	im, err := Parse(image)
	if err != nil {
		t.Fatalf("parse the signed image: %v", err)
	}
	return im.Signatures()
}
