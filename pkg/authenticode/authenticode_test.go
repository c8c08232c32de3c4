package authenticode

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"signstar/pkg/cms"
	"strings"
	"testing"
	"time"
)

// sbsign signs image with ts's PEM key and certificate and returns the result.
func sbsign(t *testing.T, ts testSigner, image []byte) []byte {
	t.Helper()
	dir := t.TempDir()
	in := writeFile(t, dir, "in.efi", image)
	out := filepath.Join(dir, "out.efi")
	if msg, ok := run(t, "sbsign", "--key", ts.keyPEM, "--cert", ts.certPEM, "--output", out, in); !ok {
		t.Fatalf("sbsign: %s", msg)
	}
	return readFile(t, out)
}

// verify runs sbverify --cert and osslsigncode verify -CAfile (the
// self-signed certificate is its own root) on a signed image and returns
// whether each accepted it, and osslsigncode's output.
func verify(t *testing.T, ts testSigner, signed []byte) (sbOK, osslOK bool, sb, ossl string) {
	t.Helper()
	path := writeFile(t, t.TempDir(), "signed.efi", signed)
	sb, sbOK = run(t, "sbverify", "--cert", ts.certPEM, path)
	ossl, osslOK = run(t, "osslsigncode", "verify", "-CAfile", ts.certPEM, "-in", path)
	return sbOK, osslOK, sb, ossl
}

var calculated = regexp.MustCompile(`Calculated message digest : ([0-9A-F]+)`)

// TestSignVerifies signs each test image with SHA-256, SHA-384 and SHA-512;
// sbverify and osslsigncode accept the result, osslsigncode's calculated
// image hash is Digest's, and the PE checksum is right; one byte changed
// inside the first section makes both verifiers refuse it.
func TestSignVerifies(t *testing.T) {
	for name, image := range testImages(t) {
		for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
			t.Run(fmt.Sprintf("%s %v", name, h), func(t *testing.T) {
				ts := newTestSigner(t, h)
				signed, err := Sign(image, ts.signer, Options{})
				if err != nil {
					t.Fatal(err)
				}
				digest, err := Digest(image, h)
				if err != nil {
					t.Fatal(err)
				}
				sbOK, osslOK, sb, ossl := verify(t, ts, signed)
				if !osslOK {
					t.Errorf("osslsigncode verify refused the signed image:\n%s", ossl)
				}
				// sbverify 0.9.4 takes SHA-256 image hashes only: "Invalid
				// algorithm type" for SHA-384, "Invalid ASN.1 data in
				// IndirectDataContext?" for SHA-512's longer digest.
				if wantSb := h == crypto.SHA256; sbOK != wantSb || (!wantSb && !strings.Contains(sb, "Signature verification failed")) {
					t.Errorf("sbverify accepted = %v, want %v:\n%s", sbOK, wantSb, sb)
				}
				if m := calculated.FindStringSubmatch(ossl); m == nil || m[1] != strings.ToUpper(hex.EncodeToString(digest)) {
					t.Errorf("osslsigncode's calculated message digest %q, Digest %X", m, digest)
				}
				im, _ := Parse(signed)
				if want := fmt.Sprintf("PE checksum   : %08X", checksum(signed, im.checksumOff)); !strings.Contains(ossl, want) || strings.Contains(ossl, "invalid PE checksum") {
					t.Errorf("osslsigncode does not show %q as valid:\n%s", want, ossl)
				}

				tampered := bytes.Clone(signed)
				tampered[im.headersEnd+1] ^= 1
				sbOK, osslOK, sb, ossl = verify(t, ts, tampered)
				if sbOK || osslOK || !strings.Contains(ossl, "MISMATCH") {
					t.Errorf("one byte changed in a section: sbverify accepted %v, osslsigncode accepted %v\n%s\n%s", sbOK, osslOK, sb, ossl)
				}
			})
		}
	}
}

// TestSameAsSbsign signs each test image with sbsign and with Sign, the
// same key and signing time and sbsign's signed attributes: the image
// hash, SpcIndirectDataContent, signed attributes and signature bytes are
// sbsign's. The whole PKCS#7 differs only in the SignedData's
// digestAlgorithms and the SignerInfo's digestAlgorithm, where OpenSSL's
// PKCS7 API, which sbsign uses, writes NULL parameters for SHA-256 and
// pkg/cms, as openssl cms does, writes none (RFC 5754 section 2); the test
// checks the first. Insert puts sbsign's own blob into the image as sbsign
// does, and both verifiers accept that.
func TestSameAsSbsign(t *testing.T) {
	for name, image := range testImages(t) {
		t.Run(name, func(t *testing.T) {
			ts := newTestSigner(t, crypto.SHA256)
			ref := sbsign(t, ts, image)
			refBlobs := signatures(t, ref)
			if len(refBlobs) != 1 {
				t.Fatalf("sbsign wrote %d signatures", len(refBlobs))
			}
			want := parsePKCS7(t, refBlobs[0])

			digest, err := Digest(image, crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			if _, refDigest, err := signedImageHash(refBlobs[0]); err != nil || !bytes.Equal(refDigest, digest) {
				t.Fatalf("sbsign's image hash %x (%v), Digest %x", refDigest, err, digest)
			}
			signed, err := Sign(image, ts.signer, Options{SbsignAttributes: true, SigningTime: signingTime(t, want.Attrs.FullBytes)})
			if err != nil {
				t.Fatal(err)
			}
			got := parsePKCS7(t, signatures(t, signed)[0])
			for _, c := range []struct {
				part      string
				got, want []byte
			}{
				{"SpcIndirectDataContent", got.Content.FullBytes, want.Content.FullBytes},
				{"signed attributes", got.Attrs.FullBytes, want.Attrs.FullBytes},
				{"signature", got.Signature, want.Signature},
			} {
				if !bytes.Equal(c.got, c.want) {
					t.Errorf("%s differs from sbsign's:\n got %x\nwant %x", c.part, c.got, c.want)
				}
			}
			if bytes.Equal(got.DigestAlgs.FullBytes, want.DigestAlgs.FullBytes) {
				t.Errorf("digestAlgorithms equal sbsign's %x; the doc comment says they differ", got.DigestAlgs.FullBytes)
			}

			// Insert puts sbsign's own blob where sbsign put it: the images
			// differ only in dwLength (sbsign leaves the padding out, Insert
			// counts it, as osslsigncode does) and so in the CheckSum, and
			// both verifiers accept Insert's.
			inserted, err := Insert(image, refBlobs[0], false)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(headerless(t, inserted), headerless(t, ref)) || !bytes.Equal(signatures(t, inserted)[0], refBlobs[0]) {
				t.Error("Insert of sbsign's signature wrote another image than sbsign")
			}
			if sbOK, osslOK, sb, ossl := verify(t, ts, inserted); !sbOK || !osslOK {
				t.Errorf("sbsign's signature inserted by Insert: sbverify accepted %v, osslsigncode %v\n%s\n%s", sbOK, osslOK, sb, ossl)
			}
		})
	}
}

// headerless returns image up to its certificate table, with the CheckSum
// and the certificate table entry (which depend on the table) zeroed.
func headerless(t *testing.T, image []byte) []byte {
	t.Helper()
	im, err := Parse(image)
	if err != nil {
		t.Fatal(err)
	}
	d := bytes.Clone(image[:im.dataEnd])
	copy(d[im.checksumOff:], make([]byte, 4))
	copy(d[im.certEntryOff:], make([]byte, 8))
	return d
}

// signingTime finds the signingTime attribute (a UTCTime) in DER signed
// attributes.
func signingTime(t *testing.T, attrs []byte) time.Time {
	t.Helper()
	oid := []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05, 0x31, 0x0f, 0x17, 0x0d}
	i := bytes.Index(attrs, oid)
	if i < 0 {
		t.Fatalf("no signingTime UTCTime in %x", attrs)
	}
	ts, err := time.Parse("060102150405Z", string(attrs[i+len(oid):i+len(oid)+13]))
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// TestDigestSplit checks that the digest-only path (Digest on the client,
// SignDigest on the signing host, Insert on the client) writes the same
// image as Sign, and that Insert refuses a signature made for another
// image.
func TestDigestSplit(t *testing.T) {
	ts := newTestSigner(t, crypto.SHA256)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for name, image := range testImages(t) {
		t.Run(name, func(t *testing.T) {
			whole, err := Sign(image, ts.signer, Options{SigningTime: at})
			if err != nil {
				t.Fatal(err)
			}
			digest, err := Digest(image, crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			blob, err := SignDigest(digest, ts.signer, Options{SigningTime: at})
			if err != nil {
				t.Fatal(err)
			}
			split, err := Insert(image, blob, false)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(split, whole) {
				t.Error("Digest, SignDigest and Insert wrote another image than Sign")
			}
			other := bytes.Clone(image)
			other[len(other)-1] ^= 1
			if _, err := Insert(other, blob, false); err == nil || !strings.Contains(err.Error(), "image hash") {
				t.Errorf("Insert of another image's signature: %v, want an image hash mismatch", err)
			}
		})
	}
}

// TestAppend checks what happens to an image that is already signed: Sign
// and Insert refuse it with ErrSigned; with Append a second WIN_CERTIFICATE
// follows the first, sbverify accepts the image with either certificate and
// lists both signatures, and osslsigncode 2.9 refuses the two-entry table
// (as it refuses sbsign's).
func TestAppend(t *testing.T) {
	first, second := newTestSigner(t, crypto.SHA256), newTestSigner(t, crypto.SHA256)
	for name, image := range testImages(t) {
		t.Run(name, func(t *testing.T) {
			once, err := Sign(image, first.signer, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Sign(once, second.signer, Options{}); !errors.Is(err, ErrSigned) {
				t.Fatalf("Sign of a signed image: %v, want ErrSigned", err)
			}
			if _, err := Insert(once, signatures(t, once)[0], false); !errors.Is(err, ErrSigned) {
				t.Fatalf("Insert into a signed image: %v, want ErrSigned", err)
			}
			twice, err := Sign(once, second.signer, Options{Append: true})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(signatures(t, twice)); n != 2 {
				t.Fatalf("%d signatures after appending, want 2", n)
			}
			for _, ts := range []testSigner{first, second} {
				if sbOK, _, _, _ := verify(t, ts, twice); !sbOK {
					t.Errorf("sbverify --cert %s refused the image with two signatures", ts.certPEM)
				}
			}
			path := writeFile(t, t.TempDir(), "twice.efi", twice)
			if list, ok := run(t, "sbverify", "--list", path); !ok || !strings.Contains(list, "signature 2") {
				t.Errorf("sbverify --list does not show two signatures:\n%s", list)
			}
			if _, osslOK, _, ossl := verify(t, second, twice); osslOK || !strings.Contains(ossl, "Corrupted attribute certificate table") {
				t.Errorf("osslsigncode 2.9 on two WIN_CERTIFICATEs: accepted %v, want its refusal:\n%s", osslOK, ossl)
			}
			// sbsign appends the same way: check against the same verifier.
			if sbOK, _, _, _ := verify(t, first, sbsign(t, second, once)); !sbOK {
				t.Error("sbverify refused sbsign's signature appended to ours")
			}
		})
	}
}

// TestExpect: a blob SignDigest makes verifies against Expect for its own
// image hash with cms.Verify, as a digest-only client checks it, and not
// for another hash or with its signature changed.
func TestExpect(t *testing.T) {
	ts := newTestSigner(t, crypto.SHA256)
	digest := sha256.Sum256([]byte("image"))
	other := sha256.Sum256([]byte("other image"))
	blob, err := SignDigest(digest[:], ts.signer, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := Expect(digest[:])
	if err != nil {
		t.Fatal(err)
	}
	if err := cms.Verify(blob, ts.signer.Cert, want); err != nil {
		t.Fatalf("cms.Verify: %v", err)
	}
	wrong, err := Expect(other[:])
	if err != nil {
		t.Fatal(err)
	}
	if cms.Verify(blob, ts.signer.Cert, wrong) == nil {
		t.Error("the blob verified for another image hash")
	}
	changed := bytes.Clone(blob)
	changed[len(changed)-1] ^= 1
	if cms.Verify(changed, ts.signer.Cert, want) == nil {
		t.Error("the blob verified with its signature changed")
	}
}

// TestSignInPlace: with InPlace, an image with room in its storage is
// signed there, and the result is the same image Sign makes as a copy,
// whatever the spare capacity held.
func TestSignInPlace(t *testing.T) {
	ts := newTestSigner(t, crypto.SHA256)
	image := testImages(t)["systemd-boot"]
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	want, err := Sign(image, ts.signer, Options{SigningTime: at})
	if err != nil {
		t.Fatal(err)
	}
	roomy := append(make([]byte, 0, len(image)+64<<10), image...)
	garbage := roomy[len(roomy):cap(roomy)]
	for i := range garbage {
		garbage[i] = 0xff
	}
	got, err := Sign(roomy, ts.signer, Options{SigningTime: at, InPlace: true})
	if err != nil {
		t.Fatal(err)
	}
	if &got[0] != &roomy[0] {
		t.Error("InPlace copied an image that had room")
	}
	if !bytes.Equal(got, want) {
		t.Error("the image signed in place differs from the copy Sign makes")
	}
}
