// Package kmod signs Linux kernel modules as the kernel's scripts/sign-file
// does (linux 6.1), and reads the signature sign-file appends.
//
// A signed module is the unsigned module followed by the signature block:
// a CMS SignedData over the unsigned module (SHA-256/384/512, no signed
// attributes, no certificates, the signer named by issuer and serial number
// or, as sign-file -k does, by subject key identifier), a 12-byte struct
// module_signature and the magic string "~Module signature appended~\n"
// (include/linux/module_signature.h). The kernel checks it in
// kernel/module_signing.c: mod_verify_sig.
//
// It promises:
//   - for an RSA key, [Sign] writes byte for byte what sign-file writes for
//     the same key, certificate, hash and unsigned module (PKCS #1 v1.5 is
//     deterministic);
//   - signing a signed module replaces its signature: the digest is always
//     over the module with every appended signature stripped, so signing
//     twice gives what signing once gives;
//   - [Parse] reads an appended signature as the kernel does and never
//     returns offsets outside the module; a trailer the kernel would refuse
//     is an error, not a silently kept signature.
package kmod

import (
	"bytes"
	"crypto"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"signstar/pkg/cms"
)

// Magic ends every signed module: MODULE_SIG_STRING in
// include/linux/module_signature.h.
const Magic = "~Module signature appended~\n"

// infoLen is sizeof(struct module_signature): algo, hash, id_type,
// signer_len, key_id_len, __pad[3], then the big-endian uint32 sig_len.
const infoLen = 12

// idPKCS7 is PKEY_ID_PKCS7, the only id_type the kernel accepts since
// linux 4.3 (kernel/module_signature.c: mod_check_sig).
const idPKCS7 = 2

// Signature is the signature appended to a module.
type Signature struct {
	// Start is where the signature block begins: module[:Start] is the
	// module as it was before this signature was appended.
	Start int
	// CMS is the DER SignedData, module[Start:Start+len(CMS)].
	CMS []byte
}

// Options are sign-file's choices.
type Options struct {
	// SubjectKeyID names the signer by the certificate's subject key
	// identifier instead of issuer and serial number (sign-file -k).
	SubjectKeyID bool
}

// Parse returns the signature appended to module, nil for a module without
// the magic string, or an error for a trailer the kernel would refuse.
func Parse(module []byte) (*Signature, error) {
	if !bytes.HasSuffix(module, []byte(Magic)) {
		return nil, nil
	}
	// kernel/module_signature.c: mod_check_sig, on the module without
	// the magic string.
	n := len(module) - len(Magic)
	if n < infoLen {
		return nil, errors.New("read module signature: truncated before struct module_signature")
	}
	info := module[n-infoLen : n]
	sigLen := binary.BigEndian.Uint32(info[8:])
	if uint64(sigLen) >= uint64(n-infoLen) || sigLen == 0 {
		return nil, fmt.Errorf("read module signature: signature length %d does not fit a %d-byte module", sigLen, len(module))
	}
	if info[2] != idPKCS7 {
		return nil, fmt.Errorf("read module signature: id_type %d, not PKCS#7", info[2])
	}
	if !bytes.Equal(info[:2], []byte{0, 0}) || !bytes.Equal(info[3:8], make([]byte, 5)) {
		return nil, errors.New("read module signature: PKCS#7 signature info has non-zero parameters")
	}
	start := n - infoLen - int(sigLen)
	return &Signature{Start: start, CMS: module[start : n-infoLen]}, nil
}

// Strip returns module without its appended signatures. sign-file does not
// strip: run on a signed module it signs the signed module, and the
// signatures stack; Strip takes them all off.
func Strip(module []byte) ([]byte, error) {
	for {
		sig, err := Parse(module)
		if err != nil || sig == nil {
			return module, err
		}
		module = module[:sig.Start]
	}
}

// Digest returns the digest a signature covers: of module with its
// appended signatures stripped. A client sends it for a digest-only
// request; [SignDigest] signs it.
func Digest(h crypto.Hash, module []byte) ([]byte, error) {
	unsigned, err := unsignedModule(module)
	if err != nil {
		return nil, err
	}
	return hash(h, unsigned)
}

func hash(h crypto.Hash, data []byte) ([]byte, error) {
	if !h.Available() {
		return nil, fmt.Errorf("hash module: hash %v is not available", h)
	}
	d := h.New()
	d.Write(data)
	return d.Sum(nil), nil
}

// Sign returns module signed by s: its appended signatures stripped and
// the new signature block appended.
func Sign(s *cms.Signer, module []byte, o Options) ([]byte, error) {
	unsigned, err := unsignedModule(module)
	if err != nil {
		return nil, err
	}
	digest, err := hash(s.Hash, unsigned)
	if err != nil {
		return nil, err
	}
	block, err := SignDigest(s, digest, o)
	if err != nil {
		return nil, err
	}
	return append(bytes.Clone(unsigned), block...), nil
}

// SignDigest returns the signature block to append to the unsigned module
// whose [Digest] is digest.
func SignDigest(s *cms.Signer, digest []byte, o Options) ([]byte, error) {
	// sign-file: CMS_NOCERTS | CMS_BINARY | CMS_NOSMIMECAP | CMS_NOATTR,
	// plus CMS_USE_KEYID with -k. The kernel's
	// pkcs7_verify needs no certificate in the message: it looks the
	// signer up in its keyrings by the signer identifier.
	der, err := s.Sign(digest, cms.Options{NoAttributes: true, NoCerts: true, SubjectKeyID: o.SubjectKeyID})
	if err != nil {
		return nil, fmt.Errorf("sign module: %w", err)
	}
	return Block(der), nil
}

// Block frames a DER SignedData as sign-file appends it: the SignedData,
// struct module_signature {id_type PKEY_ID_PKCS7, sig_len} and [Magic].
func Block(der []byte) []byte {
	info := make([]byte, infoLen)
	info[2] = idPKCS7
	binary.BigEndian.PutUint32(info[8:], uint32(len(der)))
	out := append(bytes.Clone(der), info...)
	return append(out, Magic...)
}

// unsignedModule strips module and checks that what is left is an ELF
// file: the kernel checks the signature of the uncompressed module, so a
// signed .ko.xz or .ko.zst would be refused at load time.
func unsignedModule(module []byte) ([]byte, error) {
	unsigned, err := Strip(module)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(unsigned, []byte("\x7fELF")) {
		return nil, errors.New("sign module: not an ELF file (sign modules before compressing them)")
	}
	return unsigned, nil
}

// TailMax bounds the appended signatures [DigestFrom] can cut off a
// streamed module: a sign-file block is a few KiB, so a module whose
// signatures take more than this is refused rather than held in memory.
const TailMax = 1 << 20

// DigestFrom is [Digest] of the module r streams, holding only its last
// [TailMax] bytes: everything before them is hashed as it comes, and the
// appended signatures are cut off what is held at the end. A signing host
// that only returns the block (sign --format kmod) needs no more.
func DigestFrom(h crypto.Hash, r io.Reader) ([]byte, error) {
	if !h.Available() {
		return nil, fmt.Errorf("hash module: hash %v is not available", h)
	}
	d := h.New()
	var head []byte // the module's first bytes, once some are hashed
	tail := make([]byte, 0, 2*TailMax)
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		tail = append(tail, buf[:n]...)
		if over := len(tail) - TailMax; len(tail) > TailMax+len(buf) {
			if head == nil {
				head = bytes.Clone(tail[:4])
			}
			d.Write(tail[:over])
			tail = append(tail[:0], tail[over:]...)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	unsigned, err := Strip(tail)
	if err != nil {
		return nil, fmt.Errorf("%w (or signatures over %d KiB)", err, TailMax>>10)
	}
	if head == nil {
		head = unsigned
	}
	if !bytes.HasPrefix(head, []byte("\x7fELF")) {
		return nil, errors.New("sign module: not an ELF file (sign modules before compressing them)")
	}
	d.Write(unsigned)
	return d.Sum(nil), nil
}
