//go:build linux && cgo

package main

// X.509 signatures (sign --format kmod|authenticode|cms): the same job,
// lockdown, allow lists and audit record as an OpenPGP signature, with
// the key's X.509 certificate (key x509 self-sign or import) naming the
// signer. Each format reads all of its input before the token signs:
// a module's old signature is cut off its end and a PE image is hashed
// in pieces, so both are held in memory, up to x509Max.

import (
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/pem"
	"errors"
	"hash"
	"io"
	"strconv"
	"time"

	"signstar/pkg/audit"
	"signstar/pkg/authenticode"
	"signstar/pkg/cms"
	"signstar/pkg/keyring"
	"signstar/pkg/kmod"
	"signstar/pkg/pgp"
	"signstar/pkg/refusal"
	"signstar/pkg/remote"
	"signstar/pkg/request"
)

// x509Max bounds a module or an image: Debian's largest module is under
// 20 MiB, a unified kernel image with its initrd a few hundred MiB at most.
const x509Max = authenticode.MaxImageSize

// x509Hash is the hash of every X.509 signature: what the kernel signs
// its own modules with and what UEFI firmware verifies (SHA-512 module
// signatures work, but firmware support for SHA-384/512 Authenticode
// varies).
const x509Hash = crypto.SHA256

// signX509 signs stdin in cmd's X.509 format with the named key.
func (j *job) signX509(name string, cmd remote.Command) ([]byte, error) {
	kr, k, c, err := j.openX509(name)
	if err != nil {
		return nil, err
	}
	defer kr.Close()
	created := time.Now().UTC().Truncate(time.Second)
	x := &x509Job{cmd: cmd, created: created}
	out, err := k.SignWith(j.stdin(), func(r io.Reader, key crypto.Signer) ([]byte, error) {
		return x.sign(r, &cms.Signer{Key: key, Cert: c.Cert, Chain: c.Chain, Hash: x509Hash})
	}, signOptions(pgp.Options{}))
	if err := x509Error(err, k.Name); err != nil {
		return nil, err
	}
	j.rec.Format = audit.Format(cmd.Format)
	j.rec.InputSize, j.rec.InputSHA256, j.rec.InputSHA512 = x.in.size, x.in.h256.Sum(nil), x.in.h512.Sum(nil)
	j.rec.SignedDigest, j.rec.SignatureCreated = x.signed, created
	return out, nil
}

// signX509Request answers an X.509 digest-only request (version 1.1 of
// the request format, package request) on stdin: the client sent the
// digest the signature covers (a module's, an image's Authenticode hash,
// a file's SHA-256) and gets the signature block, the PKCS#7 blob to
// insert, or the detached CMS signature back. The record carries the
// signed digest; signstar never sees the input itself.
func (j *job) signX509Request(name string, cmd remote.Command) ([]byte, error) {
	format := cmd.Format
	kr, k, c, err := j.openX509(name)
	if err != nil {
		return nil, err
	}
	defer kr.Close()
	created := time.Now().UTC().Truncate(time.Second)
	var digest []byte
	out, err := k.SignWith(j.stdin(), func(r io.Reader, key crypto.Signer) ([]byte, error) {
		req, err := request.ReadDigest(r, string(format))
		if err != nil {
			return nil, requestError(err)
		}
		digest = req.Digest
		s := &cms.Signer{Key: key, Cert: c.Cert, Chain: c.Chain, Hash: x509Hash}
		switch format {
		case remote.Kmod:
			return kmod.SignDigest(s, digest, kmod.Options{SubjectKeyID: cmd.KeyID})
		case remote.Authenticode:
			return authenticode.SignDigest(digest, s, authenticode.Options{SigningTime: created})
		}
		return s.Sign(digest, cms.Options{SigningTime: created})
	}, signOptions(pgp.Options{}))
	if err := x509Error(err, k.Name); err != nil {
		return nil, err
	}
	j.rec.Format, j.rec.SignedDigest, j.rec.SignatureCreated = audit.Format(format), digest, created
	return request.OutputResponse(string(format), out)
}

// x509Job is one X.509 signature and what the record says of it.
type x509Job struct {
	cmd     remote.Command // the format and its flags
	created time.Time

	in     inputHashes // what was read of the input
	signed []byte      // the digest a module or image signature covers
}

// inputHashes counts and hashes the input for the record as it is read.
type inputHashes struct {
	size       int64
	h256, h512 hash.Hash
}

func (ih *inputHashes) Write(p []byte) (int, error) {
	if ih.h256 == nil {
		ih.h256, ih.h512 = sha256.New(), sha512.New()
	}
	ih.size += int64(len(p))
	ih.h256.Write(p)
	ih.h512.Write(p)
	return len(p), nil
}

// sign reads r, at most x509Max bytes, through the record's hashes. A
// module and a CMS signature stream; an image is held in memory, since
// its hash skips fields all over it.
func (x *x509Job) sign(r io.Reader, s *cms.Signer) ([]byte, error) {
	in := io.TeeReader(io.LimitReader(r, x509Max+1), &x.in)
	var out []byte
	var err error
	switch x.cmd.Format {
	case remote.CMS:
		out, err = x.signCMS(in, s)
	case remote.Kmod:
		out, err = x.signModule(in, s)
	default:
		var image []byte
		if image, err = io.ReadAll(in); err == nil && x.in.size > 0 && x.in.size <= x509Max {
			out, err = x.signImage(image, s)
		}
	}
	switch {
	case x.in.size > x509Max:
		return nil, refusal.Errorf("input over %d MiB is too large for --format %s", x509Max>>20, x.cmd.Format)
	case x.in.size == 0 && (err == nil || !errors.Is(err, refusal.Err)):
		return nil, pgp.ErrEmptyInput
	}
	return out, err
}

// signModule returns the signature block to append to the module
// (scripts/sign-file's), over the module without an old signature; only
// the module's end is held in memory (kmod.DigestFrom). What is wrong
// with the module is the client's to hear; a read error stays what it is.
func (x *x509Job) signModule(module io.Reader, s *cms.Signer) ([]byte, error) {
	rd := &readErr{r: module}
	digest, err := kmod.DigestFrom(s.Hash, rd)
	switch {
	case rd.err != nil:
		return nil, rd.err
	case x.in.size == 0 || x.in.size > x509Max:
		return nil, nil
	case err != nil:
		return nil, refusal.Errorf("%v", err)
	}
	x.signed = digest
	return kmod.SignDigest(s, digest, kmod.Options{SubjectKeyID: x.cmd.KeyID})
}

// readErr notes the error its reader returned, other than io.EOF.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// signImage returns the PE image with its Authenticode signature.
func (x *x509Job) signImage(image []byte, s *cms.Signer) ([]byte, error) {
	im, err := authenticode.Parse(image)
	if err != nil {
		return nil, refusal.Errorf("%v", err)
	}
	if im.Signed() && !x.cmd.Append {
		return nil, refusal.Errorf("%v: add a signature with --append", authenticode.ErrSigned)
	}
	if x.signed, err = im.Hash(s.Hash); err != nil {
		return nil, refusal.Errorf("%v", err)
	}
	return authenticode.Sign(image, s, authenticode.Options{SigningTime: x.created, Append: x.cmd.Append, InPlace: true})
}

// signCMS streams r through the hashes and returns a detached CMS
// signature with signed attributes, DER or PEM.
func (x *x509Job) signCMS(r io.Reader, s *cms.Signer) ([]byte, error) {
	if _, err := io.Copy(io.Discard, r); err != nil || x.in.size == 0 || x.in.size > x509Max {
		return nil, err
	}
	der, err := s.Sign(x.in.h256.Sum(nil), cms.Options{SigningTime: x.created})
	if err != nil || !x.cmd.Armor {
		return der, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CMS", Bytes: der}), nil
}

// x509Error is what signX509 reports for err: signError's reading,
// with the formats' own refusals (a bad module or image) as they are.
func x509Error(err error, key string) error {
	if _, limit := inputLimit(err); !limit && errors.Is(err, refusal.Err) {
		return err
	}
	return signError(err, strconv.Quote(key))
}

// certX509 is the key's X.509 certificate and chain in PEM, once the
// token has shown that it holds the key, as cert does for OpenPGP.
func (j *job) certX509(name string) ([]byte, error) {
	kr, _, c, err := j.openX509(name)
	if err != nil {
		return nil, err
	}
	defer kr.Close()
	return c.PEM(), nil
}

// openX509 is openLocked for an X.509 signature: the key's X.509
// certificate is read before the lockdown, which leaves no way to the
// config's files, and checked against the token key after it. A key
// without one is refused, since the client named it.
func (j *job) openX509(name string) (*keyring.Keyring, *keyring.Key, *keyring.X509, error) {
	_, kc, err := j.cfg.Key(name)
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := keyring.ReadX509(j.cfg, kc)
	if errors.Is(err, keyring.ErrNoX509) {
		return nil, nil, nil, refusal.Errorf("key %q has no X.509 certificate (the admin makes one with 'signstar key x509 self-sign' or 'import')", name)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	kr, ks, err := j.openLocked(name)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := c.Check(ks[0]); err != nil {
		kr.Close()
		return nil, nil, nil, err
	}
	return kr, ks[0], c, nil
}
